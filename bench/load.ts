/**
 * One load run: with wrk (`bench/wrk.ts`) when it is installed and the run has a duration, with autocannon
 * otherwise (a fixed number of requests, or no wrk: a warning says so once). autocannon runs take a fresh
 * credential per request from a token source and record exact latencies (autocannon's own histogram has
 * 1 ms resolution; the bench records every response time itself, in microseconds, whatever its status).
 */
import autocannon, { type AutocannonRequest } from "autocannon";
import { Pool } from "undici";
import { type BenchProcess, startCpuMeter } from "./processes.js";
import { runWrk, WRK_MISSING, wrkAvailable } from "./wrk.js";

/** Where the next credential comes from. */
export interface TokenSource {
  next(): string;
  /** The pool behind the source, for wrk (which reads tokens from a file); both advance the same cursor. */
  readonly pool?: TokenPool;
}

/** A fixed list of tokens and the place the next run starts from. */
export interface TokenPool {
  readonly tokens: readonly string[];
  /** Requests sent from this pool so far: every run (warm-up included) moves it on. */
  readonly cursor: { value: number };
  /** true: each token at most once (cold); false: cycle. */
  readonly once: boolean;
  /**
   * 1-based character of each token where wrk writes 6 base64url digits of the request number: distinct
   * tokens from a few templates (a forged signature that is never the same twice).
   */
  readonly stampAt?: number;
}

/** A source cycling through a fixed pool (optionally from a shared cursor, so a pool is consumed once). */
export function cyclingSource(pool: readonly string[], cursor?: { value: number }): TokenSource {
  const c = cursor ?? { value: 0 };
  return {
    next() {
      const token = pool[c.value % pool.length]!;
      c.value++;
      return token;
    },
    pool: { tokens: pool, cursor: c, once: false },
  };
}

/** A source handing out each token of `pool` once, from a cursor shared by every run against one server. */
export function onceSource(
  pool: readonly string[],
  cursor: { value: number },
): TokenSource & { readonly pool: TokenPool; wrapped(): boolean } {
  let wrapped = false;
  return {
    next() {
      if (cursor.value >= pool.length) wrapped = true;
      return pool[cursor.value++ % pool.length]!;
    },
    pool: { tokens: pool, cursor, once: true },
    wrapped: () => wrapped,
  };
}

/** Which load generator runs: `wrk` when installed (unless `BENCH_GENERATOR=autocannon`), else autocannon. */
export function loadGenerator(): "wrk" | "autocannon" {
  return process.env.BENCH_GENERATOR !== "autocannon" && wrkAvailable() ? "wrk" : "autocannon";
}

let warned = false;

/** Runs one load: wrk for timed runs of a pooled source when installed, autocannon otherwise. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const pool = spec.tokens.pool;
  if (spec.amount === undefined && spec.rate === undefined && pool !== undefined) {
    if (loadGenerator() === "wrk") return runWrk({ ...spec, durationSec: spec.durationSec ?? 10 }, pool);
    if (!warned && !wrkAvailable()) {
      warned = true;
      process.stderr.write(`${WRK_MISSING}\n`);
    }
  }
  return runAutocannon(spec);
}

/** What to run. */
export interface LoadSpec {
  /** Origin, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly path: string;
  readonly connections: number;
  readonly durationSec?: number;
  /** Stop after this many requests instead of a duration. */
  readonly amount?: number;
  /** Offered load in requests per second (all connections together); unset: as fast as possible. */
  readonly rate?: number;
  readonly tokens: TokenSource;
  /** Statuses that count as the expected answer (others count as errors). */
  readonly expected: readonly number[];
  /** Processes whose CPU time is attributed to this run (the server under test, the MP). */
  readonly observe?: { readonly server?: readonly BenchProcess[]; readonly upstream?: BenchProcess | undefined };
}

/** What one run measured. */
export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Unexpected statuses, socket errors and timeouts. */
  readonly errors: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Response bytes (headers and body) per second. */
  readonly bytesPerSec: number;
  /** CPU seconds of the server process(es) during the run. */
  readonly serverCpuSec: number;
  readonly upstreamCpuSec: number;
  /** CPU seconds of the load generator (this process, emulator included). */
  readonly clientCpuSec: number;
  /** Every latency in ms (kept for pooling percentiles across rounds). */
  readonly latenciesMs: Float64Array;
  /** The server's resident set at the end of the run (bytes), when the bench looked. */
  readonly serverRssBytes?: number;
  /** Verified-cache hits and misses the gateway counted during the run (its metrics), when it has them. */
  readonly cacheHits?: number;
  readonly cacheMisses?: number;
  /** A once-only pool ran out and started over (some "cold" requests were repeats). */
  readonly wrapped?: boolean;
}

