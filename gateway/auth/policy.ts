/**
 * Step 4 — cheap policy, before any key look-up or crypto: which route rule applies, does it need a token
 * at all, does the tenant still allow Entra authentication, is this kind of token allowed there, and which
 * of the tenant's services may use this path? After the claims (and on every cached verdict), the route's
 * own grant: extra client apps and the required scope ({@link checkGrant}).
 *
 * **Administration Service Management.** The Azure Services Wizard (CM 2207+): the option lets admins
 * "segment their admin privileges between cloud management and administration service … access is
 * restricted to only administration service endpoints. Configuration Management clients will authenticate to
 * the site using Microsoft Entra ID." It is its own service with its own web and native app:
 *
 * - tokens minted for its web app reach `/AdminService/…` only (elsewhere `admin_service_only`, 403);
 * - the tenant's cloud management tokens lose `/AdminService/` (`admin_service_segmented`, 403) but keep
 *   every client path (`/CCM_STS`, content, …);
 * - tenants without it are unaffected (`/AdminService/` follows its route rule, `user` by default).
 *
 * Anonymous and passthrough routes involve no Entra token and are not affected.
 */
import type { RouteRequirement } from "../config/schema.js";
import type { Route } from "../config/types.js";
import { type Principal, registeredClientApps, type TokenKind, type TokenService } from "./claims.js";
import { type Rejection, reject } from "./rejection.js";
import type { TenantEntry } from "./tenants.js";

/** A route rule prepared for matching. */
export interface CompiledRoute extends Route {
  /** The prefix, lower-cased: matching is ASCII case-insensitive like IIS behind the MP. */
  readonly lowerPrefix: string;
}

/** The Administration Service's path prefix (docs/architecture.md § Configuration Manager specifics: `/AdminService/v1.0/…`, `/AdminService/wmi/…`). */
export const ADMIN_SERVICE_PREFIX = "/adminservice/";

/**
 * Prepares route rules for {@link matchRoute}.
 *
 * @param routes the configured rules, in order
 */
export function compileRoutes(routes: readonly Route[]): readonly CompiledRoute[] {
  return Object.freeze(routes.map((r) => Object.freeze({ ...r, lowerPrefix: r.prefix.toLowerCase() })));
}

function startsWithIgnoreCase(path: string, lowerPrefix: string): boolean {
  if (path.length < lowerPrefix.length) return false;
  for (let i = 0; i < lowerPrefix.length; i++) {
    let c = path.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Is a request path safe to match by prefix? Refuses what the upstream would normalise into another path
 * (RFC 3986 §5.2.4 dot segments, `%2e`/`%2f`/`%5c`/`%00` escapes, backslashes), so
 * `/SMS_MP/.sms_aut/../../AdminService/` cannot ride an anonymous rule.
 *
 * @param path the path part of the request target, starting with `/`
 */
export function isSafePath(path: string): boolean {
  if (path.charCodeAt(0) !== 0x2f || path.includes("\\")) return false;
  if (path.includes("%")) {
    if (/%(?:2e|2f|5c|00)/i.test(path)) return false;
  }
  let i = path.indexOf("/.");
  while (i !== -1) {
    const a = path.charCodeAt(i + 2);
    // "/." followed by end, "/" or ".": a dot segment ("/./", "/../", trailing "/." or "/..").
    if (Number.isNaN(a) || a === 0x2f) return false;
    if (a === 0x2e) {
      const b = path.charCodeAt(i + 3);
      if (Number.isNaN(b) || b === 0x2f) return false;
    }
    i = path.indexOf("/.", i + 2);
  }
  return true;
}

/**
 * First rule whose prefix the path starts with (ASCII case-insensitive), or undefined: unknown paths are
 * refused (docs/architecture.md § Configuration model).
 *
 * @param routes compiled rules
 * @param path a path that passed {@link isSafePath}
 */
export function matchRoute(routes: readonly CompiledRoute[], path: string): CompiledRoute | undefined {
  for (const route of routes) {
    if (startsWithIgnoreCase(path, route.lowerPrefix)) return route;
  }
  return undefined;
}

/**
 * Does a route requirement accept a token kind? `user` accepts user and user+device tokens (both
 * authenticate a user), `device` accepts device and user+device tokens (Entra only adds `deviceid` to a user
 * token after device authentication), `entra` accepts all three. App-only and unrecognised tokens are never
 * accepted: CM endpoints serve users and devices.
 *
 * @param requirement the route's
 * @param kind from `classifyToken`
 */
export function requirementAllows(requirement: RouteRequirement, kind: TokenKind): boolean {
  switch (requirement) {
    case "user":
      return kind === "user" || kind === "userDevice";
    case "device":
      return kind === "device" || kind === "userDevice";
    case "entra":
      return kind === "user" || kind === "device" || kind === "userDevice";
    case "anonymous":
    case "passthrough":
      return true;
  }
}

/**
 * Is the path an Administration Service endpoint?
 *
 * @param path request path
 */
export function isAdminServicePath(path: string): boolean {
  return startsWithIgnoreCase(path, ADMIN_SERVICE_PREFIX) || path.toLowerCase() === "/adminservice";
}

/**
 * The per-request policy for an Entra-authenticated route, in the order of docs/architecture.md § Hot path:
 * tenant flag, route requirement (app-only tokens only where the route allows them), Administration Service
 * segmentation. Runs on every request, cached verdict or not, so a flag flipped by a config reload applies to
 * the very next request.
 *
 * @param tenant the token's tenant
 * @param route the matched route
 * @param kind the token's kind
 * @param path the request path (the inner path of a CMG path)
 * @param service the service the token's audience names; undefined before the signature when it names none
 *   (the claims step then refuses it)
 * @returns undefined when allowed, else `tenant_disabled`, `token_kind_not_allowed`, `admin_service_only`
 *   or `admin_service_segmented`
 */
export function checkPolicy(
  tenant: TenantEntry,
  route: CompiledRoute,
  kind: TokenKind,
  path: string,
  service: TokenService | undefined,
): Rejection | undefined {
  // CM 2010+ "Disable Microsoft Entra authentication for this tenant".
  if (tenant.disabled) return reject("tenant_disabled", tenant.challenge);
  if (!requirementAllows(route.requirement, kind) && !(kind === "app" && route.allowAppOnly)) {
    return reject("token_kind_not_allowed", tenant.challenge);
  }
  if (service === "adminServiceManagement") {
    if (!isAdminServicePath(path)) return reject("admin_service_only", tenant.challenge);
  } else if (service === "cloudManagement" && tenant.adminServiceManagement && isAdminServicePath(path)) {
    return reject("admin_service_segmented", tenant.challenge);
  }
  return undefined;
}

/**
 * The route's own grant for a verified principal, on every request (a verdict cached on one route is
 * re-judged on the next): a client app that is not the service's registered native app must be listed in
 * `route.clientApps`, and `route.requiredScope` must be in `scp`.
 *
 * @param tenant the token's tenant
 * @param route the matched route
 * @param principal the verified principal
 * @returns undefined when allowed, else `client_app_invalid` or `scope_missing`
 */
export function checkGrant(tenant: TenantEntry, route: CompiledRoute, principal: Principal): Rejection | undefined {
  const app = principal.clientAppId;
  if (
    app !== undefined &&
    !registeredClientApps(tenant, principal.service).has(app) &&
    !route.clientApps.includes(app)
  ) {
    return reject("client_app_invalid", tenant.challenge);
  }
  if (route.requiredScope !== undefined && !principal.scopes.includes(route.requiredScope)) {
    return reject("scope_missing", tenant.challenge);
  }
  return undefined;
}
