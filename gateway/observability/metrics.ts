/**
 * The gateway's Prometheus metrics (docs/operations.md § Metrics), in two groups:
 *
 * - {@link createRequestMetrics}: what one serving process sees — requests, auth and upstream latency, JWKS
 *   fetches and key state, verdict caches, the upstream pool, token age at first verification, and the
 *   process itself (CPU, memory, event-loop lag: `process-metrics.ts`). In a
 *   `--workers N` cluster every worker has its own and the primary aggregates them (prom-client
 *   `AggregatorRegistry`); each metric names how it aggregates.
 * - {@link createControlMetrics}: what the process that owns the configuration sees — reloads, admin
 *   actions, tenant flags, secret expiry, workers.
 *
 * The hot path ({@link RequestMetrics.recordOutcome}) is plain arithmetic: per-request counters and
 * histograms accumulate in numbers and arrays reached through label sets bound once, and prom-client sees
 * them only at scrape time (a counter's `collect` adds what accrued; a batched histogram answers `get` from
 * its arrays). prom-client's own `inc`/`observe` build and hash a label object on every call, even through
 * a `labels()` child: ~1.5 µs a request for the three of them (docs/benchmarks.md).
 */
import { Counter, Gauge, type Metric, type Registry } from "prom-client";
import type { Authenticator } from "../auth/authenticate.js";
import type { JwksFetchEvent } from "../auth/keys/jwks-store.js";
import type { GatewayConfig } from "../config/types.js";
import type { UpstreamClient } from "../http/proxy.js";
import type { RequestOutcome } from "../http/proxy-route.js";
import { collectProcessMetrics } from "./process-metrics.js";
import { secretExpiryStatus } from "./secret-expiry.js";

/** Label value for "no reason" / "no tenant". */
const NONE = "none";

/** Metrics of one serving process. */
export interface RequestMetrics {
  readonly registry: Registry;
  /** Hot path: one call per request (the proxy route's `onOutcome`). */
  recordOutcome(outcome: RequestOutcome): void;
  /** One call per JWKS fetch attempt (the key store's `onFetch`). */
  recordJwksFetch(event: JwksFetchEvent): void;
  /** `now - iat` of a newly verified token (the authenticator's `onVerified`). */
  recordIssuedAge(tenantId: string, ageSec: number): void;
  /** Gives the scrape-time collectors their sources (keys, caches, pool). Call once the gateway runs. */
  attach(sources: { readonly authenticator: Authenticator; readonly upstream: UpstreamClient }): void;
}

/** A count accrued on the hot path, copied into its prom-client counter at scrape time. */
interface CounterCell {
  readonly labels: Record<string, string>;
  n: number;
  seen: number;
}

/** Adds what each cell accrued since the last scrape to `counter` (call from its `collect`). */
function flushCells(counter: Counter<string>, cells: Iterable<CounterCell>): void {
  for (const cell of cells) {
    if (cell.n === cell.seen) continue;
    counter.inc(cell.labels, cell.n - cell.seen);
    cell.seen = cell.n;
  }
}

