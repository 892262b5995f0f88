/**
 * `buildGateway()` assembles the fastify instance from its parts; it never listens by itself (STYLE.md).
 * Only `http/` imports fastify.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Authenticator } from "../auth/authenticate.js";
import { answerClientError } from "./client-errors.js";
import { type ReadinessCheck, registerHealthRoutes } from "./health.js";
import type { ListenerTls } from "./listener.js";
import type { Upstreams } from "./proxy.js";
import { type RequestOutcome, registerProxyRoute } from "./proxy-route.js";

/** What the gateway is built from. */
export interface GatewayDeps {
  readonly authenticator: Authenticator;
  readonly upstream: Upstreams;
  readonly logger: Logger;
  /** Readiness of this process (`http/health.ts`), answered on `/readyz`. */
  readonly readiness: ReadinessCheck;
  /** TLS for the listener; plain HTTP without (e.g. behind a TLS-terminating load balancer). */
  readonly tls?: ListenerTls | undefined;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
}

/** Headers larger than Node's 16 KiB default fit a maximal token (16 KiB) plus the usual headers. */
const MAX_HEADER_BYTES = 64 * 1024;

/** Builds the gateway's fastify instance (routes registered, not listening). */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const { authenticator, upstream, logger } = deps;
  const listen = authenticator.config.listen;
  // Node's own bounds on a request that has not reached a handler yet: the whole header block within
  // `headersTimeoutMs` (checked every second rather than Node's default 30 s, so the bound is what it says).
  const serverOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: listen.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, listen.headersTimeoutMs),
  };
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is written by the proxy route, with the token's fingerprint, never the token.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger: the proxy route logs `reqId` itself, and a pino child per request (its
    // bindings serialized, its redaction set up) was ~2 % of the CPU of a request (docs/benchmarks.md).
    childLoggerFactory: (parent: Logger) => parent,
    genReqId: () => randomUUID(),
    // Client addresses come from the socket: X-Forwarded-For from outside is never trusted.
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    routerOptions: { maxParamLength: 500 },
    clientErrorHandler: answerClientError,
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key, ...serverOptions } } : { http: serverOptions }),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.server.maxConnections = listen.maxConnections;

  registerHealthRoutes(app, deps.readiness);

  // `/CCM_Proxy_ServerAuth/AADAuthInfo` (any case) is answered by the proxy route (cmg-path.ts).
  registerProxyRoute(app, {
    authenticator,
    upstream,
    log: logger,
    ...(deps.onOutcome ? { onOutcome: deps.onOutcome } : {}),
  });

  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    // fastify's own 4xx (bad form body, limits): say so plainly; anything else is ours, logged without headers.
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: status === 413 ? "request_too_large" : "invalid_request" });
    }
    const e = err as { message?: string; code?: string };
    logger.error({ reqId: req.id, err: { message: e.message, code: e.code } }, "unexpected error");
    return reply.code(500).send({ error: "internal_error" });
  });
  return app;
}
