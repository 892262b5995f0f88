/**
 * The wrk token script (`bench/wrk-tokens.lua`) keeps cold really cold: a once-only pool is never sent twice
 * to a server, across separate runs (warm-up, then measured windows), because each run starts where the last
 * one stopped. Stamped pools (forged tokens) are distinct on every request. Real wrk against a real local
 * server; skipped where wrk is not installed (the bench then falls back to autocannon).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cyclingSource, onceSource, runLoad } from "../../bench/load.js";
import { wrkAvailable } from "../../bench/wrk.js";

let server: Server;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? "");
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const indexOf = (header: string) => Number(header.slice("Bearer cold-".length));

const run = (tokens: ReturnType<typeof cyclingSource>) =>
  runLoad({ url, path: "/x", connections: 2, durationSec: 1, tokens, expected: [200] });

describe.skipIf(!wrkAvailable())("bench/wrk-tokens.lua", () => {
  it("when a once-only pool is used by two runs, then no token is sent twice and the cursor counts every request", async () => {
    seen.length = 0;
    const pool = Array.from({ length: 200_000 }, (_, i) => `cold-${i}`);
    const cursor = { value: 0 };
    const first = await run(onceSource(pool, cursor));
    const afterFirst = cursor.value;
    const firstSeen = seen.map(indexOf);
    const second = await run(onceSource(pool, cursor));
    const secondSeen = seen.slice(firstSeen.length).map(indexOf);

    expect(first.wrapped).toBe(false);
    expect(second.wrapped).toBe(false);
    expect(afterFirst).toBeGreaterThan(0);
    // Every request the server saw was counted (wrk may build a last request per connection that it never
    // sends before it stops: counted, never reused), and none repeated a token.
    expect(seen.length).toBeLessThanOrEqual(cursor.value);
    expect(seen.length).toBeGreaterThanOrEqual(cursor.value - 2 * 2);
    expect(new Set(seen).size).toBe(seen.length);
    // The second run started where the first stopped (wrk builds one request to check the script, and may
    // build one per connection it never sends: those tokens are skipped, never reused).
    expect(Math.max(...firstSeen)).toBeLessThan(afterFirst);
    expect(Math.min(...secondSeen)).toBeGreaterThanOrEqual(afterFirst);
    expect(Math.min(...secondSeen)).toBeLessThanOrEqual(afterFirst + 4);
  });

  it("when a pool has a stamp position, then every request carries a distinct token differing only there", async () => {
    seen.length = 0;
    const templates = ["head.body.SIGNATUREsignature", "head.body.OTHERSIGNATUREsig"];
    const source = cyclingSource(templates);
    const stamped = { ...source, pool: { ...source.pool!, stampAt: "head.body.".length + 1 } };
    const result = await run(stamped);

    expect(result.requests).toBeGreaterThan(10);
    expect(new Set(seen).size).toBe(seen.length);
    for (const header of seen) {
      const token = header.slice("Bearer ".length);
      expect(token.slice(0, 10)).toBe("head.body.");
      expect(templates.map((t) => t.slice(16))).toContain(token.slice(16));
      expect(token.slice(10, 16)).toMatch(/^[A-Za-z0-9_-]{6}$/);
    }
  });
});
