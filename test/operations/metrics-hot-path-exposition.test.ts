/**
 * The request metrics accumulate in plain numbers on the hot path and reach prom-client at scrape time.
 * What a scrape shows must be exactly what prom-client's own Counter and Histogram would show for the same
 * requests: same lines, same buckets (an observation on a bucket's bound counts in that bucket), same sums.
 */
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { RequestOutcome } from "../../gateway/http/proxy-route.js";
import { createRequestMetrics } from "../../gateway/observability/metrics.js";

const AUTH_BUCKETS = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];
const UPSTREAM_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The lines of `metric` (its TYPE and samples; the HELP text is the gateway's own) in a scrape. */
function linesOf(text: string, metric: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${metric}`) || l.startsWith(`# TYPE ${metric} `));
}

describe("request metrics on the hot path", () => {
  it("when requests are recorded, then the scrape equals prom-client's own counter and histograms", async () => {
    const metrics = createRequestMetrics(new Registry());
    const reference = new Registry();
    const requests = new Counter({
      name: "entra_gateway_requests_total",
      help: "Requests by outcome (proxied, rejected, upstream_error, too_large), rejection or upstream reason, and tenant",
      labelNames: ["outcome", "reason", "tenant"],
      registers: [reference],
    });
    const auth = new Histogram({
      name: "entra_gateway_auth_duration_seconds",
      help: "Time spent authenticating a request (cache hits included), by result",
      labelNames: ["result"],
      buckets: AUTH_BUCKETS,
      registers: [reference],
    });
    const upstream = new Histogram({
      name: "entra_gateway_upstream_duration_seconds",
      help: "Time from sending a request to the management point to its response headers",
      buckets: UPSTREAM_BUCKETS,
      registers: [reference],
    });
    const responses = new Counter({
      name: "entra_gateway_upstream_responses_total",
      help: "Responses of the management point by HTTP status",
      labelNames: ["status"],
      registers: [reference],
    });
    const tenant = "5e97358c-d99c-4558-af0c-de7774091dda";
    const outcomes: RequestOutcome[] = [];
    // Values on bucket bounds, between them and beyond the last one.
    for (const [i, seconds] of [0.00001, 0.00002, 0.0001, 0.003, 0.05, 7, 0, 1].entries()) {
      outcomes.push({
        outcome: "proxied",
        reason: undefined,
        tenantId: tenant,
        status: i % 2 ? 200 : 304,
        authSeconds: seconds,
        upstreamSeconds: seconds * 3,
      });
      outcomes.push({
        outcome: "rejected",
        reason: "token_expired",
        tenantId: tenant,
        status: 401,
        authSeconds: seconds,
      });
    }
    outcomes.push({ outcome: "too_large", reason: undefined, tenantId: undefined, status: 413 });
    for (const o of outcomes) {
      metrics.recordOutcome(o);
      requests.inc({ outcome: o.outcome, reason: o.reason ?? "none", tenant: o.tenantId ?? "none" });
      if (o.authSeconds !== undefined)
        auth.observe({ result: o.outcome === "rejected" ? "rejected" : "accepted" }, o.authSeconds);
      if (o.upstreamSeconds !== undefined) {
        upstream.observe(o.upstreamSeconds);
        if (o.outcome === "proxied") responses.inc({ status: String(o.status) });
      }
    }
    // Twice: a second scrape must not add the same requests again.
    await metrics.registry.metrics();
    const ours = await metrics.registry.metrics();
    const theirs = await reference.metrics();
    for (const name of [
      "entra_gateway_requests_total",
      "entra_gateway_auth_duration_seconds",
      "entra_gateway_upstream_duration_seconds",
      "entra_gateway_upstream_responses_total",
    ]) {
      const expected = linesOf(theirs, name);
      expect(expected.length, name).toBeGreaterThan(2);
      expect(linesOf(ours, name).sort(), name).toEqual(expected.sort());
    }
  });
});
