import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnonymousCluster, startAnonymousCluster } from "./anonymous-cluster.js";
import { eventually } from "./helpers.js";

let c: AnonymousCluster;
beforeAll(async () => {
  c = await startAnonymousCluster();
});
afterAll(() => c?.close());

describe("SIGTERM", () => {
  it("when SIGTERM arrives with requests in flight on both workers, then every one of them completes and the gateway exits 0", async () => {
    const IN_FLIGHT = 24;
    // Concurrent requests each take their own connection: the cluster spreads them over both workers.
    const results = Array.from({ length: IN_FLIGHT }, (_, i) =>
      request(`${c.gw.url}/content/${i}`, { dispatcher: c.dispatcher }).then(
        async (res) => ({ status: res.statusCode, body: await res.body.text() }),
        (err: Error) => ({ status: 0, body: err.message }),
      ),
    );
    // Every request has reached the upstream: they are in flight in the gateway.
    await eventually(async () => c.upstream.held.length === IN_FLIGHT, "all requests held upstream");
    const serving = new Set(c.gw.lines.filter((l) => l.msg === "gateway listening").map((l) => l.pid));
    expect(serving.size).toBe(2);

    c.gw.child.kill("SIGTERM");
    // Both workers are draining before anything is released.
    await eventually(
      async () => new Set(c.gw.lines.filter((l) => l.msg === "worker draining").map((l) => l.pid)).size === 2,
      "both workers draining",
    );
    c.upstream.release();

    const answered = await Promise.all(results);
    expect(answered.filter((r) => r.status !== 200)).toEqual([]);
    expect(answered.every((r) => r.body === "ok")).toBe(true);
    expect(await c.gw.exited).toBe(0);
    expect(c.gw.lines.some((l) => l.msg === "all workers stopped")).toBe(true);
  });
});
