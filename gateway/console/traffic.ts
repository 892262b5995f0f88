/**
 * The console's live traffic: the metrics the metrics listener serves (`registry.metrics()`, or in a cluster
 * the primary's aggregation of every worker's) sampled every few seconds into a small ring, and turned into
 * rates and percentiles between consecutive samples — requests per second, refusals per second and by reason,
 * p50/p99 of authentication and of the upstream — for the last few minutes.
 *
 * Percentiles are read from the histograms' bucket counts as Prometheus' `histogram_quantile` does: linear
 * within the bucket that holds the rank, so they are as coarse as the buckets (docs/operations.md § Metrics).
 */

/** Cumulative bucket counts of one histogram, summed over its label sets; `le` ascending, +Inf last. */
interface Buckets {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

/** What one scrape says, reduced to what the console shows. */
export interface TrafficSample {
  /** Unix milliseconds. */
  readonly at: number;
  /** `entra_gateway_requests_total` + `entra_gateway_aadauthinfo_requests_total`. */
  readonly requests: number;
  /** `entra_gateway_requests_total{outcome="rejected"}` by reason. */
  readonly refusals: ReadonlyMap<string, number>;
  readonly auth: Buckets;
  readonly upstream: Buckets;
}

/** One interval between two samples. */
export interface TrafficPoint {
  /** End of the interval, Unix milliseconds. */
  readonly at: number;
  readonly requestsPerSec: number;
  readonly refusalsPerSec: number;
  /** Seconds; undefined when nothing was observed in the interval. */
  readonly authP50: number | undefined;
  readonly authP99: number | undefined;
  readonly upstreamP50: number | undefined;
  readonly upstreamP99: number | undefined;
}

/** The last few minutes of traffic. */
export interface TrafficView {
  /** The window shown, milliseconds. */
  readonly windowMs: number;
  readonly points: readonly TrafficPoint[];
  /** Refusals by reason within the window, most first. */
  readonly refusalsByReason: readonly { readonly reason: string; readonly count: number }[];
}

const REQUESTS = "entra_gateway_requests_total";
const AADAUTHINFO = "entra_gateway_aadauthinfo_requests_total";
const AUTH_BUCKET = "entra_gateway_auth_duration_seconds_bucket";
const UPSTREAM_BUCKET = "entra_gateway_upstream_duration_seconds_bucket";

/** The labels of a series line (`name{a="x",b="y"} value`); escapes as the text format defines them. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

function addBucket(into: Map<number, number>, le: string | undefined, value: number): void {
  if (le === undefined) return;
  const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
  if (Number.isNaN(bound)) return;
  into.set(bound, (into.get(bound) ?? 0) + value);
}

function toBuckets(byBound: Map<number, number>): Buckets {
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((b) => byBound.get(b)!) };
}

/**
 * Reduces a Prometheus text exposition to a {@link TrafficSample}.
 *
 * @param text what the metrics listener answers
 * @param at when it was scraped
 */
export function sampleFromExposition(text: string, at: number): TrafficSample {
  let requests = 0;
  const refusals = new Map<string, number>();
  const auth = new Map<number, number>();
  const upstream = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("entra_gateway_")) continue;
    const open = line.indexOf("{");
    const close = line.lastIndexOf("}");
    const space = line.lastIndexOf(" ");
    const name = open === -1 ? line.slice(0, line.indexOf(" ")) : line.slice(0, open);
    if (name !== REQUESTS && name !== AADAUTHINFO && name !== AUTH_BUCKET && name !== UPSTREAM_BUCKET) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value)) continue;
    const labels = open === -1 ? {} : parseLabels(line.slice(open + 1, close));
    if (name === REQUESTS) {
      requests += value;
      if (labels.outcome === "rejected") {
        const reason = labels.reason ?? "unknown";
        refusals.set(reason, (refusals.get(reason) ?? 0) + value);
      }
    } else if (name === AADAUTHINFO) {
      requests += value;
    } else {
      addBucket(name === AUTH_BUCKET ? auth : upstream, labels.le, value);
    }
  }
  return { at, requests, refusals, auth: toBuckets(auth), upstream: toBuckets(upstream) };
}

/**
 * The `q` quantile of the observations between two cumulative histograms, interpolated within its bucket
 * (Prometheus' `histogram_quantile`); undefined when nothing was observed.
 */
