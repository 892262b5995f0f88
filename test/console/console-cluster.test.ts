/**
 * The console of `serve --workers 2` (the compiled CLI): the refusals every worker recorded reach the
 * primary's console (each worker keeps its own ring and answers the primary's `eg:refusals`), and the live
 * traffic is sampled from the primary's aggregation of every worker's metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackHarness } from "../gateway-http/stack-harness.js";
import { eventually, postOnNewConnection, type ServedGateway } from "../operations/helpers.js";
import { type StackGateway, serveStackGateway } from "../operations/stack-gateway.js";
import { consoleClient } from "./console-client.js";

let s: StackGateway;
let h: StackHarness;
let gw: ServedGateway;
let client: ReturnType<typeof consoleClient>;

beforeAll(async () => {
  s = await serveStackGateway({ workers: 2 });
  ({ h, gw } = s);
  client = consoleClient(gw.adminUrl, await s.adminKey(), h.dispatcher);
}, 120_000);
afterAll(() => s?.close());

describe("the console with --workers 2", () => {
  it("when both workers refuse requests, then the console lists the refusals of both and their reason in the live traffic", async () => {
    const fabrikam = h.tenant("fabrikam");
    /** Fingerprint → the worker (pid) that refused it, from the workers' own log lines. */
    const refusedBy = () =>
      new Map(
        gw.lines
          .filter((l) => l.msg === "request" && l.reason === "audience_invalid" && l.tokenFp !== undefined)
          .map((l) => [l.tokenFp as string, l.pid as number]),
      );
    await eventually(async () => {
      // A new token on a new connection each time: the cluster's round-robin spreads them over the workers.
      const forged = h.stack.entra.mint({ tenantId: fabrikam.id, claims: { aud: "api://someone-else" } });
      expect(await postOnNewConnection(gw.url, h.stack.tls.ca.cert, forged)).toBe(401);
      return new Set(refusedBy().values()).size === 2;
    }, "refusals from both workers");

    const { cookie } = await client.signIn();
    const live = await eventually(async () => {
      // Traffic goes on while the console's sampler takes its samples (a baseline when the workers listen, then
      // every 5 s).
      const forged = h.stack.entra.mint({ tenantId: fabrikam.id, claims: { aud: "api://someone-else" } });
      expect(await postOnNewConnection(gw.url, h.stack.tls.ca.cert, forged)).toBe(401);
      const answer = await client.call("GET", "/console/live", { cookie });
      expect(answer.status).toBe(200);
      const panels = JSON.parse(answer.text) as Record<string, string>;
      return panels.traffic!.includes("audience_invalid") ? panels : undefined;
    }, "the refusals in the live traffic");
    // Each worker's newest refusal (the page lists the newest 25 of all).
    const byPid = new Map([...refusedBy()].map(([fp, pid]) => [pid, fp]));
    expect(byPid.size).toBe(2);
    for (const fp of byPid.values()) expect(live.refusals).toContain(`sha256:${fp}`);
    expect(live.readiness).toContain("2 serving processes");
  });
});
