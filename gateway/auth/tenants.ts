/**
 * Step 3 — which tenant, which cloud, which issuer? The registry of tenants that may present tokens: the
 * cloud management services of the configuration (Log Analytics and Store for Business registrations do not
 * authenticate clients). Each entry precomputes everything the hot path needs from its environment's
 * templates: v1/v2 issuers, JWKS URLs, accepted audiences and client apps, the challenge data.
 */
import type { EnvironmentName } from "../config/schema.js";
import { type Environment, type GatewayConfig, substituteTemplate } from "../config/types.js";
import type { JsonObject } from "./decode.js";
import type { KeySetSpec } from "./keys/jwks-store.js";
import { type Rejection, reject, type TenantChallenge } from "./rejection.js";

/** A registered tenant, ready for the hot path. */
export interface TenantEntry {
  /** Lower-case GUID. */
  readonly tenantId: string;
  readonly tenantName: string;
  readonly serviceName: string;
  readonly environment: EnvironmentName;
  readonly disabled: boolean;
  /**
   * `/AdminService/` is segmented away from this tenant's cloud management tokens: the tenant has an
   * Administration Service Management service (or the deprecated cloud management flag).
   */
  readonly adminServiceManagement: boolean;
  /** The tenant's Administration Service Management apps, when it has that service. */
  readonly adminService: AdminServiceApps | undefined;
  readonly appIdUri: string;
  readonly serverAppId: string;
  readonly clientAppId: string | undefined;
  /** `https://sts.windows.net/{tid}/` in the public cloud: the first of {@link issuersV1}. */
  readonly issuerV1: string;
  /** `https://login.microsoftonline.com/{tid}/v2.0` in the public cloud: the first of {@link issuersV2}. */
  readonly issuerV2: string;
  /** Every accepted v1 issuer for this tenant (the cloud's list, `{tenantid}` filled with this tenant). */
  readonly issuersV1: readonly string[];
  /** Every accepted v2 issuer. */
  readonly issuersV2: readonly string[];
  readonly keySetV1: KeySetSpec;
  readonly keySetV2: KeySetSpec;
  /** Accepted `aud` values with any trailing `/` removed. */
  readonly audiences: ReadonlySet<string>;
  /** Accepted `appid` / `azp` values. */
  readonly clientApps: ReadonlySet<string>;
  readonly challenge: TenantChallenge;
  /**
   * Everything a verified verdict depends on (issuers, audiences, client apps, key sets). A cached verdict
   * made under a different fingerprint is re-verified; flags (disabled, admin scope) are not part of it
   * because they are re-checked on every request anyway.
   */
  readonly fingerprint: string;
}

/** An Administration Service Management service's apps: its tokens reach only `/AdminService/`. */
export interface AdminServiceApps {
  readonly serviceName: string;
  readonly appIdUri: string;
  /** Accepted `aud` values with any trailing `/` removed. */
  readonly audiences: ReadonlySet<string>;
  /** Its native app. */
  readonly clientApps: ReadonlySet<string>;
}

/** The registered tenants by ID, plus the key sets they need. */
export interface TenantRegistry {
  /** Look-up by the token's `tid` (exact, lower-case GUID). */
  get(tenantId: string): TenantEntry | undefined;
  readonly tenants: readonly TenantEntry[];
  readonly keySets: readonly KeySetSpec[];
}

/** A GUID as Entra writes `tid` (docs/architecture.md § Tokens: lower case). */
const TID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function stripTrailingSlash(value: string): string {
  return value.length > 1 && value.endsWith("/") ? value.slice(0, -1) : value;
}

function keySet(env: Environment, tenantId: string, version: 1 | 2): KeySetSpec {
  return Object.freeze({
    id: `${env.name}/${tenantId}/v${version}`,
    environment: env.name,
    tenantId,
    version,
    url: substituteTemplate(version === 1 ? env.jwksV1 : env.jwksV2, env.authorityHost, tenantId),
  });
}

/**
 * Builds the registry from a validated configuration.
 *
 * @param config the current configuration
 */
