/**
 * The bench's `--json` object keeps the shape other tools rely on (docs/architecture.md § Interfaces). A tiny in-process run
 * (two ~0.5 s autocannon loads against a local HTTP server) goes through the same load, summary and JSON
 * code as `npm run bench`. No timing is asserted: the bench is not a test.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cyclingSource, type LoadResult, runLoad } from "../../bench/load.js";
import { buildJson, formatTable, markdownTable, summarise } from "../../bench/report.js";

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const ok = req.headers.authorization?.startsWith("Bearer ") === true;
    res.writeHead(ok ? 200 : 401, { "content-type": "text/plain" }).end(ok ? "ok" : "no");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("npm run bench -- --json", () => {
  it("when two scenarios ran, then scenarios hold {rps, p50Ms, p99Ms, errors} and ratios name both", async () => {
    const load = () =>
      runLoad({
        url,
        path: "/SMS_MP/.sms_aut?MPLIST",
        connections: 2,
        durationSec: 0.5,
        tokens: cyclingSource(["a.b.c", "d.e.f"]),
        expected: [200],
      });
    const noauth = summarise("proxy-noauth", "baseline", "local", [await load()]);
    const warm = summarise("warm", "gateway", "local", [await load()]);
    const out = JSON.parse(JSON.stringify(buildJson([noauth, warm], { date: "x" }))) as Record<string, unknown>;

    expect(Object.keys(out).slice(0, 2)).toEqual(["scenarios", "ratios"]);
    const scenarios = out.scenarios as Record<string, Record<string, unknown>>;
    expect(Object.keys(scenarios)).toEqual(["proxy-noauth", "warm"]);
    for (const entry of Object.values(scenarios)) {
      expect(Object.keys(entry).sort()).toEqual([
        "cacheHitRate",
        "cpuUsPerReq",
        "errors",
        "p50Ms",
        "p99Ms",
        "rps",
        "rssMb",
      ]);
      for (const key of ["rps", "p50Ms", "p99Ms", "errors", "cpuUsPerReq"]) expect(typeof entry[key]).toBe("number");
      // No gateway metrics and no server process observed here: not applicable, not zero.
      expect(entry.cacheHitRate).toBeNull();
      expect(entry.rssMb).toBeNull();
      expect(entry.rps).toBeGreaterThan(0);
      expect(entry.errors).toBe(0);
      expect(entry.p99Ms as number).toBeGreaterThanOrEqual(entry.p50Ms as number);
    }
    const ratios = out.ratios as Record<string, unknown>;
    // A gateway round reports what its metrics counted: the hit rate is hits / look-ups over the rounds.
    const counted: LoadResult[] = [
      { ...(await load()), cacheHits: 30, cacheMisses: 10, serverRssBytes: 150 * 1_048_576 },
      { ...(await load()), cacheHits: 0, cacheMisses: 60, serverRssBytes: 160 * 1_048_576 },
    ];
    const json = buildJson([summarise("cold", "gateway", "local", counted)], {});
    expect(json.scenarios.cold!.cacheHitRate).toBe(0.3);
    expect(json.scenarios.cold!.rssMb).toBe(160);
    // The tables (console and bench/RESULTS.md) show them too.
    const cold = summarise("cold", "gateway", "local", counted);
    expect(markdownTable([cold], () => undefined)).toMatch(/\| 30\.0% \| 160 \|/);
    expect(formatTable([cold], () => undefined)).toContain("30.0%");
    expect(Object.keys(ratios)).toEqual(["warm/proxy-noauth"]);
    expect(typeof ratios["warm/proxy-noauth"]).toBe("number");
  });

  it("when answers have an unexpected status, then they count as errors", async () => {
    const result = await runLoad({
      url,
      path: "/",
      connections: 1,
      amount: 20,
      tokens: { next: () => "x" },
      expected: [200],
    });
    // The same answers (200) when the scenario expects 401, as the reject-* scenarios do.
    const mismatched = await runLoad({
      url,
      path: "/",
      connections: 1,
      amount: 20,
      tokens: { next: () => "x" },
      expected: [401],
    });
    expect(result.errors).toBe(0);
    expect(mismatched.errors).toBe(20);
    expect(mismatched.statuses).toEqual({ 200: 20 });
  });
});
