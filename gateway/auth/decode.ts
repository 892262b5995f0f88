/**
 * Step 2 — untrusted structure checks (RFC 7515 compact serialization, RFC 7519).
 *
 * Nothing decoded here is trusted: it only selects a tenant and a key and rejects early. The header members
 * that name key material (`jku`, `x5u`, `jwk`, `x5c`, RFC 7515 §4.1.2–4.1.6) are never read: keys come only
 * from the configured tenant's JWKS, so a token cannot point the gateway at a key or a URL of its choosing.
 */
import { type Rejection, reject } from "./rejection.js";

/** A JSON object from a token; every member is unknown until checked. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** The JOSE header after step 2: `alg` allowed, `kid` present. */
export interface JoseHeader extends JsonObject {
  readonly alg: string;
  readonly kid: string;
}

/** A structurally valid token, not yet verified. */
export interface DecodedToken {
  /** The compact serialization as received. */
  readonly token: string;
  readonly header: JoseHeader;
  /** The claims set; untrusted until the signature is verified. */
  readonly payload: JsonObject;
  /** Length of `header.payload`, the JWS signing input (RFC 7515 §5.2). */
  readonly signingInputLength: number;
}

const TOKEN_MALFORMED = Object.freeze(reject("token_malformed"));
const ALG_NOT_ALLOWED = Object.freeze(reject("alg_not_allowed"));

// Three segments of the base64url alphabet (RFC 4648 §5), no padding (RFC 7515 §2).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function base64urlValue(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  return code === 45 ? 62 : 63; // - or _
}

/**
 * Is `segment[start, end)` canonical base64url? The charset is checked by the caller; this refuses an
 * impossible length and non-zero pad bits (RFC 4648 §3.5), so each byte string has exactly one encoding.
 */
function isCanonicalBase64url(token: string, start: number, end: number): boolean {
  const rem = (end - start) % 4;
  if (rem === 1) return false;
  if (rem === 0) return true;
  const last = base64urlValue(token.charCodeAt(end - 1));
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

function parseObject(token: string, start: number, end: number): JsonObject | undefined {
  try {
    const json = utf8.decode(Buffer.from(token.slice(start, end), "base64url"));
    const value: unknown = JSON.parse(json);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    return value as JsonObject;
  } catch {
    return undefined;
  }
}

/** Told why {@link decodeToken} refused: a sentence for operators (explain-token), never for the client. */
export type MalformationSink = (detail: string) => void;

/**
 * Decodes a compact JWS without verifying it.
 *
 * @param token from {@link extractBearerToken}
 * @param allowedAlgs the `alg` allowlist (RS256 only by default)
 * @param why told which check refused (only when given: nothing is built otherwise)
 * @returns the decoded token, or `token_malformed` / `alg_not_allowed`
 */
export function decodeToken(
  token: string,
  allowedAlgs: ReadonlySet<string>,
  why?: MalformationSink,
): DecodedToken | Rejection {
  if (!COMPACT_JWS.test(token)) {
    why?.("not three dot-separated segments of base64url characters");
    return TOKEN_MALFORMED;
  }
  const dot1 = token.indexOf(".");
  const dot2 = token.indexOf(".", dot1 + 1);
  if (
    !isCanonicalBase64url(token, 0, dot1) ||
    !isCanonicalBase64url(token, dot1 + 1, dot2) ||
    !isCanonicalBase64url(token, dot2 + 1, token.length)
  ) {
    why?.("a segment is not canonical base64url (impossible length or non-zero pad bits)");
    return TOKEN_MALFORMED;
  }
  const header = parseObject(token, 0, dot1);
  if (header === undefined) {
    why?.("the header is not a UTF-8 JSON object");
    return TOKEN_MALFORMED;
  }
  const alg = header.alg;
  if (typeof alg !== "string") {
    why?.("the header has no string alg");
    return TOKEN_MALFORMED;
  }
  // RFC 8725 §3.1: the verifier decides the algorithm; "none" and anything unlisted is refused.
  if (!allowedAlgs.has(alg)) {
    why?.(`alg ${JSON.stringify(alg).slice(0, 40)} is not allowed (allowed: ${[...allowedAlgs].join(", ")})`);
    return ALG_NOT_ALLOWED;
  }
  // RFC 7515 §4.1.11: a recipient MUST reject a token whose crit names extensions it does not understand;
  // we understand none.
  if (header.crit !== undefined) {
    why?.("the header has crit (no extension is understood)");
    return TOKEN_MALFORMED;
  }
  // Entra always sets kid; without it we could only try every key, which we refuse to do.
  if (typeof header.kid !== "string" || header.kid.length === 0) {
    why?.("the header has no kid");
    return TOKEN_MALFORMED;
  }
  const payload = parseObject(token, dot1 + 1, dot2);
  if (payload === undefined) {
    why?.("the payload is not a UTF-8 JSON object");
    return TOKEN_MALFORMED;
  }
  return { token, header: header as JoseHeader, payload, signingInputLength: dot2 };
}
