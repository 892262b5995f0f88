/**
 * The main listener: starts and stops a gateway: the JWKS cache, the authenticator, the upstream pool and the HTTPS listener,
 * wired from one validated configuration. The runtime (`gateway/runtime/`) starts one per serving process; tests start it directly.
 *
 * @example
 * const gw = await startGateway({ config });
 * console.log(gw.url);
 * await gw.stop(); // drains in-flight requests, then closes the pool
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { type Authenticator, createAuthenticator } from "../auth/authenticate.js";
import type { Clock } from "../auth/clock.js";
import { createFetchingJwksStore } from "../auth/keys/fetching-store.js";
import type { JwksFetchEvent, JwksFetcher, JwksStore } from "../auth/keys/jwks-store.js";
import type { GatewayConfig } from "../config/types.js";
import { createLogger, logJwksFetch } from "../observability/logger.js";
import { buildGateway } from "./app.js";
import { createReadinessCheck, type ReadinessCheck } from "./health.js";
import { listenerTls, listeningUrl } from "./listener.js";
import { createUpstreams, type Upstreams } from "./proxy.js";
import type { RequestOutcome } from "./proxy-route.js";

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  readonly config: GatewayConfig;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Replaces the HTTPS JWKS fetcher (tests). */
  readonly fetcher?: JwksFetcher;
  /**
   * Key sets from elsewhere instead of fetching them here (a cluster worker's replica of the primary's store);
   * `fetcher` and `onJwksFetch` are then unused. Closed with the gateway.
   */
  readonly keys?: JwksStore;
  /** Overrides `listen.host` / `listen.port` (tests bind 127.0.0.1:0). */
  readonly host?: string;
  readonly port?: number;
  /** Wait for every key set's first fetch before listening; default true. */
  readonly waitForKeys?: boolean;
  readonly onOutcome?: (outcome: RequestOutcome) => void;
  readonly onJwksFetch?: (event: JwksFetchEvent) => void;
  /** `now - iat` of each newly verified token (metrics). */
  readonly onVerified?: (tenantId: string, issuedAgoSec: number) => void;
}

/** A running gateway. */
export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly authenticator: Authenticator;
  readonly keys: JwksStore;
  readonly upstream: Upstreams;
  readonly logger: Logger;
  /** This process's readiness with its details (the admin listener shows them; `/readyz` only the verdict). */
  readonly readiness: ReadinessCheck;
  /**
   * Stops accepting and drains in-flight requests for up to `listen.drainTimeoutMs`; then closes every
   * connection still open (a half-sent request, a download that has not finished), the pool and the key cache.
   */
  stop(): Promise<void>;
}

/** Starts a gateway from a validated configuration. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger();
  const logFetch = logJwksFetch(logger);
  const fetching =
    options.keys === undefined
      ? createFetchingJwksStore({
          environments: config.environments,
          settings: config.auth.jwks,
          clock: options.clock,
          fetcher: options.fetcher,
          onFetch: (event) => {
            options.onJwksFetch?.(event);
            logFetch(event);
          },
          onDiskError: (setId, error) => logger.warn({ setId, err: error.message }, "jwks disk copy not written"),
        })
      : undefined;
  const keys = options.keys ?? fetching!.store;
  const authenticator = createAuthenticator({
    config,
    keys,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onVerified ? { onVerified: options.onVerified } : {}),
  });
  const upstream = createUpstreams(config.upstream);
  const listen = config.listen;
  const tls = listenerTls(listen);
  if (!tls) logger.warn("listen.certFile/keyFile not set: serving plain HTTP (only behind a TLS-terminating proxy)");
  const readiness = createReadinessCheck(authenticator, upstream);
  const app = buildGateway({
    authenticator,
    upstream,
    logger,
    readiness,
    tls,
    ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
  });
  if (options.waitForKeys ?? true) await keys.whenSettled();
  await app.listen({ host: options.host ?? listen.host, port: options.port ?? listen.port });
  const { url, port } = listeningUrl(app.server, tls !== undefined);
  logger.info({ url, tenants: authenticator.tenants.tenants.length }, "gateway listening");
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    authenticator,
    keys,
    upstream,
    logger,
    readiness,
    stop() {
      stopped ??= (async () => {
        // Drain: new requests get 503 (return503OnClosing), in-flight ones finish. A keep-alive connection
        // whose request finishes after close() began would stay open until the client drops it, so idle
        // connections are closed as they appear until the listener is gone.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        // The deadline: whatever is still open then (a client that never finishes its header, a download
        // that has not ended) is closed, so a rolling restart never waits for a client.
        let expired = false;
        const deadline = setTimeout(() => {
          expired = true;
          logger.warn(
            { drainTimeoutMs: config.listen.drainTimeoutMs },
            "drain deadline reached: closing the connections still open",
          );
          app.server.closeAllConnections();
          void upstream.destroy().catch(() => undefined);
        }, config.listen.drainTimeoutMs);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        // Past the deadline (or reaching it meanwhile) the pool is destroyed instead: never an error out of stop().
        await (expired ? upstream.destroy() : upstream.close()).catch(() => undefined);
        clearTimeout(deadline);
        keys.close();
        await fetching?.close();
      })();
      return stopped;
    },
  };
}
