/**
 * Step 7 — claims, read only after the signature holds (except for the untrusted pre-checks that pick a key
 * and reject early). Rules follow Microsoft's validator order (docs/architecture.md § Signing keys): issuer → signing-key issuer
 * → audience → lifetime, then the Configuration Manager specifics (client app, token kind).
 */
import type { GatewayConfig } from "../config/types.js";
import type { JsonObject } from "./decode.js";
import type { VerificationKey } from "./keys/jwk.js";
import { type Rejection, reject } from "./rejection.js";
import type { TenantEntry } from "./tenants.js";

/** Token kinds (docs/architecture.md § Token classification). */
export type TokenKind = "user" | "device" | "userDevice" | "app" | "unknown";

/**
 * Kinds a principal can have: unrecognised tokens never authenticate a request, app-only tokens only on a
 * route that allows them (`allowAppOnly`).
 */
export type PrincipalKind = "user" | "device" | "userDevice" | "app";

/**
 * Which of the tenant's services a token was minted for (its audience): the cloud management web app, or the
 * Administration Service Management web app (whose tokens reach only `/AdminService/`).
 */
export type TokenService = "cloudManagement" | "adminServiceManagement";

/** Token format version, from its issuer. */
export type TokenVersion = 1 | 2;

/** Who a verified token identifies. Identity is `tenantId` + `objectId` (never `upn`, per Microsoft). */
export interface Principal {
  readonly kind: PrincipalKind;
  readonly tenantId: string;
  /** `oid`: the user or device object. */
  readonly objectId: string;
  /** `deviceid`, for device and user+device tokens. */
  readonly deviceId: string | undefined;
  /** `appid` (v1) / `azp` (v2), when present. */
  readonly clientAppId: string | undefined;
  /** `upn`, else `unique_name`, else `preferred_username` (display only). */
  readonly userName: string | undefined;
  readonly subject: string | undefined;
  readonly version: TokenVersion;
  /** `exp` in seconds since the epoch. */
  readonly expiresAtSec: number;
  /** The service whose web app the token's audience names. */
  readonly service: TokenService;
  /** `scp`, split on spaces (empty for device and app-only tokens). */
  readonly scopes: readonly string[];
}

/** Settings the claim checks read. */
export interface ClaimSettings {
  readonly clockSkewSec: number;
  readonly deviceTokenRequireClientApp: boolean;
  /** Longest accepted `exp − iat`. */
  readonly maxTokenLifetimeSec: number;
  /**
   * Client apps some route accepts besides the tenant's own (`routes[].clientApps`). Accepted here; whether
   * the route of each request accepts them is `checkGrant`'s question, asked on every request.
   */
  readonly extraClientApps: ReadonlySet<string>;
}

/**
 * The claim settings of a configuration.
 *
 * @param config the configuration in force
 */
export function claimSettingsOf(config: GatewayConfig): ClaimSettings {
  return {
    clockSkewSec: config.auth.clockSkewSec,
    deviceTokenRequireClientApp: config.auth.deviceTokenRequireClientApp,
    maxTokenLifetimeSec: config.auth.maxTokenLifetimeSec,
    extraClientApps: new Set(config.routes.flatMap((r) => r.clientApps)),
  };
}

function has(payload: JsonObject, name: string): boolean {
  return payload[name] !== undefined;
}

/**
 * Classifies a token (docs/architecture.md § Token classification, our model): device = `idtyp` "device", or `deviceid` equal to `sub` with no
 * user claims; user+device = user claims and `deviceid`; user = user claims without `deviceid`;
 * app = `idtyp` "app", or `roles` without `scp`. User claims are `scp`, `upn`, `unique_name`,
 * `preferred_username` or `idtyp` "user". Reading untrusted claims here only ever narrows access.
 *
 * @param payload the claims set
 */
