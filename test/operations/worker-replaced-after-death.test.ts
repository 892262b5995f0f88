import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnonymousCluster, startAnonymousCluster } from "./anonymous-cluster.js";
import { eventually, metricValue } from "./helpers.js";

let c: AnonymousCluster;
beforeAll(async () => {
  c = await startAnonymousCluster();
  c.upstream.release();
});
afterAll(() => c?.close());

describe("worker supervision", () => {
  it("when a worker dies, then a replacement starts with the configuration in force and serving continues", async () => {
    const listening = () => c.gw.lines.filter((l) => l.msg === "gateway listening").map((l) => l.pid as number);
    const [victim] = listening();
    expect(victim).toBeDefined();
    process.kill(victim!, "SIGKILL");

    await eventually(async () => c.gw.lines.some((l) => l.msg.startsWith("worker died")), "the death to be noticed");
    const replacement = await eventually(
      async () => listening().find((pid) => pid !== victim && !listening().slice(0, 2).includes(pid)),
      "a replacement worker",
    );
    expect(replacement).not.toBe(victim);

    for (let i = 0; i < 6; i += 1) {
      const res = await request(`${c.gw.url}/after/${i}`, { dispatcher: c.dispatcher });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    const text = await (await request(c.gw.metricsUrl)).body.text();
    expect(metricValue(text, "entra_gateway_worker_restarts_total")).toBe(1);
    expect(metricValue(text, "entra_gateway_workers")).toBe(2);
  });
});
