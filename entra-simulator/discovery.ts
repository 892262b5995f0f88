/**
 * OpenID Connect discovery documents and JWKS in Entra's shape (docs/architecture.md § Discovery documents and § Signing keys).
 * Endpoint URLs point at the emulator; issuers are the real cloud's.
 */
import { CLOUDS, issuerFor } from "./clouds.js";
import { type KeyStore, type PublishedJwk, toPublishedJwk } from "./keys.js";
import type { DirectoryTenant } from "./seed.js";

/** `Cache-Control` Entra sends on discovery documents and key sets. */
export const DISCOVERY_CACHE_CONTROL = "max-age=86400, private";

/**
 * The v1 (`/{tenant}/.well-known/openid-configuration`) or v2 (`/{tenant}/v2.0/.well-known/…`) document.
 * `baseUrl` is the emulator's own origin, e.g. `https://127.0.0.1:8443`.
 */
export function openIdConfiguration(tenant: DirectoryTenant, version: 1 | 2, baseUrl: string): Record<string, unknown> {
  const cloud = CLOUDS[tenant.cloud];
  const t = `${baseUrl}/${tenant.id}`;
  const v2 = version === 2;
  const oauth = v2 ? `${t}/oauth2/v2.0` : `${t}/oauth2`;
  return {
    token_endpoint: `${oauth}/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    // Entra's v1 document names /common/discovery/keys; the emulator serves both clouds on one origin, so it
    // names the tenant's path, which publishes the same cloud-wide key set to every tenant of the cloud.
    jwks_uri: v2 ? `${t}/discovery/v2.0/keys` : `${t}/discovery/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: issuerFor(v2 ? cloud.v2Issuer : cloud.v1Issuer, tenant.id),
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${oauth}/authorize`,
    device_authorization_endpoint: `${oauth}/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${oauth}/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    ...(v2 ? { kerberos_endpoint: `${t}/kerberos` } : {}),
    tenant_region_scope: tenant.cloud === "AzureUSGovernmentCloud" ? "USGov" : "NA",
    cloud_instance_name: cloud.instanceName,
    cloud_graph_host_name: cloud.aadGraphHost,
    msgraph_host: cloud.graphHost,
    rbac_url: "https://pas.windows.net",
  };
}

/**
 * The key set published under a tenant's `jwks_uri`: its cloud's shared set. v1 keys carry no `issuer`;
 * v2 keys carry the template or the tenant's issuer.
 */
export function jwksDocument(tenant: DirectoryTenant, version: 1 | 2, keys: KeyStore): { keys: PublishedJwk[] } {
  const cloud = CLOUDS[tenant.cloud];
  const issuer =
    version === 1
      ? undefined
      : tenant.keyIssuer === "template"
        ? cloud.keyIssuer
        : issuerFor(cloud.keyIssuer, tenant.id);
  return { keys: keys.published(tenant.id).map((k) => toPublishedJwk(k, issuer)) };
}
