/**
 * The leg to the management point (docs/architecture.md § Proxy): one long-lived undici `Pool` per MP origin, keep-alive,
 * HTTPS with the pinned CA and the gateway's client certificate (mTLS), bodies streamed both ways. Upstream
 * failures are matched on `err.code` and become 502 (unreachable) or 504 (timeout), never 500.
 */
import type { Readable } from "node:stream";
import { createSecureContext } from "node:tls";
import { type Dispatcher, Pool, errors as undiciErrors } from "undici";
import type { Upstream } from "../config/validate.js";

/** Why the upstream leg failed, and what the client is told. */
export const UPSTREAM_FAILURES = {
  upstream_unreachable: { status: 502, message: "The management point could not be reached." },
  upstream_timeout: { status: 504, message: "The management point did not answer in time." },
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
  return {
    host: origin.host,
    async forward(request) {
      try {
        const res = await pool.request({
          method: request.method as "GET",
          path: basePath + request.path,
          headers: request.headers,
          body: request.body,
          ...(request.signal ? { signal: request.signal } : {}),
        });
        return { status: res.statusCode, headers: res.headers, body: res.body };
      } catch (err) {
        throw new UpstreamFailure(classifyUpstreamError(err), err);
      }
    },
    stats() {
      const s = pool.stats;
      return { connected: s.connected, free: s.free, pending: s.pending, running: s.running, size: s.size };
    },
    close: () => pool.close(),
  };
}
