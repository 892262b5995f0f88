/** Is a web app's App ID URI one Entra allows, and one that names this service's app or tenant? */
import { GUID_PATTERN } from "../schema.js";
import type { ValidationContext } from "./context.js";

/** The identifier URI forms Entra allows for the web app, as the refusal message lists them. */
const APP_ID_URI_FORMS =
  "api://{clientId}, api://{tenantId}/{clientId}, api://{tenantId}/{name}, api://{name}/{clientId}, " +
  "api://{verified-domain}/{name}, https://{verified-domain}/{name}, https://{name}.{verified-domain}[/{name}] " +
  "(or the old default https://ConfigMgrService)";

/**
 * App ID URI rules: every identifier URI form Entra allows for an app (Microsoft identity platform,
 * "Restrictions on identifier URIs") is accepted, since an imported app may carry any of them; CM's old
 * default `https://ConfigMgrService` still works with a warning (Azure Services Wizard); anything else is
 * refused. Which domains a tenant verified is Entra's knowledge, so a domain here is any dotted host, and a
 * path-less https URI needs a subdomain (`https://{name}.{domain}`). See docs/architecture.md § Identifier URIs.
 */
export function checkAppIdUri(
  uri: string,
  tenantId: string,
  clientId: string,
  where: string,
  ctx: ValidationContext,
): void {
  if (/^https:\/\/ConfigMgrService\/?$/i.test(uri)) {
    ctx.warn(
      where,
      "the old default App ID URI https://ConfigMgrService is accepted, but api://{tenantId}/{name} or https://{verified-domain}/{name} is recommended",
    );
    return;
  }
  const api = /^api:\/\/([^/?#\s]+)(?:\/([^?#\s]*))?$/i.exec(uri);
  if (api !== null) {
    const host = api[1]!.toLowerCase();
    const name = (api[2] ?? "").replace(/\/+$/, "");
    const app = clientId.toLowerCase();
    if (name === "") {
      if (host !== app) ctx.problem(where, `api:// App ID URI without a path must be api://{clientId}, got ${uri}`);
      return;
    }
    if (host === tenantId || name.toLowerCase() === app) return;
    if (GUID_PATTERN.test(host)) {
      ctx.problem(where, `api:// App ID URI names tenant ${host}, not this service's tenant ${tenantId}`);
    } else if (!isDottedHost(host)) {
      ctx.problem(where, `App ID URI must be one of ${APP_ID_URI_FORMS}, got ${uri}`);
    }
    return;
  }
  if (uri.startsWith("https://")) {
    if (!isDomainAppIdUri(uri)) ctx.problem(where, `App ID URI must be one of ${APP_ID_URI_FORMS}, got ${uri}`);
    return;
  }
  ctx.problem(where, `App ID URI must be one of ${APP_ID_URI_FORMS}, got ${uri}`);
}

/** A DNS name with at least two labels (a domain one could verify), no port. */
function isDottedHost(host: string): boolean {
  return /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i.test(host);
}

/**
 * `https://{domain}/{name}` or `https://{name}.{domain}[/{name}]`: a dotted host, no port, credentials, query
 * or fragment; without a path the host needs three labels (a subdomain of a domain).
 */
function isDomainAppIdUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (!isDottedHost(url.hostname) || url.port !== "" || url.username !== "" || url.password !== "") return false;
  if (url.search !== "" || url.hash !== "" || /[?#]/.test(uri) || url.pathname.endsWith("//")) return false;
  if (url.pathname.length > 1) return true;
  return url.hostname.split(".").length >= 3;
}
