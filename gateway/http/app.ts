/**
 * `buildGateway()` assembles the fastify instance from its parts; it never listens by itself (STYLE.md).
 * Only `http/` imports fastify.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Authenticator } from "../auth/authenticate.js";
import { answerClientError } from "./client-errors.js";
import { type ReadinessCheck, registerHealthRoutes } from "./health.js";
import type { ListenerTls } from "./listener.js";
import type { Upstreams } from "./proxy.js";
import { createProxyHandler, type RequestOutcome, registerProxyRoute } from "./proxy-route.js";
import { hasBody } from "./request-body.js";

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

/** The server settings fastify hands a `serverFactory` (its options, defaults applied). */
interface FastifyServerTimeouts {
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly connectionTimeout: number;
}

/** Paths fastify answers itself (`health.ts`). */
const OWN_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

/**
 * Does the proxy handler take this request straight from the server? A bodiless GET or HEAD of an
 * origin-form target (what the MP is asked nearly always) that is not one of the gateway's own paths.
 * Anything else goes through fastify: bodies (forms are read there), other methods, other target forms.
 */
function isDirect(req: IncomingMessage): boolean {
  const method = req.method;
  if (method !== "GET" && method !== "HEAD") return false;
  const url = req.url!;
  if (url.charCodeAt(0) !== 0x2f || hasBody(req)) return false;
  const q = url.indexOf("?");
  return !OWN_PATHS.has(q === -1 ? url : url.slice(0, q));
}

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
  const proxy = createProxyHandler({
    authenticator,
    upstream,
    log: logger,
    ...(deps.onOutcome ? { onOutcome: deps.onOutcome } : {}),
  });
  let closing = false;
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
    // The server is made here so a bodiless GET/HEAD reaches the proxy handler without fastify's routing and
    // reply; while closing, every request goes to fastify, which answers 503 (return503OnClosing).
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void, opts: FastifyServerTimeouts) => {
      const onRequest = (req: IncomingMessage, res: ServerResponse) => {
        if (!closing && isDirect(req)) void proxy(req, res, { id: randomUUID() });
        else handler(req, res);
      };
      const server = deps.tls
        ? createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key, ...serverOptions }, onRequest)
        : createHttpServer(serverOptions, onRequest);
      // What fastify sets on a server it makes itself (its defaults: idle keep-alive 72 s, no overall request
      // deadline: uploads are bounded by the body watch instead).
      server.keepAliveTimeout = opts.keepAliveTimeout;
      server.requestTimeout = opts.requestTimeout;
      server.setTimeout(opts.connectionTimeout);
      return server;
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.server.maxConnections = listen.maxConnections;

  registerHealthRoutes(app, deps.readiness);

  // `/CCM_Proxy_ServerAuth/AADAuthInfo` (any case) is answered by the proxy handler (cmg-path.ts).
  registerProxyRoute(app, proxy);

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
