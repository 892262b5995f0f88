/**
 * Which headers cross the gateway (docs/architecture.md § Proxy): hop-by-hop headers are dropped both ways (RFC 9110 §7.6.1),
 * inbound `x-entra-*` identity headers are always stripped and the gateway adds its own, `X-Forwarded-*` are
 * set by the gateway (never trusted from the client), and `Authorization` goes upstream only when the route
 * says so.
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
};

/** Field names listed in `Connection` (RFC 9110 §7.6.1: they are hop-by-hop too). */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
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
    if (name.startsWith("x-entra-")) continue;
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
