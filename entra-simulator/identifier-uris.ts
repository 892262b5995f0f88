/**
 * Microsoft Graph's rule for new identifier URIs (App ID URIs) of single-tenant apps: since October 2021
 * Graph refuses, on create and whenever a URI is added, any URI that names neither the app nor the tenant
 * nor one of the tenant's verified domains (Microsoft identity platform, "Restrictions on identifier URIs").
 * URIs already on an app are never re-checked, which is how imported legacy apps keep
 * `https://ConfigMgrService` (docs/architecture.md § Identifier URIs).
 *
 * Accepted forms (`{domain}` is a verified domain, the initial `*.onmicrosoft.com` one included, or any
 * subdomain of one):
 * - `api://{appId}`, `api://{tenantId}/{appId}`, `api://{tenantId}/{string}`, `api://{string}/{appId}`
 * - `api://{domain}/{string}`
 * - `https://{domain}`, `https://{domain}/{string}`
 */

/** The URI Graph would refuse, or undefined when every URI is allowed. */
export function firstRefusedIdentifierUri(
  uris: readonly string[],
  app: { readonly appId: string },
  tenant: { readonly id: string; readonly verifiedDomains: readonly string[] },
): string | undefined {
  return uris.find((uri) => !isAllowedIdentifierUri(uri, app.appId, tenant));
}

/** Graph's message for a refused URI (error code `HostNameNotOnVerifiedDomain`). */
export function hostNameNotOnVerifiedDomainMessage(uri: string): string {
  return `Values of identifierUris property must use a verified domain of the organization or its subdomain: '${uri}'`;
}

function isAllowedIdentifierUri(
  uri: string,
  appId: string,
  tenant: { readonly id: string; readonly verifiedDomains: readonly string[] },
): boolean {
  const m = /^(api|https):\/\/([^/?#\s]+)(?:\/([^?#\s]*))?$/i.exec(uri);
  if (m === null) return false;
  const scheme = m[1]!.toLowerCase();
  const host = m[2]!.toLowerCase();
  const path = (m[3] ?? "").replace(/\/+$/, "");
  const onVerifiedDomain = tenant.verifiedDomains.some((d) => {
    const domain = d.toLowerCase();
    return host === domain || host.endsWith(`.${domain}`);
  });
  if (scheme === "https") return onVerifiedDomain;
  const lowerPath = path.toLowerCase();
  if (path === "") return host === appId.toLowerCase();
  if (host === tenant.id.toLowerCase()) return true; // api://{tenantId}/{appId} and api://{tenantId}/{string}
  if (lowerPath === appId.toLowerCase()) return true; // api://{string}/{appId}
  return onVerifiedDomain; // api://{domain}/{string}
}
