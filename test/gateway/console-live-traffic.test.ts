/**
 * The console's live traffic is computed from the metrics text the metrics listener serves: rates from the
 * request counters, refusals by reason, and p50/p99 from the histograms' buckets between two samples.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  quantileBetween,
  sampleFromExposition,
  startTrafficSampler,
  trafficView,
} from "../../gateway/console/traffic.js";
import type { RequestOutcome } from "../../gateway/http/proxy-route.js";
import { createRequestMetrics } from "../../gateway/observability/metrics.js";

/** Metrics text whose request counter grows by 10 at every read. */
function growingCounter(): { read: () => Promise<string>; reads: () => number } {
  let reads = 0;
  return {
    read: async () => {
      reads += 1;
      return `entra_gateway_requests_total{outcome="proxied",reason="none",tenant="t"} ${reads * 10}\n`;
    },
    reads: () => reads,
  };
}

const proxied = (authSeconds: number, upstreamSeconds: number): RequestOutcome => ({
  outcome: "proxied",
  reason: undefined,
  tenantId: "t",
  status: 200,
  authSeconds,
  upstreamSeconds,
});
const refused = (reason: string): RequestOutcome => ({
  outcome: "rejected",
  reason,
  tenantId: undefined,
  status: 401,
  authSeconds: 0.00002,
});

describe("live traffic from the metrics text", () => {
  it("when requests are recorded between two scrapes, then the view has their rate, refusals by reason and percentiles", async () => {
    const registry = new Registry();
    const metrics = createRequestMetrics(registry);
    let clock = 1_000_000;
    const traffic = startTrafficSampler({ read: () => registry.metrics(), now: () => clock, intervalMs: 60_000 });
    await traffic.sample();
    traffic.stop();
    // 10 s later: 100 proxied requests (auth 0.3 ms, upstream 20 ms) and 20 refusals.
    for (let i = 0; i < 100; i++) metrics.recordOutcome(proxied(0.0003, 0.02));
    for (let i = 0; i < 15; i++) metrics.recordOutcome(refused("signature_invalid"));
    for (let i = 0; i < 5; i++) metrics.recordOutcome(refused("tenant_disabled"));
    clock += 10_000;
    await traffic.sample();
    const view = traffic.view();
    expect(view.points).toHaveLength(1);
    const p = view.points[0]!;
    expect(p.requestsPerSec).toBeCloseTo(12, 6);
    expect(p.refusalsPerSec).toBeCloseTo(2, 6);
    expect(view.refusalsByReason).toEqual([
      { reason: "signature_invalid", count: 15 },
      { reason: "tenant_disabled", count: 5 },
    ]);
    // Upstream: every observation in the (0.01, 0.025] bucket.
    expect(p.upstreamP50).toBeGreaterThan(0.01);
    expect(p.upstreamP50).toBeLessThanOrEqual(0.025);
    // Auth: 100 of 120 in (0.00025, 0.0005], 20 in (0.00001, 0.00005]: p50 in the larger bucket, and p99 too.
    expect(p.authP50).toBeGreaterThan(0.00025);
    expect(p.authP99).toBeLessThanOrEqual(0.0005);
  });

  it("when nothing happened in an interval, then its rates are zero and its percentiles absent", () => {
    const text = 'entra_gateway_requests_total{outcome="proxied",reason="none",tenant="t"} 7\n';
    const a = sampleFromExposition(text, 0);
    const b = sampleFromExposition(text, 5_000);
    const [p] = trafficView([a, b], 300_000).points;
    expect(p).toMatchObject({ requestsPerSec: 0, refusalsPerSec: 0, authP50: undefined, upstreamP99: undefined });
  });

  it("when a counter goes down (a worker was replaced), then the interval counts from zero instead of going negative", () => {
    const line = (n: number) =>
      `entra_gateway_requests_total{outcome="rejected",reason="token_expired",tenant="none"} ${n}\n`;
    const view = trafficView([sampleFromExposition(line(50), 0), sampleFromExposition(line(4), 2_000)], 300_000);
    expect(view.points[0]!.refusalsPerSec).toBe(2);
    expect(view.refusalsByReason).toEqual([{ reason: "token_expired", count: 4 }]);
  });

  it("when the quantile falls between bucket bounds, then it is interpolated as histogram_quantile does", () => {
    const before = { bounds: [0.1, 0.2, Number.POSITIVE_INFINITY], counts: [0, 0, 0] };
    const after = { bounds: [0.1, 0.2, Number.POSITIVE_INFINITY], counts: [50, 100, 100] };
    expect(quantileBetween(before, after, 0.5)).toBeCloseTo(0.1, 9);
    expect(quantileBetween(before, after, 0.75)).toBeCloseTo(0.15, 9);
    // Beyond the last finite bound: that bound.
    const tail = { bounds: [0.1, 0.2, Number.POSITIVE_INFINITY], counts: [0, 0, 10] };
    expect(quantileBetween(before, tail, 0.99)).toBe(0.2);
    expect(quantileBetween(before, before, 0.5)).toBeUndefined();
  });

  it("when more samples than the window holds are taken, then the oldest go", async () => {
    let clock = 0;
    const counter = growingCounter();
    const traffic = startTrafficSampler({
      read: counter.read,
      now: () => clock,
      intervalMs: 1_000,
      windowMs: 5_000,
    });
    traffic.stop();
    for (let i = 0; i < 20; i++) {
      clock += 1_000;
      await traffic.sample();
    }
    // 5 s window at 1 s: 6 samples, 5 intervals.
    expect(traffic.view().points).toHaveLength(5);
    expect(traffic.view().points.every((p) => p.requestsPerSec === 10)).toBe(true);
  });

  it("when what is sampled comes up, then a baseline sample is taken at once and the next sample draws the first interval", async () => {
    let clock = 0;
    const counter = growingCounter();
    let up: () => void = () => undefined;
    const serving = new Promise<void>((resolve) => {
      up = resolve;
    });
    const traffic = startTrafficSampler({
      read: counter.read,
      now: () => clock,
      intervalMs: 60_000,
      baseline: serving,
    });
    try {
      // Nothing is read before the serving processes are up.
      await Promise.resolve();
      expect(counter.reads()).toBe(0);
      up();
      await expect.poll(() => counter.reads()).toBe(1);
      clock += 60_000;
      await traffic.sample();
      expect(traffic.view().points).toEqual([expect.objectContaining({ requestsPerSec: 10 / 60 })]);
    } finally {
      traffic.stop();
    }
  });
});
