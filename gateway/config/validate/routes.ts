/** The `routes` section: plain prefixes, no CMG wrapper paths, no rule shadowed by an earlier one. */
import { DEFAULT_ROUTES, type ParsedConfig } from "../schema.js";
import type { Route } from "../types.js";
import type { ValidationContext } from "./context.js";

/** Resolves the route rules (the defaults when the file gives none) and checks them in order. */
export function resolveRoutes(routes: ParsedConfig["routes"], ctx: ValidationContext): readonly Route[] {
  const source = routes ?? DEFAULT_ROUTES;
  if (source.length === 0) ctx.warn("routes", "no routes: every request will be refused");
  const out: Route[] = [];
  source.forEach((route, index) => {
    const where = `routes[${index}]`;
    if (/[?#%\\\s]/.test(route.prefix) || /(^|\/)\.\.?(\/|$)/.test(route.prefix)) {
      ctx.problem(`${where}.prefix`, "must be a plain path (no ?, #, %, \\, whitespace or . / .. segments)");
    }
    const lower = route.prefix.toLowerCase();
    if (lower.startsWith("/ccm_proxy_")) {
      // CMG paths are parsed before any rule (http/cmg-path.ts); a rule here could only ever widen access.
      ctx.problem(
        `${where}.prefix`,
        "must be a management point path: /CCM_Proxy_ServerAuth/{id}/… and /CCM_Proxy_MutualAuth/{id}/… are matched on their inner path",
      );
    }
    if (route.allowAppOnly && route.requirement !== "entra" && route.requirement !== "user") {
      ctx.problem(`${where}.allowAppOnly`, `applies to Entra-authenticated routes only, not ${route.requirement}`);
    }
    out.forEach((earlier, earlierIndex) => {
      // First match wins, so a later rule under an earlier prefix can never apply.
      if (lower.startsWith(earlier.prefix.toLowerCase())) {
        ctx.problem(
          where,
          `prefix ${route.prefix} is shadowed by routes[${earlierIndex}] (${earlier.prefix}), which matches first`,
        );
      }
    });
    out.push({
      prefix: route.prefix,
      requirement: route.requirement,
      forwardAuthorization: route.forwardAuthorization ?? route.requirement !== "anonymous",
      clientApps: (route.clientApps ?? []).map((id) => id.toLowerCase()),
      requiredScope: route.requiredScope,
      allowAppOnly: route.allowAppOnly ?? false,
    });
  });
  return out;
}
