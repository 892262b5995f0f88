/** The `listen` section: the main listener, its certificate and key read. */
import type { ParsedConfig } from "../schema.js";
import { Secret } from "../secret.js";
import type { Listen } from "../types.js";
import type { ValidationContext } from "./context.js";

/** Resolves the main listener; certFile and keyFile come together or not at all. */
export function resolveListen(listen: ParsedConfig["listen"], ctx: ValidationContext): Listen {
  if ((listen.certFile === undefined) !== (listen.keyFile === undefined)) {
    ctx.problem("listen", "give both certFile and keyFile, or neither");
  } else if (listen.certFile === undefined) {
    ctx.warn("listen", "no certFile/keyFile: the listener speaks plain HTTP (terminate TLS in front of it)");
  }
  const cert = listen.certFile === undefined ? undefined : ctx.read("listen.certFile", listen.certFile);
  const key = listen.keyFile === undefined ? undefined : ctx.read("listen.keyFile", listen.keyFile);
  return {
    host: listen.host,
    port: listen.port,
    cert,
    key: key === undefined ? undefined : new Secret(key, "fromFile", listen.keyFile),
    bodyLimitBytes: listen.bodyLimitBytes,
    headersTimeoutMs: listen.headersTimeoutMs,
    bodyTimeoutMs: listen.bodyTimeoutMs,
    bodyMinBytesPerSec: listen.bodyMinBytesPerSec,
    maxConnections: listen.maxConnections,
    drainTimeoutMs: listen.drainTimeoutMs,
  };
}
