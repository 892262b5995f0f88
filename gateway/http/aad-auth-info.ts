/**
 * `GET /CCM_Proxy_ServerAuth/AADAuthInfo?TenantID={tid}` (docs/architecture.md § Configuration Manager specifics): what
 * a client must ask Entra for — the client app ID and the resource (the server app's App ID URI) — answered
 * from the configuration, for onboarded cloud-management tenants whose Entra authentication is enabled only.
 * The JSON shape is our model: Microsoft documents the fields (AADCLIENTAPPID, AADRESOURCEURI), not the body.
 */
import type { GatewayConfig } from "../config/types.js";

/** What a client learns about its tenant. */
export interface AadAuthInfo {
  readonly TenantId: string;
  readonly ClientAppId: string;
  readonly ResourceUri: string;
  /** `https://{authority host}/{tenantId}` of the tenant's cloud. */
  readonly Authority: string;
}

/**
 * The `TenantID` query parameter (case-insensitive name, as IIS reads query names), from a raw query string.
 *
 * @param query the part after `?`, or undefined
 */
export function tenantIdParam(query: string | undefined): string | undefined {
  if (query === undefined) return undefined;
  for (const [name, value] of new URLSearchParams(query)) {
    if (name.toLowerCase() === "tenantid") return value;
  }
  return undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Is `value` a GUID (any case)? */
export function isGuid(value: string): boolean {
  return value.length === 36 && GUID.test(value.toLowerCase());
}

/** The answer for `tenantId`, or undefined when the tenant is not onboarded (or disabled, or malformed). */
export function aadAuthInfo(config: GatewayConfig, tenantId: string | undefined): AadAuthInfo | undefined {
  if (tenantId === undefined) return undefined;
  if (!isGuid(tenantId)) return undefined;
  const id = tenantId.toLowerCase();
  const service = config.azureServices.find(
    (s) => s.type === "cloudManagement" && s.tenant.id === id && !s.disableAuthentication && s.nativeApp !== undefined,
  );
  if (service?.nativeApp === undefined) return undefined;
  const env = config.environments[service.environment];
  return {
    TenantId: id,
    ClientAppId: service.nativeApp.clientId,
    ResourceUri: service.webApp.appIdUri,
    Authority: `https://${env.authorityHost}/${id}`,
  };
}
