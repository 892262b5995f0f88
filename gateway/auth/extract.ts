/**
 * Step 1 — where is the token? (RFC 6750 §2)
 *
 * Only the `Authorization: Bearer <token>` request header field (§2.1) is accepted. A token in the form body
 * (§2.2) or the query string (§2.3) is refused rather than ignored: §2 says a client MUST NOT use more than
 * one method, and tokens in URLs end up in logs and caches (§5.3).
 */
import { type Rejection, reject } from "./rejection.js";

/** The parts of a request that can carry a bearer token. */
export interface CredentialSource {
  /**
   * Every `Authorization` header value as received. Pass all of them (from `rawHeaders`): Node keeps only
   * the first duplicate in `req.headers`, which would hide a second credential.
   */
  readonly authorization: string | readonly string[] | undefined;
  /** The raw query string, without `?` (may be empty or undefined). */
  readonly query: string | undefined;
  /** A buffered `application/x-www-form-urlencoded` body, when the HTTP layer has one. */
  readonly formBody?: string | undefined;
}

// Preallocated: the rejections of this step carry no tenant, so one frozen value per reason suffices.
const TOKEN_MISSING = Object.freeze(reject("token_missing"));
const REQUEST_MALFORMED = Object.freeze(reject("request_malformed"));
const TOKEN_MALFORMED = Object.freeze(reject("token_malformed"));

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER = "bearer";

/**
 * Does a urlencoded string (query or form body) carry an `access_token` parameter? Names are
 * percent-decoded first so `acc%65ss_token` is caught too.
 *
 * @param encoded `a=1&b=2` form
 */
export function hasAccessTokenParameter(encoded: string | undefined): boolean {
  if (encoded === undefined || encoded.length === 0) return false;
  // Fast path: the common query has neither the name nor any escape.
  if (!encoded.includes("access_token") && !encoded.includes("%")) return false;
  for (const pair of encoded.split(/[&;]/)) {
    const eq = pair.indexOf("=");
    let name = eq === -1 ? pair : pair.slice(0, eq);
    if (name.includes("%") || name.includes("+")) {
      try {
        name = decodeURIComponent(name.replaceAll("+", " "));
      } catch {
        // An invalid escape cannot spell access_token; leave the name as it is.
      }
    }
    if (name === "access_token") return true;
  }
  return false;
}

function isBearerScheme(value: string, end: number): boolean {
  if (end !== BEARER.length) return false;
  for (let i = 0; i < end; i++) {
    // ASCII case fold: the auth-scheme is case-insensitive (RFC 9110 §11.1).
    if ((value.charCodeAt(i) | 0x20) !== BEARER.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Is the credential within RFC 6750's b64token (token68) characters? Anything else (a space, a comma: a
 * second credential or auth-params) makes the header malformed (`request_malformed`).
 *
 * @param token what {@link extractBearerToken} returned
 */
export function isToken68(token: string): boolean {
  return TOKEN68.test(token);
}

/**
 * Extracts the bearer token. Its characters are not checked here: {@link isToken68} is asked by the composer
 * before anything reads the token, except a verified-cache hit (a cached token passed that check, and only
 * the very same token has the same digest).
 *
 * @param source the request's headers, query and (optionally) form body
 * @param maxTokenBytes tokens longer than this are `token_malformed`
 * @returns the token, or a rejection: `token_missing` (nothing sent), `request_malformed` (token in the query
 *   or body, two credentials, another scheme, a bad header), `token_malformed` (too large)
 */
export function extractBearerToken(source: CredentialSource, maxTokenBytes: number): string | Rejection {
  // §2.2 / §2.3 are refused outright, with or without a header (with one, it is also two methods at once).
  if (hasAccessTokenParameter(source.query) || hasAccessTokenParameter(source.formBody)) return REQUEST_MALFORMED;

  let header: string;
  const raw = source.authorization;
  if (raw === undefined) return TOKEN_MISSING;
  if (typeof raw === "string") {
    header = raw;
  } else {
    if (raw.length === 0) return TOKEN_MISSING;
    if (raw.length > 1) return REQUEST_MALFORMED; // one header, one credential
    header = raw[0] as string;
  }

  const space = header.indexOf(" ");
  if (space === -1 || !isBearerScheme(header, space)) return REQUEST_MALFORMED;
  let start = space + 1;
  while (start < header.length && header.charCodeAt(start) === 0x20) start++;
  const length = header.length - start;
  if (length === 0) return REQUEST_MALFORMED;
  // Size before any scan of the content, so an oversized header costs nothing more.
  if (length > maxTokenBytes) return TOKEN_MALFORMED;
  return header.slice(start);
}
