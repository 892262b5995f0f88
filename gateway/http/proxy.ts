/**
 * The leg to the management point (docs/architecture.md § Proxy): one long-lived undici `Pool` per MP origin, keep-alive,
 * HTTPS with the pinned CA and the gateway's client certificate (mTLS), bodies streamed both ways. Upstream
 * failures are matched on `err.code` and become 502 (unreachable or aborted mid-body) or 504 (timeout), never
 * 500; a request that finds no free connection in time (`admission.ts`) becomes 503 with `Retry-After`.
 */
import { Readable } from "node:stream";
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
  /**
   * An answer that declares a length up to this many bytes is read whole before `forward` resolves (a body
   * that breaks off is then an `upstream_aborted` failure, before anything is answered); default 0: every
   * answer streams.
   */
  readonly bufferUpTo?: number;
}

/** The MP's answer: its body read whole (a declared length within `bufferUpTo`), or a stream. */
export interface UpstreamResponse {
  readonly status: number;
  /** Lower-case names; a repeated field is an array. */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer | Readable;
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
    forward(request) {
      // Not an async function: a free slot (the common case) costs no extra promise hop.
      if (request.admission === undefined) return exchange(pool, request, basePath, undefined);
      const slot = admission.acquire(request.admission);
      if (slot instanceof Promise) {
        return slot.then((release) =>
          release === undefined ? Promise.reject(busy()) : exchange(pool, request, basePath, release),
        );
      }
      return slot === undefined ? Promise.reject(busy()) : exchange(pool, request, basePath, slot);
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

/** Streamed answers buffer up to this much before the MP is paused (undici's own default). */
const STREAM_HIGH_WATER_MARK = 64 * 1024;

/**
 * One request on `pool` through undici's dispatcher interface rather than `pool.request()`: a small answer is
 * gathered straight from the parser's chunks (no response stream, no async resource, no body mixin), which
 * is most of what the MP answers; anything else becomes a stream with backpressure (the parser pauses while
 * the client is slower than the MP). `release` (the admission slot) is called once the body is done with.
 * Fails with an {@link UpstreamFailure}.
 */
function exchange(
  pool: Pool,
  request: UpstreamRequest,
  basePath: string,
  release: (() => void) | undefined,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const bufferUpTo = request.bufferUpTo ?? 0;
    const signal = request.signal;
    let abort: ((reason: Error) => void) | undefined;
    let aborted: Error | undefined;
    let done = false;
    let status = 0;
    let headers: Record<string, string | string[]> | undefined;
    let stream: Readable | undefined;
    let chunks: Buffer[] | undefined;
    let received = 0;
    const onAbort = () => {
      aborted = (signal?.reason as Error | undefined) ?? new undiciErrors.RequestAbortedError();
      if (stream !== undefined) stream.destroy(aborted);
      else abort?.(aborted);
    };
    const finish = () => {
      done = true;
      signal?.removeEventListener("abort", onAbort);
    };
    if (signal !== undefined) {
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortRequest) {
        if (aborted !== undefined) abortRequest(aborted);
        else abort = abortRequest;
      },
      onHeaders(statusCode, rawHeaders, resume) {
        if (statusCode < 200) return true; // 1xx: informational, not forwarded
        status = statusCode;
        headers = parseRawHeaders(rawHeaders as unknown as Buffer[]);
        const length = headers["content-length"];
        if (typeof length === "string" && Number(length) <= bufferUpTo) {
          chunks = [];
          return true;
        }
        stream = new Readable({
          highWaterMark: STREAM_HIGH_WATER_MARK,
          read: () => resume(),
          destroy: (err, callback) => {
            // Dropped before its end (the client went away): the upstream request is aborted too.
            if (!done) abort?.(err ?? new undiciErrors.RequestAbortedError());
            callback(err);
          },
        });
        if (release !== undefined) stream.once("close", release);
        resolve({ status, headers, body: stream });
        return true;
      },
      onData(chunk) {
        if (stream !== undefined) return stream.push(chunk);
        chunks!.push(chunk);
        received += chunk.length;
        return true;
      },
      onComplete() {
        finish();
        if (stream !== undefined) {
          stream.push(null);
          return;
        }
        release?.();
        resolve({
          status,
          headers: headers!,
          body: chunks!.length === 1 ? chunks![0]! : Buffer.concat(chunks!, received),
        });
      },
      onError(err) {
        finish();
        // The request body is undici's to stop (it does, without closing the client's socket under an
        // IncomingMessage, so the client still gets its answer).
        if (stream !== undefined) {
          stream.destroy(err);
          return;
        }
        release?.();
        // The head arrived but the body broke off: nothing has been answered yet.
        if (chunks !== undefined) reject(new UpstreamFailure("upstream_aborted", err));
        else reject(new UpstreamFailure(classifyUpstreamError(err), err));
      },
    };
    pool.dispatch(
      {
        method: request.method as Dispatcher.HttpMethod,
        path: basePath + request.path,
        headers: request.headers,
        body: request.body,
      },
      handler,
    );
  });
}

/** The answer's fields from the parser's raw list: names lower-cased, values as bytes (latin1). */
function parseRawHeaders(raw: readonly Buffer[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase();
    if (name === "__proto__") continue; // never a field a client needs; never a prototype to set
    const value = raw[i + 1]!.toString("latin1");
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (typeof seen === "string") out[name] = [seen, value];
    else seen.push(value);
  }
  return out;
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