export function createTenantRegistry(config: GatewayConfig): TenantRegistry {
  const byId = new Map<string, TenantEntry>();
  const adminServices = new Map<string, AdminServiceApps>();
  for (const service of config.azureServices) {
    if (service.type !== "adminServiceManagement") continue;
    adminServices.set(
      service.tenant.id,
      Object.freeze({
        serviceName: service.name,
        appIdUri: service.webApp.appIdUri,
        audiences: new Set([stripTrailingSlash(service.webApp.appIdUri), service.webApp.clientId]),
        clientApps: new Set(service.nativeApp === undefined ? [] : [service.nativeApp.clientId]),
      }),
    );
  }
  for (const service of config.azureServices) {
    if (service.type !== "cloudManagement") continue;
    const env = config.environments[service.environment];
    const tenantId = service.tenant.id;
    const issuersV1 = Object.freeze(env.issuersV1.map((t) => substituteTemplate(t, env.authorityHost, tenantId)));
    const issuersV2 = Object.freeze(env.issuersV2.map((t) => substituteTemplate(t, env.authorityHost, tenantId)));
    const issuerV1 = issuersV1[0]!;
    const issuerV2 = issuersV2[0]!;
    const keySetV1 = keySet(env, tenantId, 1);
    const keySetV2 = keySet(env, tenantId, 2);
    // docs/architecture.md § Tokens: v1 `aud` is the App ID URI as requested (maybe with a trailing /) or the client-ID GUID;
    // v2 `aud` is always the client ID.
    const audiences = new Set([stripTrailingSlash(service.webApp.appIdUri), service.webApp.clientId]);
    const clientApps = new Set(service.nativeApp === undefined ? [] : [service.nativeApp.clientId]);
    const adminService = adminServices.get(tenantId);
    const entry: TenantEntry = Object.freeze({
      tenantId,
      tenantName: service.tenant.name,
      serviceName: service.name,
      environment: service.environment,
      disabled: service.disableAuthentication,
      adminServiceManagement: service.adminServiceManagement || adminService !== undefined,
      adminService,
      appIdUri: service.webApp.appIdUri,
      serverAppId: service.webApp.clientId,
      clientAppId: service.nativeApp?.clientId,
      issuerV1,
      issuerV2,
      issuersV1,
      issuersV2,
      keySetV1,
      keySetV2,
      audiences,
      clientApps,
      challenge: Object.freeze({
        tenantId,
        authorizationUri: `https://${env.authorityHost}/${tenantId}`,
        resourceId: service.webApp.appIdUri,
      }),
      fingerprint: JSON.stringify([
        issuersV1,
        issuersV2,
        keySetV1.url,
        keySetV2.url,
        [...audiences],
        [...clientApps],
        adminService === undefined ? null : [[...adminService.audiences], [...adminService.clientApps]],
      ]),
    });
    byId.set(tenantId, entry);
  }
  const tenants = Object.freeze([...byId.values()]);
  return Object.freeze({
    get: (tenantId: string) => byId.get(tenantId),
    tenants,
    keySets: Object.freeze(tenants.flatMap((t) => [t.keySetV1, t.keySetV2])),
  });
}

/**
 * The first path segment of an `https://host/segment/…` URL, without allocating a URL object.
 *
 * @param iss the token's `iss`
 * @returns the segment, or undefined when `iss` is not of that form
 */
export function firstIssuerPathSegment(iss: string): string | undefined {
  if (!iss.startsWith("https://")) return undefined;
  const slash = iss.indexOf("/", 8);
  if (slash === -1) return undefined;
  const next = iss.indexOf("/", slash + 1);
  return iss.slice(slash + 1, next === -1 ? iss.length : next);
}

/**
 * Resolves the token's tenant (docs/architecture.md § Hot path, step 3). An unregistered tenant is refused here, before any key
 * look-up, so a token can never make the gateway fetch anything for a tenant it does not serve.
 *
 * @param registry current tenants
 * @param payload untrusted claims
 * @returns the tenant, or `claim_invalid` (tid not a GUID), `tenant_unknown`, `issuer_invalid` (iss does not
 *   name the tid as its first path segment, as Microsoft's validator requires)
 */
export function resolveTenant(registry: TenantRegistry, payload: JsonObject): TenantEntry | Rejection {
  const tid = payload.tid;
  if (typeof tid !== "string" || !TID_PATTERN.test(tid)) return reject("claim_invalid");
  const tenant = registry.get(tid);
  if (tenant === undefined) return reject("tenant_unknown");
  const iss = payload.iss;
  if (typeof iss !== "string" || firstIssuerPathSegment(iss) !== tid) return reject("issuer_invalid", tenant.challenge);
  return tenant;
}

/**
 * Is a step's result a tenant (rather than a rejection)?
 *
 * @param value from {@link resolveTenant}
 */
export function isTenant(value: TenantEntry | Rejection): value is TenantEntry {
  return "tenantId" in value;
}
