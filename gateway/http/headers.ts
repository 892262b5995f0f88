/**
 * Which headers cross the gateway (docs/architecture.md § Proxy): hop-by-hop headers are dropped both ways
 * (RFC 9110 §7.6.1), inbound identity-style headers ({@link STRIPPED_INBOUND_HEADERS}) are always stripped and
 * the gateway adds its own `x-entra-*`, `X-Forwarded-*` are set by the gateway (never trusted from the client),
 * and `Authorization` goes upstream only when the route says so.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { Principal, PrincipalKind } from "../auth/claims.js";

/** RFC 9110 §7.6.1 connection-specific fields, plus the obsolete ones proxies still see. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/** Headers the gateway sets itself towards the MP; a client's copies are dropped. */
const GATEWAY_OWNED = new Set([
  "host",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-request-id",
  "forwarded",
]);

/**
 * Identity-style headers a client must never be able to hand the management point (documented in
 * `docs/architecture.md`, "Headers"): names ending in `*` are prefixes, the others exact (lower case).
 *
 * - `x-entra-*`: the gateway's own identity headers;
 * - `x-ms-client-principal*`, `x-ms-token-*`: App Service / Easy Auth identity headers, which IIS modules
 *   and ASP.NET code on the MP may trust;
 * - `x-original-url`, `x-rewrite-url`: IIS URL Rewrite / ARR headers that make IIS serve another path than
 *   the one the gateway authorized;
 * - `x-arr-clientcert`, `x-client-cert`, `ssl-client-cert`: a client certificate as a front end forwards it
 *   (the MP would take it for a PKI client);
 * - `x-real-ip`: the client address as a front end saw it (the gateway sets `X-Forwarded-For` itself).
 */
export const STRIPPED_INBOUND_HEADERS: readonly string[] = Object.freeze([
  "x-entra-*",
  "x-ms-client-principal*",
  "x-ms-token-*",
  "x-original-url",
  "x-rewrite-url",
  "x-arr-clientcert",
  "x-client-cert",
  "ssl-client-cert",
  "x-real-ip",
]);

const STRIPPED_EXACT = new Set(STRIPPED_INBOUND_HEADERS.filter((h) => !h.endsWith("*")));
const STRIPPED_PREFIXES = STRIPPED_INBOUND_HEADERS.filter((h) => h.endsWith("*")).map((h) => h.slice(0, -1));

/**
 * Is an inbound header (lower-case name, as Node gives it) one the gateway strips?
 *
 * @param name lower-case header name
 */
export function isStrippedInboundHeader(name: string): boolean {
  if (STRIPPED_EXACT.has(name)) return true;
  // Only `x-` and `ssl-` names can match: skip the prefix scan for every other header.
  if (name.charCodeAt(0) !== 0x78) return false;
  for (const prefix of STRIPPED_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/** The identity headers the gateway adds for the management point. */
export const IDENTITY_HEADERS = {
  tenantId: "x-entra-tenant-id",
  objectId: "x-entra-object-id",
  deviceId: "x-entra-device-id",
  clientAppId: "x-entra-client-app-id",
  tokenKind: "x-entra-token-kind",
} as const;

/** `x-entra-token-kind` values (CM's names: a user+device token is logged as "UDA"). */
const KIND_HEADER_VALUE: Readonly<Record<PrincipalKind, string>> = {
  user: "user",
  device: "device",
  userDevice: "user+device",
  app: "app",
};

const CLOSE_ONLY: ReadonlySet<string> = new Set(["close"]);

/** Field names listed in `Connection` (RFC 9110 §7.6.1: they are hop-by-hop too). */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  // The two values nearly every message carries, answered without splitting: `keep-alive` names only a
  // field that is hop-by-hop anyway.
  if (value === "keep-alive" || value === "Keep-Alive") return undefined;
  if (value === "close" || value === "Close") return CLOSE_ONLY;
  const tokens = new Set<string>();
  for (const v of Array.isArray(value) ? value : [value]) {
    for (const t of v.split(",")) {
      const name = t.trim().toLowerCase();
      if (name) tokens.add(name);
    }
  }
  return tokens;
}

/** What {@link upstreamRequestHeaders} needs besides the inbound headers. */
export interface ForwardContext {
  /** `host:port` of the upstream origin. */
  readonly upstreamHost: string;
  readonly clientIp: string;
  readonly requestId: string;
  readonly principal: Principal | undefined;
  readonly forwardAuthorization: boolean;
}

/** Builds the headers sent to the management point from the client's. */
export function upstreamRequestHeaders(
  inbound: IncomingHttpHeaders,
  ctx: ForwardContext,
): Record<string, string | string[]> {
  const extra = connectionTokens(inbound.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in inbound) {
    const value = inbound[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || GATEWAY_OWNED.has(name) || extra?.has(name)) continue;
    // Identity headers come only from the gateway: a client's copies never reach the MP.
    if (isStrippedInboundHeader(name)) continue;
    if (name === "authorization" && !ctx.forwardAuthorization) continue;
    out[name] = value;
  }
  out.host = ctx.upstreamHost;
  out["x-forwarded-for"] = ctx.clientIp;
  out["x-forwarded-proto"] = "https";
  if (inbound.host !== undefined) out["x-forwarded-host"] = inbound.host;
  out["x-request-id"] = ctx.requestId;
  const p = ctx.principal;
  if (p) {
    out[IDENTITY_HEADERS.tenantId] = p.tenantId;
    out[IDENTITY_HEADERS.objectId] = p.objectId;
    if (p.deviceId !== undefined) out[IDENTITY_HEADERS.deviceId] = p.deviceId;
    if (p.clientAppId !== undefined) out[IDENTITY_HEADERS.clientAppId] = p.clientAppId;
    out[IDENTITY_HEADERS.tokenKind] = KIND_HEADER_VALUE[p.kind];
  }
  return out;
}

/** Filters the management point's response headers for the client (hop-by-hop dropped). */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const extra = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || extra?.has(name)) continue;
    out[name] = value;
  }
  return out;
}