/** Percentile (nearest rank) of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs autocannon once. */
export function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const spent = startCpuMeter(spec.observe?.server ?? [], spec.observe?.upstream);
  const started = performance.now();
  let latencies = new Float64Array(65_536);
  let count = 0;
  let bytes = 0;
  const statuses: Record<string, number> = {};
  const expected = new Set(spec.expected);
  let unexpected = 0;
  const request: AutocannonRequest = {
    method: "GET",
    path: spec.path,
    setupRequest(req) {
      req.headers = { authorization: `Bearer ${spec.tokens.next()}` };
      return req;
    },
  };
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        timeout: 10,
        requests: [request],
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.durationSec ?? 10 }),
        ...(spec.rate !== undefined ? { overallRate: spec.rate } : {}),
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        const seconds = (performance.now() - started) / 1000;
        const sorted = latencies.slice(0, count).sort();
        resolve({
          requests: count,
          seconds,
          rps: count / seconds,
          p50Ms: percentile(sorted, 50),
          p90Ms: percentile(sorted, 90),
          p99Ms: percentile(sorted, 99),
          errors: unexpected + result.errors + result.timeouts,
          statuses,
          bytesPerSec: bytes / seconds,
          ...spent(),
          latenciesMs: sorted,
        });
      },
    );
    instance.on("response", (_client: unknown, status: number, resBytes: number, responseTimeMs: number) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTimeMs;
      bytes += resBytes;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!expected.has(status)) unexpected++;
    });
  });
}

/** What {@link runPaced} runs: a constant arrival rate, not a closed loop. */
export interface PacedSpec {
  readonly url: string;
  readonly path: string;
  /** Requests per second, spread evenly (1 ms ticks), whatever the answers' speed (open loop). */
  readonly rate: number;
  readonly durationSec: number;
  readonly tokens: TokenSource;
  readonly expected: readonly number[];
  /** Connections the requests may use (enough that the client never becomes the queue). */
  readonly connections?: number;
  /** Seconds at the start not measured (new connections, TLS handshakes upstream); default 1. */
  readonly settleSec?: number;
}

/**
 * Latency at a fixed offered load. autocannon's `overallRate` sends each second's quota in a burst at the
 * start of the second, which measures its own queueing; this paces requests evenly and times each one from
 * its scheduled start (so a stall delays and counts every request behind it: no coordinated omission).
 */
export async function runPaced(spec: PacedSpec): Promise<LoadResult> {
  const pool = new Pool(spec.url, { connections: spec.connections ?? 64, pipelining: 1 });
  const expected = new Set(spec.expected);
  const skipped = Math.round(spec.rate * (spec.settleSec ?? 1));
  const total = skipped + Math.round(spec.rate * spec.durationSec);
  const latencies = new Float64Array(total);
  let measured = 0;
  let measuredFrom = 0;
  const statuses: Record<string, number> = {};
  let done = 0;
  let errors = 0;
  let bytes = 0;
  const self0 = process.cpuUsage();
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  const fire = (scheduledAt: number, index: number) =>
    pool
      .request({
        method: "GET",
        path: spec.path,
        headers: { authorization: `Bearer ${spec.tokens.next()}` },
      })
      .then(async (res) => {
        const body = await res.body.arrayBuffer();
        if (index < skipped) return;
        bytes += body.byteLength;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (!expected.has(res.statusCode)) errors++;
      })
      .catch(() => {
        if (index >= skipped) errors++;
      })
      .finally(() => {
        if (index < skipped) return;
        latencies[measured++] = performance.now() - scheduledAt;
        done++;
      });
  let sent = 0;
  await new Promise<void>((resolveTicks) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * spec.rate));
      if (sent < skipped && due >= skipped) measuredFrom = performance.now();
      while (sent < due) {
        const scheduledAt = started + (sent / spec.rate) * 1000;
        inflight.push(fire(scheduledAt, sent));
        sent++;
      }
      if (sent >= total) resolveTicks();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  const seconds = (performance.now() - (measuredFrom || started)) / 1000;
  await pool.close();
  const sorted = latencies.slice(0, done).sort();
  const self = process.cpuUsage(self0);
  return {
    requests: done,
    seconds,
    rps: done / seconds,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    errors,
    statuses,
    bytesPerSec: bytes / seconds,
    serverCpuSec: 0,
    upstreamCpuSec: 0,
    clientCpuSec: (self.user + self.system) / 1e6,
    latenciesMs: sorted,
  };
}