export function classifyToken(payload: JsonObject): TokenKind {
  const idtyp = payload.idtyp;
  if (idtyp === "device") return "device";
  if (idtyp === "app") return "app";
  const deviceId = payload.deviceid;
  const hasDevice = typeof deviceId === "string" && deviceId.length > 0;
  const userClaims =
    idtyp === "user" ||
    has(payload, "scp") ||
    has(payload, "upn") ||
    has(payload, "unique_name") ||
    has(payload, "preferred_username");
  if (userClaims) return hasDevice ? "userDevice" : "user";
  if (hasDevice && payload.sub === deviceId) return "device";
  if (has(payload, "roles")) return "app";
  return "unknown";
}

/**
 * Which of the tenant's issuers the token claims: ordinal equality, trailing slash exactly as Entra issues
 * it (v1 `https://sts.windows.net/{tid}/`, v2 `https://{authority}/{tid}/v2.0`).
 *
 * @param tenant the resolved tenant
 * @param iss the token's `iss`
 * @returns 1, 2, or undefined when it is neither
 */
export function matchIssuer(tenant: TenantEntry, iss: unknown): TokenVersion | undefined {
  if (typeof iss !== "string") return undefined;
  if (iss === tenant.issuerV1 || tenant.issuersV1.includes(iss)) return 1;
  if (iss === tenant.issuerV2 || tenant.issuersV2.includes(iss)) return 2;
  return undefined;
}

/**
 * Signing-key issuer binding (Microsoft.IdentityModel's `ValidateIssuerSigningKey` for Entra): when the JWK
 * carries `issuer`, the token's `iss` must equal it after `{tenantid}` is replaced by the token's `tid`.
 * Stops a key published for one tenant (multi-tenant documents) from vouching for another.
 *
 * @param key the verifying key
 * @param tenantId the token's tenant
 * @param iss the token's issuer
 */
export function keyIssuerMatches(key: VerificationKey, tenantId: string, iss: string): boolean {
  if (key.issuer === undefined) return true;
  return key.issuer.replaceAll("{tenantid}", tenantId) === iss;
}

function audienceIn(audiences: ReadonlySet<string>, aud: unknown): boolean {
  // Trailing slash ignored, otherwise ordinal (Microsoft.IdentityModel audience validation).
  if (typeof aud === "string") {
    return audiences.has(aud.length > 1 && aud.endsWith("/") ? aud.slice(0, -1) : aud);
  }
  // RFC 7519 §4.1.3 allows an array; Entra never sends one, but if it did any match would do.
  if (Array.isArray(aud)) return aud.some((a) => typeof a === "string" && audienceIn(audiences, a));
  return false;
}

/**
 * Which of the tenant's services the audience names, or undefined when it names none. Read before the
 * signature only to refuse early (policy); the verified answer is the principal's `service`.
 *
 * @param tenant the token's tenant
 * @param aud the token's `aud`
 */
export function tokenService(tenant: TenantEntry, aud: unknown): TokenService | undefined {
  if (audienceIn(tenant.audiences, aud)) return "cloudManagement";
  if (tenant.adminService !== undefined && audienceIn(tenant.adminService.audiences, aud)) {
    return "adminServiceManagement";
  }
  return undefined;
}

/**
 * The client apps registered for a service of the tenant (its native app).
 *
 * @param tenant the token's tenant
 * @param service the token's service
 */
export function registeredClientApps(tenant: TenantEntry, service: TokenService): ReadonlySet<string> {
  return service === "cloudManagement" ? tenant.clientApps : (tenant.adminService?.clientApps ?? EMPTY);
}

const EMPTY: ReadonlySet<string> = new Set();

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

const sharedScopeLists = new WeakSet<readonly string[]>();
const scopeLists = new Map<string, readonly string[]>();
/** Distinct `scp` values whose split lists are shared; beyond that, each principal has its own. */
const MAX_SHARED_SCOPE_LISTS = 256;
const NO_SCOPES: readonly string[] = Object.freeze([]);
sharedScopeLists.add(NO_SCOPES);

/** Is this a shared list from {@link scopesOf} (which the verdict cache does not count per entry)? */
export function isSharedScopes(scopes: readonly string[]): boolean {
  return sharedScopeLists.has(scopes);
}

/**
 * The scopes of an `scp` claim, split on spaces: one frozen list per distinct value (a tenant's tokens carry
 * the same few), so 100 000 cached user tokens do not hold 100 000 copies of `["user_impersonation"]`.
 *
 * @param scp the claim, when it is a string
 */
