/**
 * The process's own health next to the gateway's metrics: prom-client's default metrics (CPU, memory, heap
 * spaces, file descriptors, handles, GC pauses, Node version) and the event-loop lag — the first sign of a
 * worker that cannot keep up — under the gateway's `entra_gateway_` prefix (docs/operations.md § Metrics).
 * In a `--workers N` cluster each worker collects its own and the primary aggregates them the way prom-client
 * declares for each (sums for CPU and memory, averages for lag).
 */
import { collectDefaultMetrics, type Registry } from "prom-client";

/** Prefix of every gateway metric, the default ones included. */
export const METRIC_PREFIX = "entra_gateway_";

/**
 * Registers the process and event-loop metrics on `registry`; they are read at each scrape.
 *
 * @param registry the serving process's registry
 */
export function collectProcessMetrics(registry: Registry): void {
  // Event-loop delay sampled every 10 ms (prom-client's default), reported as lag min/mean/max/percentiles.
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX, eventLoopMonitoringPrecision: 10 });
}
