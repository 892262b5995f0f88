/**
 * What an admin should do about a failed analyzer stage: one table from Entra's AADSTS codes to a hint, and
 * one reading of a network error on the way to the gateway or the authority (refused, unreachable, TLS).
 * Entra's own code and sentence stay in the stage's detail; the hint says what to change (docs/operations.md
 * § Connection analyzer).
 */

/** Hints by AADSTS code, for the token requests of stages 2 and 3. */
const AADSTS_HINTS: Readonly<Record<string, string>> = Object.freeze({
  AADSTS7000215:
    "the server app secret in the config is wrong or expired: renew it with `entra-gateway services renew-secret`",
  AADSTS7000222: "the server app secret has expired: renew it with `entra-gateway services renew-secret`",
  AADSTS7000218: "the configuration gives no secret for the server app: set webApp.secret",
  AADSTS700016:
    "no app with this client ID in the tenant: check the client ID (webApp.clientId or nativeApp.clientId), the tenant ID and the cloud (environment)",
  AADSTS90002: "Entra does not know this tenant in this cloud: check tenant.id and the service's environment",
  AADSTS500011:
    "no app of the tenant exposes this App ID URI: check webApp.appIdUri against the app registration's Application ID URI",
  AADSTS70011: "the scope is not valid for this app: check webApp.appIdUri",
  AADSTS65001: "the client app has no consent for the server app's API: grant admin consent in the tenant",
  AADSTS50034: "no such user in the tenant: check the UPN given with --user",
  AADSTS50126: "wrong password for the user given with --user (or the account cannot use a password grant)",
  AADSTS50057: "the user account is disabled in Entra",
  AADSTS700003: "the device is not registered in the tenant (or was deleted)",
  AADSTS135011: "the device is disabled in Entra",
  AADSTS90033: "Entra is temporarily unavailable: try again later",
});

/**
 * The hint for an Entra failure code, or a generic one.
 *
 * @param code `AADSTS7000215`, or msal's code for a failure without an AADSTS number
 * @param authority where the request went, for network failures
 */
export function entraHint(code: string, authority: string): string {
  const known = AADSTS_HINTS[code];
  if (known !== undefined) return known;
  if (!code.startsWith("AADSTS")) {
    return `no answer from Entra at ${authority}: check the network path, the proxy and the environment's authorityHost/CA`;
  }
  return `look up ${code} in Entra's error reference (https://login.microsoftonline.com/error?code=${code.slice(6)})`;
}

/** How a request to a server failed before any HTTP answer. */
export type NetworkFailureKind = "refused" | "unreachable" | "tls" | "timeout" | "other";

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "EPROTO",
]);

/**
 * Classifies a thrown network error by its `code` (undici and node's TLS codes), looking through `cause`.
 *
 * @param err what the request threw
 */
export function classifyNetworkError(err: unknown): { readonly kind: NetworkFailureKind; readonly text: string } {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const { code, message, name } = current as { code?: unknown; message?: unknown; name?: unknown };
    const text = `${typeof code === "string" ? `${code}: ` : ""}${typeof message === "string" ? message : String(current)}`;
    if (code === "ECONNREFUSED") return { kind: "refused", text };
    if (code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EAI_AGAIN") {
      return { kind: "unreachable", text };
    }
    if (typeof code === "string" && (TLS_CODES.has(code) || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS"))) {
      return { kind: "tls", text };
    }
    if (name === "TimeoutError" || name === "AbortError" || code === "UND_ERR_CONNECT_TIMEOUT") {
      return { kind: "timeout", text };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return { kind: "other", text: err instanceof Error ? err.message : String(err) };
}
