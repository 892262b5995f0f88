/**
 * One JWKS fetch per host (docs/operations.md § Workers): with `serve --workers 2` the primary is the only
 * process that fetches key sets; the workers serve replicas it hands them, and a worker's unknown `kid`
 * becomes one shared refresh. Counted at the source: the emulator's JWKS requests per tenant (`/_sim/stats`).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackHarness } from "../gateway-http/stack-harness.js";
import { call, eventually, metricValue, postOnNewConnection, type ServedGateway } from "./helpers.js";
import { type StackGateway, serveStackGateway } from "./stack-gateway.js";

let s: StackGateway;
let h: StackHarness;
let gw: ServedGateway;

beforeAll(async () => {
  // The stack's own configuration (emulator keys, MP with mTLS), served by a 2-worker cluster.
  s = await serveStackGateway({ workers: 2 });
  ({ h, gw } = s);
}, 120_000);
afterAll(() => s?.close());

/** Requests, each on a connection of its own so the cluster spreads them over both workers. */
async function flood(count: number, token: () => string): Promise<number[]> {
  const statuses: number[] = [];
  for (let sent = 0; sent < count; sent += 20) {
    const batch = Array.from({ length: Math.min(20, count - sent) }, () =>
      postOnNewConnection(gw.url, h.stack.tls.ca.cert, token()),
    );
    statuses.push(...(await Promise.all(batch)));
  }
  return statuses;
}

/** The worker pids that logged a request matching `match` from line `from` on. */
function workersThat(from: number, match: (line: Record<string, any>) => boolean): Set<number> {
  return new Set(
    gw.lines
      .slice(from)
      .filter((l) => l.msg === "request" && match(l))
      .map((l) => l.pid as number),
  );
}

describe("JWKS with --workers 2", () => {
  it("when random kids flood one tenant on both workers, then the host fetches its key set once and counts it once", async () => {
    const t = h.tenant("contoso");
    await h.entra("POST", "/_sim/stats/reset");
    const from = gw.lines.length;
    const statuses = await flood(200, () =>
      h.stack.entra.mint({ tenantId: t.id, header: { kid: randomBytes(20).toString("base64url"), x5t: null } }),
    );
    expect(statuses.filter((s) => s !== 401)).toEqual([]);
    // Both workers met unknown kids…
    expect(workersThat(from, (l) => l.reason === "key_not_found").size).toBe(2);
    // …and the IdP saw one fetch for the host, not one per worker.
    const stats = await h.entra("GET", "/_sim/stats");
    expect(stats.keys[t.id]).toBe(1);
    // The primary counts it; workers count none, so the aggregate says one.
    const metrics = await call(gw.metricsUrl);
    expect(metricValue(metrics.text, "entra_gateway_jwks_fetches_total", { tenant: t.id, reason: "unknown_kid" })).toBe(
      1,
    );
    expect(metrics.text.match(/^# TYPE entra_gateway_jwks_fetches_total /gm)).toHaveLength(1);
  });

  it("when the IdP rotates a tenant's key, then one fetch brings the new key to both workers", async () => {
    const t = h.tenant("tailspin");
    await h.entra("POST", "/_sim/stats/reset");
    const rotated = (await h.entra("POST", "/_sim/keys/rotate", { tenantId: t.id })) as { kid: string };
    const token = await h.userToken(t, 1);
    expect(JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid).toBe(rotated.kid);
    const from = gw.lines.length;
    const statuses = await flood(20, () => token);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(workersThat(from, (l) => l.status === 200 && l.tenantId === t.id).size).toBe(2);
    const stats = await h.entra("GET", "/_sim/stats");
    expect(stats.keys[t.id]).toBe(1);
  });

  it("when a worker dies, then its replacement serves with the primary's keys without fetching any", async () => {
    const t = h.tenant("contoso");
    const token = await h.userToken(t, 2);
    const listening = () => gw.lines.filter((l) => l.msg === "gateway listening").map((l) => l.pid as number);
    const before = listening();
    await h.entra("POST", "/_sim/stats/reset");
    process.kill(before[0]!, "SIGKILL");
    const replacement = await eventually(
      async () => listening().find((pid) => !before.includes(pid)),
      "a replacement worker listening",
    );
    const from = gw.lines.length;
    await eventually(async () => {
      await flood(4, () => token);
      return workersThat(from, (l) => l.status === 200 && l.pid === replacement).size === 1;
    }, "the replacement to serve a token");
    const stats = await h.entra("GET", "/_sim/stats");
    expect(stats.keys).toEqual({});
  });
});