export function scopesOf(scp: string | undefined): readonly string[] {
  if (scp === undefined) return NO_SCOPES;
  const known = scopeLists.get(scp);
  if (known !== undefined) return known;
  const scopes = Object.freeze(scp.split(" ").filter((s) => s.length > 0));
  if (scopeLists.size < MAX_SHARED_SCOPE_LISTS && scp.length <= 1024) {
    scopeLists.set(scp, scopes);
    sharedScopeLists.add(scopes);
  }
  return scopes;
}

/**
 * Checks the claims of a token whose signature has been verified and builds its principal.
 *
 * @param payload the verified claims
 * @param tenant the token's tenant
 * @param version from {@link matchIssuer}
 * @param kind from {@link classifyToken}, already allowed by policy
 * @param nowSec current time in seconds
 * @param settings skew and the device-token client-app switch
 * @returns the principal, or `claim_invalid`, `audience_invalid`, `token_expired`, `token_not_yet_valid`,
 *   `token_issued_in_future`, `token_lifetime_too_long`, `client_app_invalid`
 */
export function validateClaims(
  payload: JsonObject,
  tenant: TenantEntry,
  version: TokenVersion,
  kind: PrincipalKind,
  nowSec: number,
  settings: ClaimSettings,
): Principal | Rejection {
  const challenge = tenant.challenge;
  // `ver` must agree with the issuer form when present.
  const ver = payload.ver;
  if (ver !== undefined && ver !== (version === 1 ? "1.0" : "2.0")) return reject("claim_invalid", challenge);

  const service = tokenService(tenant, payload.aud);
  if (service === undefined) return reject("audience_invalid", challenge);

  // RFC 7519 §4.1.4: reject when now >= exp (plus skew); Entra always sets exp, so it is required.
  const exp = payload.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) return reject("claim_invalid", challenge);
  if (nowSec >= exp + settings.clockSkewSec) return reject("token_expired", challenge);
  // RFC 7519 §4.1.5: not before nbf (minus skew).
  const nbf = payload.nbf;
  if (nbf !== undefined) {
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) return reject("claim_invalid", challenge);
    if (nowSec + settings.clockSkewSec < nbf) return reject("token_not_yet_valid", challenge);
  }
  // RFC 7519 §4.1.6 `iat`. Entra always sets it; a token "issued" in the future (beyond the skew) or living
  // longer than any Entra token does was not issued by Entra as it is.
  const iat = payload.iat;
  if (typeof iat !== "number" || !Number.isFinite(iat)) return reject("claim_invalid", challenge);
  if (iat > nowSec + settings.clockSkewSec) return reject("token_issued_in_future", challenge);
  if (exp - iat > settings.maxTokenLifetimeSec) return reject("token_lifetime_too_long", challenge);

  // CM: the token must have been requested by the tenant's registered client app (`appid` v1, `azp` v2).
  // Device tokens often carry none (docs/architecture.md § Tokens): checked only when present unless configured required.
  const client = version === 1 ? payload.appid : payload.azp;
  if (client === undefined) {
    if (kind !== "device" || settings.deviceTokenRequireClientApp) return reject("client_app_invalid", challenge);
  } else if (
    typeof client !== "string" ||
    !(registeredClientApps(tenant, service).has(client) || settings.extraClientApps.has(client))
  ) {
    return reject("client_app_invalid", challenge);
  }

  const oid = payload.oid;
  if (typeof oid !== "string" || oid.length === 0) return reject("claim_invalid", challenge);
  const deviceId = optionalString(payload.deviceid);
  return {
    kind,
    tenantId: tenant.tenantId,
    objectId: oid,
    deviceId,
    clientAppId: optionalString(client),
    userName:
      optionalString(payload.upn) ?? optionalString(payload.unique_name) ?? optionalString(payload.preferred_username),
    subject: optionalString(payload.sub),
    version,
    expiresAtSec: exp,
    service,
    scopes: scopesOf(optionalString(payload.scp)),
  };
}