/** One label set of a {@link createBatchedHistogram}. */
interface HistogramSeries {
  readonly labels: Record<string, string>;
  /** Per-bucket (non-cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram whose observations are an array increment: no label object, no hash, no
 * allocation. It registers itself as a prom-client metric and renders exactly what a prom-client
 * `Histogram` renders (same value objects, so cluster aggregation sums it like one).
 *
 * @returns `series(labels)`: the observe function of one label set, bound once
 */
function createBatchedHistogram(
  registry: Registry,
  spec: {
    readonly name: string;
    readonly help: string;
    readonly buckets: readonly number[];
    readonly labelNames: readonly string[];
  },
): (labels?: Record<string, string>) => (value: number) => void {
  const bounds = spec.buckets;
  const labelled = spec.labelNames.length > 0;
  const all: HistogramSeries[] = [];
  const newSeries = (labels: Record<string, string>): HistogramSeries => {
    const s = { labels, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
    all.push(s);
    return s;
  };
  // prom-client shows an unlabelled histogram from the start, a labelled one once a series is observed.
  if (!labelled) newSeries({});
  const metric = {
    name: spec.name,
    help: spec.help,
    type: "histogram",
    aggregator: "sum",
    // What prom-client's own metrics expose too (tools read a registry's label names from it).
    labelNames: spec.labelNames,
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const s of all) {
        if (labelled && s.count === 0) continue;
        let acc = 0;
        for (let i = 0; i < bounds.length; i++) {
          acc += s.counts[i]!;
          values.push({ labels: { le: bounds[i]!, ...s.labels }, value: acc, metricName: `${spec.name}_bucket` });
        }
        values.push(
          { labels: { le: "+Inf", ...s.labels }, value: s.count, metricName: `${spec.name}_bucket` },
          { labels: { ...s.labels }, value: s.sum, metricName: `${spec.name}_sum` },
          { labels: { ...s.labels }, value: s.count, metricName: `${spec.name}_count` },
        );
      }
      return { name: spec.name, help: spec.help, type: "histogram", values, aggregator: "sum" };
    },
    reset() {
      for (const s of all) {
        s.counts.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    },
  };
  registry.registerMetric(metric as unknown as Metric);
  return (labels = {}) => {
    const s = labelled ? newSeries(labels) : all[0]!;
    return (value: number) => {
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      s.counts[i]! += 1;
      s.sum += value;
      s.count += 1;
    };
  };
}

/** Caches label children in nested maps: after the first request of a combination, no allocation. */
function childCache3<T>(make: (a: string, b: string, c: string) => T) {
  const root = new Map<string, Map<string, Map<string, T>>>();
  return (a: string, b: string, c: string): T => {
    let l1 = root.get(a);
    if (l1 === undefined) {
      l1 = new Map();
      root.set(a, l1);
    }
    let l2 = l1.get(b);
    if (l2 === undefined) {
      l2 = new Map();
      l1.set(b, l2);
    }
    let child = l2.get(c);
    if (child === undefined) {
      child = make(a, b, c);
      l2.set(c, child);
    }
    return child;
  };
}

/**
 * `entra_gateway_jwks_fetches_total` on `registry`, in the process that fetches: the single process, or the
 * cluster primary (its workers fetch nothing, so the cluster's figure is the host's fetches, counted once).
 *
 * @param registry where the counter lives
 * @returns the recorder of one fetch attempt (the key store's `onFetch`)
 */
export function createJwksFetchCounter(registry: Registry): (event: JwksFetchEvent) => void {
  const counter = new Counter({
    name: "entra_gateway_jwks_fetches_total",
    help: "JWKS fetch attempts by tenant, token version, result (ok, error) and reason (boot, background, retry, unknown_kid, manual, disk); with workers, the primary's (the host's only fetcher)",
    labelNames: ["tenant", "version", "result", "reason"] as const,
    registers: [registry],
  });
  return (e) => counter.inc({ tenant: e.tenantId, version: `v${e.version}`, result: e.result, reason: e.reason });
}

/**
 * Creates the per-process metrics on `registry`.
 *
 * @param registry where the metrics live (one per gateway: tests run several in one process)
 * @param options `countsJwksFetches: false` in a cluster worker, whose keys the primary fetches (and counts)
 * @example
 * const metrics = createRequestMetrics(new Registry());
 * const gw = await startGateway({ config, onOutcome: metrics.recordOutcome, onJwksFetch: metrics.recordJwksFetch });
 * metrics.attach(gw);
 */
export function createRequestMetrics(
  registry: Registry,
  options: { readonly countsJwksFetches?: boolean } = {},
): RequestMetrics {
  collectProcessMetrics(registry);
  const registers = [registry];
  let sources: { authenticator: Authenticator; upstream: UpstreamClient } | undefined;

  const requestCells: CounterCell[] = [];
  new Counter({
    name: "entra_gateway_requests_total",
    help: "Requests by outcome (proxied, rejected, upstream_error, too_large, client_timeout), rejection or upstream reason, and tenant",
    labelNames: ["outcome", "reason", "tenant"] as const,
    registers,
    collect() {
      flushCells(this, requestCells);
    },
  });
  const authDuration = createBatchedHistogram(registry, {
    name: "entra_gateway_auth_duration_seconds",
    help: "Time spent authenticating a request (cache hits included), by result",
    buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
    labelNames: ["result"],
  });
  const observeUpstream = createBatchedHistogram(registry, {
    name: "entra_gateway_upstream_duration_seconds",
    help: "Time from sending a request to the management point to its response headers",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    labelNames: [],
  })();
  const statusCells = new Map<number, CounterCell>();
  new Counter({
    name: "entra_gateway_upstream_responses_total",
    help: "Responses of the management point by HTTP status",
    labelNames: ["status"] as const,
    registers,
    collect() {
      flushCells(this, statusCells.values());
    },
  });
  const recordJwksFetch = options.countsJwksFetches === false ? () => undefined : createJwksFetchCounter(registry);
  // Observed once per newly verified token (the cold path): batched like the request histograms.
  const observeIssuedAge = createBatchedHistogram(registry, {
    name: "entra_gateway_token_issued_age_seconds",
    help: "now - iat of each newly verified token (clock-skew telemetry; negative: the token is from the future)",
    buckets: [-300, -60, -10, -1, 0, 1, 10, 60, 300, 900, 1800, 3600, 7200, 86400],
    labelNames: [],
  })();

  // Scrape-time views of state the gateway keeps anyway.
  new Gauge({
    name: "entra_gateway_jwks_keys",
    help: "Signing keys held per tenant and token version (max across workers)",
    labelNames: ["tenant", "version"] as const,
    aggregator: "max",
    registers,
    collect() {
      this.reset();
      for (const s of sources?.authenticator.keys.statuses() ?? []) {
        this.set({ tenant: s.tenantId, version: `v${s.version}` }, s.keyCount);
      }
    },
  });
  new Gauge({
    name: "entra_gateway_jwks_key_state",
    help: "1 for the key set's current state (fresh, stale, unavailable); in a cluster, the number of workers in that state",
    labelNames: ["tenant", "version", "state"] as const,
    registers,
    collect() {
      this.reset();
      for (const s of sources?.authenticator.keys.statuses() ?? []) {
        for (const state of ["fresh", "stale", "unavailable"] as const) {
          this.set({ tenant: s.tenantId, version: `v${s.version}`, state }, s.state === state ? 1 : 0);
        }
      }
    },
  });
  new Gauge({
    name: "entra_gateway_jwks_key_age_seconds",
    help: "Seconds since the key set was last fetched successfully (max across workers)",
    labelNames: ["tenant", "version"] as const,
    aggregator: "max",
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const s of sources?.authenticator.keys.statuses() ?? []) {
        if (s.fetchedAtMs !== undefined) {
          this.set({ tenant: s.tenantId, version: `v${s.version}` }, Math.max(0, (now - s.fetchedAtMs) / 1000));
        }
      }
    },
  });

  // Cache counters live in the authenticator as plain numbers (no metric calls on the hot path); they are
  // copied into counters at scrape time by adding what accrued since the last scrape.
  const seen = { verifiedHits: 0, verifiedMisses: 0, negativeHits: 0, signatureChecks: 0 };
  const cacheHits = new Counter({
    name: "entra_gateway_cache_hits_total",
    help: "Verdict cache hits (verified: a cached accepted token; negative: a cached refusal)",
    labelNames: ["cache"] as const,
    registers,
    collect() {
      const c = sources?.authenticator.counters;
      if (c === undefined) return;
      this.inc({ cache: "verified" }, c.verifiedHits - seen.verifiedHits);
      this.inc({ cache: "negative" }, c.negativeHits - seen.negativeHits);
      seen.verifiedHits = c.verifiedHits;
      seen.negativeHits = c.negativeHits;
    },
  });
  cacheHits.inc({ cache: "verified" }, 0);
  cacheHits.inc({ cache: "negative" }, 0);
  new Counter({
    name: "entra_gateway_cache_misses_total",
    help: "Tokens not answered from the verified cache",
    labelNames: ["cache"] as const,
    registers,
    collect() {
      const c = sources?.authenticator.counters;
      if (c === undefined) return;
      this.inc({ cache: "verified" }, c.verifiedMisses - seen.verifiedMisses);
      seen.verifiedMisses = c.verifiedMisses;
    },
  }).inc({ cache: "verified" }, 0);
  new Counter({
    name: "entra_gateway_signature_checks_total",
    help: "RSA signature verifications performed",
    registers,
    collect() {
      const c = sources?.authenticator.counters;
      if (c === undefined) return;
      this.inc(c.signatureChecks - seen.signatureChecks);
      seen.signatureChecks = c.signatureChecks;
    },
  });
  new Gauge({
    name: "entra_gateway_cache_entries",
    help: "Entries held by the verdict caches (verified, negative)",
    labelNames: ["cache"] as const,
    registers,
    collect() {
      if (sources === undefined) return;
      const sizes = sources.authenticator.cacheSizes();
      this.set({ cache: "verified" }, sizes.verifiedEntries);
      this.set({ cache: "negative" }, sizes.negativeEntries);
    },
  });
  new Gauge({
    name: "entra_gateway_cache_bytes",
    help: "Estimated bytes held by the verified-token cache",
    labelNames: ["cache"] as const,
    registers,
    collect() {
      if (sources !== undefined) this.set({ cache: "verified" }, sources.authenticator.cacheSizes().verifiedBytes);
    },
  });
  new Gauge({
    name: "entra_gateway_upstream_pool",
    help: "undici pool towards the management point: connected, free, pending, running, size; admission: admitted, admitted_unauthenticated, queued",
    labelNames: ["stat"] as const,
    registers,
    collect() {
      if (sources === undefined) return;
      const s = sources.upstream.stats();
      this.set({ stat: "connected" }, s.connected);
      this.set({ stat: "free" }, s.free);
      this.set({ stat: "pending" }, s.pending);
      this.set({ stat: "running" }, s.running);
      this.set({ stat: "size" }, s.size);
      this.set({ stat: "admitted" }, s.admitted);
      this.set({ stat: "admitted_unauthenticated" }, s.admittedUnauthenticated);
      this.set({ stat: "queued" }, s.queued);
    },
  });

  const aadAuthInfoCells = new Map<string, CounterCell>();
  new Counter({
    name: "entra_gateway_aadauthinfo_requests_total",
    help: "AADAuthInfo answers by outcome (found, not_onboarded)",
    labelNames: ["outcome"] as const,
    registers,
    collect() {
      flushCells(this, aadAuthInfoCells.values());
    },
  });

  const requestCell = childCache3((outcome, reason, tenant) => {
    const cell: CounterCell = { labels: { outcome, reason, tenant }, n: 0, seen: 0 };
    requestCells.push(cell);
    return cell;
  });
  // Label sets bound once: the hot path only adds to numbers.
  const authAccepted = authDuration({ result: "accepted" });
  const authRejected = authDuration({ result: "rejected" });

  return {
    registry,
    recordOutcome(o: RequestOutcome): void {
      if (o.outcome === "aadauthinfo") {
        const outcome = o.reason ?? NONE;
        let cell = aadAuthInfoCells.get(outcome);
        if (cell === undefined) {
          cell = { labels: { outcome }, n: 0, seen: 0 };
          aadAuthInfoCells.set(outcome, cell);
        }
        cell.n += 1;
        return;
      }
      requestCell(o.outcome, o.reason ?? NONE, o.tenantId ?? NONE).n += 1;
      if (o.authSeconds !== undefined) {
        (o.outcome === "rejected" ? authRejected : authAccepted)(o.authSeconds);
      }
      if (o.upstreamSeconds !== undefined) {
        observeUpstream(o.upstreamSeconds);
        if (o.outcome === "proxied") {
          let cell = statusCells.get(o.status);
          if (cell === undefined) {
            cell = { labels: { status: String(o.status) }, n: 0, seen: 0 };
            statusCells.set(o.status, cell);
          }
          cell.n += 1;
        }
      }
    },
    recordJwksFetch,
    recordIssuedAge(_tenantId: string, ageSec: number): void {
      observeIssuedAge(ageSec);
    },
    attach(s) {
      sources = { authenticator: s.authenticator, upstream: s.upstream };
    },
  };
}

