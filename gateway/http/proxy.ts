/**
 * The leg to the management point (docs/architecture.md § Proxy): one long-lived undici `Pool` per MP origin, keep-alive,
 * HTTPS with the pinned CA and the gateway's client certificate (mTLS), bodies streamed both ways. Upstream
 * failures are matched on `err.code` and become 502 (unreachable or aborted mid-body) or 504 (timeout), never
 * 500; a request that finds no free connection in time (`admission.ts`) becomes 503 with `Retry-After`.
 */
import type { Readable } from "node:stream";
import { createSecureContext } from "node:tls";
import { type Dispatcher, Pool, errors as undiciErrors } from "undici";
import type { Upstream } from "../config/types.js";
import { type AdmissionClass, createAdmission } from "./admission.js";

/** Why the upstream leg failed, and what the client is told. */
export const UPSTREAM_FAILURES = {
  upstream_unreachable: { status: 502, message: "The management point could not be reached.", retryAfterSec: 0 },
  upstream_aborted: { status: 502, message: "The management point's answer broke off.", retryAfterSec: 0 },
  upstream_timeout: { status: 504, message: "The management point did not answer in time.", retryAfterSec: 0 },
  upstream_busy: { status: 503, message: "Every connection to the management point is busy.", retryAfterSec: 1 },
} as const;

/** An upstream failure code (a key of {@link UPSTREAM_FAILURES}). */
export type UpstreamFailureCode = keyof typeof UPSTREAM_FAILURES;

/** A coded upstream failure; `cause` keeps undici's error for the log. */
export class UpstreamFailure extends Error {
  readonly code: UpstreamFailureCode;
  constructor(code: UpstreamFailureCode, cause: unknown) {
    super(UPSTREAM_FAILURES[code].message, { cause });
    this.code = code;
  }
  get status(): number {
    return UPSTREAM_FAILURES[this.code].status;
  }
}

const TIMEOUT_CODES = new Set([
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "ETIMEDOUT",
]);

/** Classifies an error from undici: timeouts → `upstream_timeout`, everything else → `upstream_unreachable`. */
export function classifyUpstreamError(err: unknown): UpstreamFailureCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && TIMEOUT_CODES.has(code)) return "upstream_timeout";
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
    return "upstream_timeout";
  return "upstream_unreachable";
}

/** One request towards the MP. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query, exactly as received. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  /** The client's body stream, or null when the request has none. */
  readonly body: Readable | null;
  /** Aborts the upstream request (client went away). */
  readonly signal?: AbortSignal;
  /** Takes a slot of this class (`admission.ts`); without it the request bypasses admission (health probe). */
  readonly admission?: AdmissionClass;
}

/** The MP's answer; `body` streams (or is read whole with its `arrayBuffer()`). */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Dispatcher.ResponseData["body"];
}

/** Pool statistics, for gauges. */
export interface UpstreamStats {
  readonly connected: number;
  readonly free: number;
  readonly pending: number;
  readonly running: number;
  readonly size: number;
  /** Admission: slots in use (all, and by anonymous/passthrough requests) and requests waiting for one. */
  readonly admitted: number;
  readonly admittedUnauthenticated: number;
  readonly queued: number;
}

/** The upstream leg. */
export interface UpstreamClient {
  /** `host:port` of the MP origin (the `Host` header sent upstream). */
  readonly host: string;
  /** @throws UpstreamFailure */
  forward(request: UpstreamRequest): Promise<UpstreamResponse>;
  stats(): UpstreamStats;
  /** Waits for in-flight requests, then closes the connections. */
  close(): Promise<void>;
  /** Closes every connection now, failing what is in flight (the end of a drain deadline). */
  destroy(): Promise<void>;
}

/** Creates the pool for `upstream`. */
export function createUpstreamClient(upstream: Upstream): UpstreamClient {
  const origin = new URL(upstream.url);
  const pool = new Pool(origin.origin, {
    connections: upstream.connections,
    pipelining: 1,
    keepAliveTimeout: upstream.keepAliveTimeoutMs,
    headersTimeout: upstream.headersTimeoutMs,
    bodyTimeout: upstream.bodyTimeoutMs,
    connect: {
      timeout: upstream.connectTimeoutMs,
      // One TLS context for every connection: the CA, certificate and key are parsed once, not per connect.
      secureContext: createSecureContext({
        ...(upstream.ca !== undefined ? { ca: upstream.ca } : {}),
        ...(upstream.clientCert !== undefined ? { cert: upstream.clientCert } : {}),
        ...(upstream.clientKey !== undefined ? { key: upstream.clientKey.reveal() } : {}),
      }),
    },
  });
  const basePath = origin.pathname.replace(/\/+$/, "");
  const admission = createAdmission({
    limit: upstream.connections,
    unauthenticatedLimit: upstream.unauthenticatedConnections,
    queueTimeoutMs: upstream.queueTimeoutMs,
    maxQueued: upstream.maxQueuedRequests,
  });
  const busy = () => new UpstreamFailure("upstream_busy", new Error("no upstream connection free in time"));
  return {
    host: origin.host,
    async forward(request) {
      let release: (() => void) | undefined;
      if (request.admission !== undefined) {
        const slot = admission.acquire(request.admission);
        release = slot instanceof Promise ? await slot : slot;
        if (release === undefined) throw busy();
      }
      try {
        const res = await pool.request({
          method: request.method as "GET",
          path: basePath + request.path,
          headers: request.headers,
          body: request.body,
          ...(request.signal ? { signal: request.signal } : {}),
        });
        // The slot is held until the answer's body is done with: read, streamed out, or broken off.
        if (release !== undefined) res.body.once("close", release);
        return { status: res.statusCode, headers: res.headers, body: res.body };
      } catch (err) {
        release?.();
        throw new UpstreamFailure(classifyUpstreamError(err), err);
      }
    },
    stats() {
      const s = pool.stats;
      const a = admission.stats();
      return {
        connected: s.connected,
        free: s.free,
        pending: s.pending,
        running: s.running,
        size: s.size,
        admitted: a.active,
        admittedUnauthenticated: a.activeUnauthenticated,
        queued: a.queued,
      };
    },
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}

/** Every management point's pool: the configured upstream's, plus one per other MP origin a CMG ID maps to. */
export interface Upstreams extends UpstreamClient {
  /**
   * The pool for `url`: the configured upstream's when it is that URL, otherwise one made on first use with
   * the same TLS material, timeouts and limits. `close`/`destroy` cover every pool made here, so the drain
   * deadline reaches them all; `stats` are the configured upstream's.
   */
  forOrigin(url: string): UpstreamClient;
}

/** Creates the configured upstream's pool and the set the other management points' pools join. */
export function createUpstreams(upstream: Upstream): Upstreams {
  const main = createUpstreamClient(upstream);
  const others = new Map<string, UpstreamClient>();
  const all = () => [main, ...others.values()];
  return {
    ...main,
    forOrigin(url) {
      if (url === upstream.url) return main;
      let client = others.get(url);
      if (client === undefined) {
        client = createUpstreamClient({ ...upstream, url });
        others.set(url, client);
      }
      return client;
    },
    async close() {
      await Promise.all(all().map((c) => c.close()));
    },
    async destroy() {
      await Promise.all(all().map((c) => c.destroy()));
    },
  };
}