export function quantileBetween(before: Buckets, after: Buckets, q: number): number | undefined {
  const prior = new Map(before.bounds.map((b, i) => [b, before.counts[i]!]));
  const deltas = after.bounds.map((b, i) => Math.max(0, after.counts[i]! - (prior.get(b) ?? 0)));
  const total = deltas.at(-1) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < deltas.length; i++) {
    if (deltas[i]! < rank) continue;
    const upper = after.bounds[i]!;
    const lower = i === 0 ? 0 : after.bounds[i - 1]!;
    // Above the last finite bound there is nothing to interpolate to: report that bound.
    if (upper === Number.POSITIVE_INFINITY) return lower;
    const below = i === 0 ? 0 : deltas[i - 1]!;
    const inBucket = deltas[i]! - below;
    return inBucket <= 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
  }
  return undefined;
}

/** A counter's increase; a decrease means the source restarted (a replaced worker): count from zero. */
function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}

/**
 * The intervals and per-reason totals of a run of samples, oldest first.
 *
 * @param samples consecutive samples, oldest first
 * @param windowMs the window they cover (for the view)
 */
export function trafficView(samples: readonly TrafficSample[], windowMs: number): TrafficView {
  const points: TrafficPoint[] = [];
  const byReason = new Map<string, number>();
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const seconds = (b.at - a.at) / 1000;
    if (seconds <= 0) continue;
    let refused = 0;
    for (const [reason, count] of b.refusals) {
      const n = increase(a.refusals.get(reason) ?? 0, count);
      refused += n;
      if (n > 0) byReason.set(reason, (byReason.get(reason) ?? 0) + n);
    }
    points.push({
      at: b.at,
      requestsPerSec: increase(a.requests, b.requests) / seconds,
      refusalsPerSec: refused / seconds,
      authP50: quantileBetween(a.auth, b.auth, 0.5),
      authP99: quantileBetween(a.auth, b.auth, 0.99),
      upstreamP50: quantileBetween(a.upstream, b.upstream, 0.5),
      upstreamP99: quantileBetween(a.upstream, b.upstream, 0.99),
    });
  }
  const refusalsByReason = [...byReason]
    .map(([reason, count]) => ({ reason, count }))
    .sort((x, y) => y.count - x.count || x.reason.localeCompare(y.reason));
  return { windowMs, points, refusalsByReason };
}

/** Options of {@link startTrafficSampler}. */
export interface TrafficSamplerOptions {
  /** The metrics text, as the metrics listener renders it. */
  readonly read: () => Promise<string>;
  /** Between samples; default 5 s. */
  readonly intervalMs?: number;
  /** How far back the view reaches; default 5 minutes. */
  readonly windowMs?: number;
  readonly now?: () => number;
  /** Told when a scrape fails (the sampler keeps going). */
  readonly onError?: (err: Error) => void;
  /**
   * Settles when what is sampled is up (a cluster's workers listen): one sample is taken then, the baseline
   * the first interval is measured from, so the view has an interval one `intervalMs` later instead of two.
   */
  readonly baseline?: PromiseLike<unknown>;
}

/** A running sampler. */
export interface TrafficSampler {
  /** The last `windowMs` of traffic. */
  view(): TrafficView;
  /** Takes one sample now (the timer calls it; tests too). */
  sample(): Promise<void>;
  stop(): void;
}

/**
 * Samples the metrics every `intervalMs` (the first time one interval after start, or when `baseline` settles) into a ring of `windowMs / intervalMs + 1` samples. The timer does not
 * keep the process alive.
 *
 * @example
 * const traffic = startTrafficSampler({ read: () => registry.metrics() });
 * traffic.view().points.at(-1)?.requestsPerSec;
 */
export function startTrafficSampler(options: TrafficSamplerOptions): TrafficSampler {
  const intervalMs = options.intervalMs ?? 5_000;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const capacity = Math.ceil(windowMs / intervalMs) + 1;
  const ring: TrafficSample[] = [];
  let inFlight: Promise<void> | undefined;
  const sample = () => {
    // One scrape at a time: a slow aggregation over many workers must not pile up.
    inFlight ??= options
      .read()
      .then(
        (text) => {
          ring.push(sampleFromExposition(text, now()));
          if (ring.length > capacity) ring.shift();
        },
        (err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  // The first timed sample one interval after start, not at once: a cluster's workers are still starting
  // then, and the aggregation would time out waiting for them; `baseline` says when they are up.
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  let stopped = false;
  void options.baseline?.then(
    () => {
      if (!stopped && ring.length === 0) void sample();
    },
    () => undefined,
  );
  return {
    view: () => trafficView(ring, windowMs),
    sample,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