/** Why a configuration reload ran. */
export type ReloadTrigger = "start" | "watch" | "signal" | "admin";

/** Metrics of the process that owns the configuration (the primary, or the only process). */
export interface ControlMetrics {
  readonly registry: Registry;
  recordReload(trigger: ReloadTrigger, result: "applied" | "unchanged" | "refused"): void;
  recordAdmin(action: string, result: string): void;
  recordWorkerRestart(): void;
  /**
   * Gives the collectors the configuration in force, the live worker count and, when the tenant state is
   * shared (Redis), its connection.
   */
  attach(sources: ControlMetricSources): void;
}

/** What the control-plane collectors read at scrape time. */
export interface ControlMetricSources {
  readonly config: () => GatewayConfig;
  readonly workers?: (() => number) | undefined;
  /** The shared tenant state's connection; undefined when the state is local (no series then). */
  readonly sharedState?: (() => { readonly connected: boolean } | undefined) | undefined;
}

/**
 * Creates the control-plane metrics on `registry`.
 *
 * @param registry the primary's own registry (or the single process's, shared with {@link createRequestMetrics})
 */
export function createControlMetrics(registry: Registry): ControlMetrics {
  const registers = [registry];
  let sources: ControlMetricSources | undefined;
  const reloads = new Counter({
    name: "entra_gateway_config_reloads_total",
    help: "Configuration reloads by trigger (watch, signal, admin) and result (applied, unchanged, refused)",
    labelNames: ["trigger", "result"] as const,
    registers,
  });
  for (const trigger of ["watch", "signal", "admin"] as const) {
    for (const result of ["applied", "refused"] as const) reloads.inc({ trigger, result }, 0);
  }
  const lastReload = new Gauge({
    name: "entra_gateway_config_last_reload_timestamp_seconds",
    help: "When a configuration was last applied or refused, by result",
    labelNames: ["result"] as const,
    registers,
  });
  const admin = new Counter({
    name: "entra_gateway_admin_requests_total",
    help: "Admin API calls by action and result",
    labelNames: ["action", "result"] as const,
    registers,
  });
  const restarts = new Counter({
    name: "entra_gateway_worker_restarts_total",
    help: "Workers that died and were replaced",
    registers,
  });
  new Gauge({
    name: "entra_gateway_workers",
    help: "Live serving processes",
    registers,
    collect() {
      this.set(sources?.workers?.() ?? 1);
    },
  });
  new Gauge({
    name: "entra_gateway_shared_state_connected",
    help: "1 while the shared tenant state (Redis) is reachable, 0 while it is not (the last known states stay in force; admin changes answer 503); no series without sharedState",
    registers,
    collect() {
      this.reset();
      const shared = sources?.sharedState?.();
      if (shared !== undefined) this.set(shared.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: "entra_gateway_tenant_enabled",
    help: "1 when Entra authentication is enabled for the cloud management tenant, 0 when disabled",
    labelNames: ["tenant", "service"] as const,
    registers,
    collect() {
      this.reset();
      for (const s of sources?.config().azureServices ?? []) {
        if (s.type === "cloudManagement")
          this.set({ tenant: s.tenant.id, service: s.name }, s.disableAuthentication ? 0 : 1);
      }
    },
  });
  new Gauge({
    name: "entra_gateway_secret_expiry_timestamp_seconds",
    help: "When each web app secret expires (from webApp.secretExpiry)",
    labelNames: ["tenant", "service"] as const,
    registers,
    collect() {
      this.reset();
      for (const s of sources?.config().azureServices ?? []) {
        if (s.webApp.secretExpiresAtMs !== undefined) {
          this.set({ tenant: s.tenant.id, service: s.name }, s.webApp.secretExpiresAtMs / 1000);
        }
      }
    },
  });
  new Gauge({
    name: "entra_gateway_secrets_expiring",
    help: "Web app secrets that expire within 30 days (state expiring) or have expired (state expired)",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const config = sources?.config();
      if (config === undefined) return;
      const all = secretExpiryStatus(config, Date.now());
      this.set({ state: "expiring" }, all.filter((s) => s.state === "expiring").length);
      this.set({ state: "expired" }, all.filter((s) => s.state === "expired").length);
    },
  });
  return {
    registry,
    recordReload(trigger, result) {
      if (trigger !== "start") reloads.inc({ trigger, result });
      if (result !== "unchanged") lastReload.set({ result }, Date.now() / 1000);
    },
    recordAdmin(action, result) {
      admin.inc({ action, result });
    },
    recordWorkerRestart() {
      restarts.inc();
    },
    attach(s) {
      sources = s;
    },
  };
}
