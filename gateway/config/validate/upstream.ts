/** The `upstream` section: its TLS files read, its connection budget checked. */
import type { ParsedConfig } from "../schema.js";
import { Secret } from "../secret.js";
import type { Upstream } from "../types.js";
import type { ValidationContext } from "./context.js";

/** Resolves the upstream management point: reads its CA and client certificate, derives the anonymous share. */
export function resolveUpstream(upstream: ParsedConfig["upstream"], ctx: ValidationContext): Upstream {
  if (upstream.url.startsWith("http:")) {
    ctx.warn("upstream.url", "plain http towards the management point: no TLS, no client certificate");
  }
  if ((upstream.clientCertFile === undefined) !== (upstream.clientKeyFile === undefined)) {
    ctx.problem("upstream", "give both clientCertFile and clientKeyFile, or neither");
  }
  const ca = upstream.caFile === undefined ? undefined : ctx.read("upstream.caFile", upstream.caFile);
  const clientCert =
    upstream.clientCertFile === undefined ? undefined : ctx.read("upstream.clientCertFile", upstream.clientCertFile);
  const keyText =
    upstream.clientKeyFile === undefined ? undefined : ctx.read("upstream.clientKeyFile", upstream.clientKeyFile);
  const unauthenticatedConnections =
    upstream.unauthenticatedConnections ?? Math.max(1, Math.floor(upstream.connections / 2));
  if (unauthenticatedConnections > upstream.connections) {
    ctx.problem("upstream.unauthenticatedConnections", "must not exceed upstream.connections");
  } else if (unauthenticatedConnections === upstream.connections && upstream.connections > 1) {
    ctx.warn(
      "upstream.unauthenticatedConnections",
      "equals upstream.connections: anonymous and passthrough requests can take every upstream connection",
    );
  }
  return {
    url: upstream.url,
    ca,
    clientCert,
    clientKey: keyText === undefined ? undefined : new Secret(keyText, "fromFile", upstream.clientKeyFile),
    connectTimeoutMs: upstream.connectTimeoutMs,
    headersTimeoutMs: upstream.headersTimeoutMs,
    bodyTimeoutMs: upstream.bodyTimeoutMs,
    keepAliveTimeoutMs: upstream.keepAliveTimeoutMs,
    connections: upstream.connections,
    unauthenticatedConnections,
    queueTimeoutMs: upstream.queueTimeoutMs,
    maxQueuedRequests: upstream.maxQueuedRequests,
  };
}
