/**
 * `GET /CCM_Proxy_ServerAuth/AADAuthInfo?TenantID={tid}` (docs/architecture.md § Configuration Manager specifics): what
 * a client must ask Entra for — the client app ID and the resource (the server app's App ID URI) — answered
 * from the configuration, for onboarded cloud-management tenants whose Entra authentication is enabled only.
 * The JSON shape is our model: Microsoft documents the fields (AADCLIENTAPPID, AADRESOURCEURI), not the body.
 */
import type { GatewayConfig } from "../config/validate.js";

/** What a client learns about its tenant. */
export interface AadAuthInfo {
  readonly TenantId: string;
  readonly ClientAppId: string;
  readonly ResourceUri: string;
  /** `https://{authority host}/{tenantId}` of the tenant's cloud. */
  readonly Authority: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The answer for `tenantId`, or undefined when the tenant is not onboarded (or disabled, or malformed). */
export function aadAuthInfo(config: GatewayConfig, tenantId: string | undefined): AadAuthInfo | undefined {
  if (tenantId === undefined) return undefined;
  const id = tenantId.toLowerCase();
  if (!GUID.test(id)) return undefined;
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
