/**
 * Which management point, and which of its paths? Real Configuration Manager clients reach the site through
 * a cloud management gateway (CMG) with paths of the form
 *
 * - `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID={tid}` — onboarding, before the client has a token;
 * - `/CCM_Proxy_ServerAuth/{id}/{inner path}` — Entra or CCM-token clients (HTTPS server authentication);
 * - `/CCM_Proxy_MutualAuth/{id}/{inner path}` — the PKI channel, which real clients also use for `/CCM_STS`.
 *
 * The prefix's case varies between clients (`/CCM_PROXY_SERVERAUTH/…`), so it matches case-insensitively.
 * `{id}` is the decimal MP ID (or the site ID, for AdminService) that the CMG connection point maps to a
 * management point; it rewrites `https://CMG/CCM_Proxy_…/{id}/X` to `https://{that MP}/X`. The gateway does
 * the same: route rules apply to the inner path, and the inner path (with the query) goes upstream.
 *
 * **MutualAuth** (documented in `docs/architecture.md`, "CMG paths"): the gateway treats it exactly like
 * ServerAuth — every inner path needs what its route rule requires, an Entra token where the rule says so —
 * because real clients send Entra and CCM-token requests there. It never relaxes a rule: a client
 * certificate is not a credential the gateway accepts in place of a token.
 *
 * Plain management point paths (`/CCM_STS`, `/SMS_MP/.sms_aut?MPLIST`) keep working: the gateway can also
 * stand directly in front of one MP.
 */
import { isSafePath } from "../auth/policy.js";
import { MANAGEMENT_POINT_ID_PATTERN } from "../config/schema.js";
import type { GatewayConfig } from "../config/types.js";

/** The two CMG channels. */
export type CmgChannel = "ServerAuth" | "MutualAuth";

/** What a request target names. */
export type RequestTarget =
  /** A plain management point path: routed as it is, to the default upstream. */
  | { readonly kind: "direct"; readonly url: string }
  /** `/CCM_Proxy_ServerAuth/AADAuthInfo`: answered by the gateway, no token. */
  | { readonly kind: "aadAuthInfo"; readonly query: string | undefined }
  /** A CMG path: `url` is the inner path and query, `mpId` picks the management point. */
  | { readonly kind: "cmg"; readonly channel: CmgChannel; readonly mpId: string; readonly url: string }
  /** A CMG prefix whose `{id}` is missing or not an ID: nothing to route. */
  | { readonly kind: "badId" };

const PREFIXES: ReadonlyArray<readonly [string, CmgChannel]> = [
  ["/ccm_proxy_serverauth/", "ServerAuth"],
  ["/ccm_proxy_mutualauth/", "MutualAuth"],
];

/** Only this inner name is anonymous under the CMG prefixes, and only on ServerAuth. */
const AAD_AUTH_INFO = "aadauthinfo";

function startsWithLower(text: string, lowerPrefix: string): boolean {
  return text.length >= lowerPrefix.length && text.slice(0, lowerPrefix.length).toLowerCase() === lowerPrefix;
}

/**
 * Parses a request target (path and optional query, as received).
 *
 * @param url the request target
 * @example
 * parseRequestTarget("/CCM_PROXY_MUTUALAUTH/72186325152220500/CCM_STS")
 * // → { kind: "cmg", channel: "MutualAuth", mpId: "72186325152220500", url: "/CCM_STS" }
 */
export function parseRequestTarget(url: string): RequestTarget {
  // Fast path: every CMG path starts with "/CCM_" in some case; most direct paths do not.
  if (url.length < 22 || (url.charCodeAt(1) | 0x20) !== 0x63) return { kind: "direct", url };
  for (const [prefix, channel] of PREFIXES) {
    if (!startsWithLower(url, prefix)) continue;
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    // A path that would normalise elsewhere (dot segments, encoded separators) is judged whole, and refused.
    if (!isSafePath(path)) return { kind: "direct", url };
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf("/");
    const id = slash === -1 ? rest : rest.slice(0, slash);
    if (channel === "ServerAuth" && slash === -1 && id.toLowerCase() === AAD_AUTH_INFO) {
      return { kind: "aadAuthInfo", query: q === -1 ? undefined : url.slice(q + 1) };
    }
    if (slash === -1 || !MANAGEMENT_POINT_ID_PATTERN.test(id)) return { kind: "badId" };
    return { kind: "cmg", channel, mpId: id, url: url.slice(prefix.length + slash) };
  }
  return { kind: "direct", url };
}

/**
 * The upstream origin a CMG MP/site ID maps to: with no `managementPoints` configured every ID goes to
 * `upstream.url` (one management point); otherwise only listed IDs are routed.
 *
 * @param config the configuration in force
 * @param mpId the `{id}` of a CMG path
 * @returns the origin URL, or undefined for an ID that is not routed
 */
export function managementPointUrl(config: GatewayConfig, mpId: string): string | undefined {
  if (config.managementPoints.length === 0) return config.upstream.url;
  return config.managementPoints.find((mp) => mp.id === mpId)?.url;
}
