/**
 * Drill: three gateway replicas (`serve --workers 2` each, real processes) in front of the local stack's
 * management point, sharing their runtime tenant state through one real redis-server (docs/operations.md §
 * Shared tenant state).
 *
 * - A tenant disabled through replica A's admin API is refused by B and C on their next requests; the delay
 *   from A's answer to enforcement on every worker of B and C is measured over 20 toggles in CI (5 in a
 *   developer's run) and printed (p50, p99). Only a generous correctness bound is asserted: speed is for the
 *   bench.
 * - Redis killed: traffic goes on, the disabled tenant stays refused, admin changes answer 503, `/readyz`
 *   detail, the metric and a log line say so. Redis started again (empty): a change applies everywhere and
 *   the disable the replicas knew is still in force.
 * - A fourth replica started while the tenant is disabled refuses it from its first request after "ready".
 * - The client simulator spreads its clients over the three replicas (`--gateway` repeated).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { runSimulation } from "../../client-simulator/simulation.js";
import type { StackHarness } from "../gateway-http/stack-harness.js";
import { startStackHarness } from "../gateway-http/stack-harness.js";
import { adminClient, buildCli, eventually, metricValue, type ServedGateway, serveCli } from "../operations/helpers.js";
import { type RedisServer, redisTests, startRedisServer } from "../redis-server.js";
import { percentile } from "./drill-kit.js";

/**
 * Toggles measured (each one a disable and an enable): 5 in a developer's run, 20 in CI (.ci/run sets
 * DRILL_SHARED_STATE_TOGGLES), where the figures are printed from enough samples to mean something.
 */
const TOGGLES = Number(process.env.DRILL_SHARED_STATE_TOGGLES ?? 5);
/** Correctness bound on one enforcement delay: far above the target, far below "never". */
const ENFORCED_WITHIN_MS = 5_000;
// Test timeouts: three 2-worker clusters, the stack and Redis on a shared 2-core CI machine are slow to move;
// the bounds are on the drill's length, never on the figures it measures.
/** Concurrent connections per replica in a poll: spread over both workers by the cluster's round-robin. */
const POLL_CONNECTIONS = 4;

interface Replica {
  readonly name: string;
  readonly gw: ServedGateway;
  readonly stateDir: string;
  readonly admin: ReturnType<typeof adminClient>;
  readonly pool: Pool;
  stop(): Promise<void>;
}

describe.skipIf(redisTests().skip)("three replicas, one Redis", () => {
  let redis: RedisServer;
  let h: StackHarness;
  let main: string;
  let dir: string;
  let token: string;
  let tenantId: string;
  const replicas: Replica[] = [];

  const startReplica = async (name: string): Promise<Replica> => {
    const own = join(dir, name);
    const stateDir = join(own, "state");
    await mkdir(stateDir, { recursive: true });
    const configFile = join(own, "gateway.yaml");
    await copyFile(h.stack.gatewayConfigFile, configFile);
    const doc = parse(await readFile(configFile, "utf8"));
    // Each replica its own JWKS copy (no two processes writing one folder), one Redis for all.
    delete doc.auth.jwks.diskCacheDir;
    doc.sharedState = { redisUrl: redis.url };
    await writeFile(configFile, stringify(doc));
    const gw = await serveCli(main, ["--config", configFile, "--workers", "2", "--state-dir", stateDir]);
    const key = (await readFile(join(stateDir, "admin.key"), "utf8")).trim();
    const replica: Replica = {
      name,
      gw,
      stateDir,
      admin: adminClient(gw.adminUrl, key, h.dispatcher),
      pool: new Pool(gw.url, { connections: POLL_CONNECTIONS, connect: { ca: h.stack.tls.ca.cert } }),
      async stop() {
        await replica.pool.close();
        await gw.stop();
      },
    };
    replicas.push(replica);
    return replica;
  };

  /** One `POST /CCM_STS` with the tenant's token on each of the replica's poll connections: the statuses. */
  const poll = async (r: Replica): Promise<number[]> =>
    Promise.all(
      Array.from({ length: POLL_CONNECTIONS }, async () => {
        const res = await r.pool.request({
          path: "/CCM_STS",
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: "{}",
        });
        await res.body.dump();
        return res.statusCode;
      }),
    );

  /**
   * Polls until every connection of the replica answers `status`: how long after `since` the first such poll
   * was sent (every request sent then met the change, so it was in force by then on every worker the poll
   * reached; the resolution is one poll's round trip).
   */
  const enforced = async (r: Replica, status: number, since: number): Promise<number> => {
    for (;;) {
      const sent = performance.now();
      const statuses = await poll(r);
      if (statuses.every((s) => s === status)) return Math.max(0, sent - since);
      if (performance.now() - since > ENFORCED_WITHIN_MS) {
        throw new Error(`${r.name}: not ${status} within ${ENFORCED_WITHIN_MS} ms (${statuses.join(", ")})`);
      }
    }
  };

  const a = () => replicas[0]!;
  const b = () => replicas[1]!;
  const c = () => replicas[2]!;

  beforeAll(async () => {
    [redis, h, main] = await Promise.all([startRedisServer(), startStackHarness(), buildCli()]);
    dir = await mkdtemp(join(tmpdir(), "entra-drill-replicas-"));
    const contoso = h.tenant("contoso");
    tenantId = contoso.id;
    token = await h.userToken(contoso, 1);
    // One at a time: three clusters starting at once on two cores only slow each other down.
    for (const name of ["a", "b", "c"]) await startReplica(name);
  }, 180_000);
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await h?.close();
    await redis?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(`when a tenant is disabled through A, then B and C refuse its next requests; the delay is measured over ${TOGGLES} toggles`, async () => {
    for (const r of replicas) expect(await poll(r)).toEqual(Array(POLL_CONNECTIONS).fill(200));
    const delays: Record<"disable" | "enable", number[]> = { disable: [], enable: [] };
    for (let i = 0; i < TOGGLES; i++) {
      for (const [action, status] of [
        ["disable", 403],
        ["enable", 200],
      ] as const) {
        const answer = await a().admin("POST", `/tenants/${tenantId}/${action}`);
        const since = performance.now();
        expect(answer.status, answer.text).toBe(200);
        // A itself has it in force on every worker before it answers.
        expect(answer.body.inForce).toBe(true);
        delays[action].push(...(await Promise.all([enforced(b(), status, since), enforced(c(), status, since)])));
      }
    }
    const all = [...delays.disable, ...delays.enable];
    const figures = (values: number[]) =>
      `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
    console.log(
      `shared tenant state: enforcement delay from A's admin answer to every worker of B and C over ${TOGGLES} toggles ` +
        `(${all.length} samples): ${figures(all)}; disable ${figures(delays.disable)}; enable ${figures(delays.enable)}`,
    );
    expect(all).toHaveLength(TOGGLES * 4);
  }, 120_000);

  it("when Redis dies, then traffic goes on, the disabled tenant stays refused, admin changes answer 503 and readiness says so", async () => {
    const disabled = await a().admin("POST", `/tenants/${tenantId}/disable`);
    expect(disabled.status, disabled.text).toBe(200);
    for (const r of replicas) await enforced(r, 403, performance.now());

    await redis.stop();
    await eventually(async () => {
      const detail = await b().admin("GET", "/readyz");
      return detail.body?.sharedState?.connected === false;
    }, "B's readiness detail shows the outage");
    for (const r of replicas) {
      // Still ready (the last known states serve); the detail names the outage.
      const detail = await r.admin("GET", "/readyz");
      expect(detail.status, r.name).toBe(200);
      await eventually(async () => (await r.admin("GET", "/readyz")).body.sharedState.connected === false, r.name);
      const metrics = await (await request(r.gw.metricsUrl)).body.text();
      expect(metricValue(metrics, "entra_gateway_shared_state_connected"), r.name).toBe(0);
      expect(
        r.gw.lines.some((l) => String(l.msg).startsWith("shared tenant state unreachable")),
        r.name,
      ).toBe(true);
      expect(await poll(r), r.name).toEqual(Array(POLL_CONNECTIONS).fill(403));
      // Another tenant's traffic goes on.
      const healthz = await request(`${r.gw.url}/healthz`, { dispatcher: h.dispatcher });
      await healthz.body.dump();
      expect(healthz.statusCode).toBe(200);
    }
    const other = h.tenant("fabrikam");
    const otherToken = await h.userToken(other, 1);
    const served = await request(`${b().gw.url}/CCM_STS`, {
      method: "POST",
      dispatcher: h.dispatcher,
      headers: { authorization: `Bearer ${otherToken}`, "content-type": "application/json" },
      body: "{}",
    });
    await served.body.dump();
    expect(served.statusCode).toBe(200);

    for (const r of replicas) {
      const refused = await r.admin("POST", `/tenants/${tenantId}/enable`);
      expect(refused.status, `${r.name}: ${refused.text}`).toBe(503);
      expect(refused.body.error).toBe("state_unavailable");
      expect(await poll(r), r.name).toEqual(Array(POLL_CONNECTIONS).fill(403));
    }
  }, 60_000);

  it("when Redis is back (empty), then the disable is still in force and a change through C applies everywhere", async () => {
    await redis.start();
    for (const r of replicas) {
      await eventually(async () => (await r.admin("GET", "/readyz")).body.sharedState.connected === true, r.name);
      expect(await poll(r), r.name).toEqual(Array(POLL_CONNECTIONS).fill(403));
    }
    const enabled = await c().admin("POST", `/tenants/${tenantId}/enable`);
    expect(enabled.status, enabled.text).toBe(200);
    const since = performance.now();
    for (const r of replicas) await enforced(r, 200, since);
  }, 60_000);

  it("when a fourth replica starts while the tenant is disabled, then it refuses the tenant from its first request", async () => {
    const disabled = await b().admin("POST", `/tenants/${tenantId}/disable`);
    expect(disabled.status, disabled.text).toBe(200);
    const d = await startReplica("d");
    // serveCli resolved on "gateway ready": nothing was asked of D before.
    expect(await poll(d)).toEqual(Array(POLL_CONNECTIONS).fill(403));
    const loaded = d.gw.lines.findIndex((l) => l.msg === "runtime tenant state loaded");
    const ready = d.gw.lines.findIndex((l) => l.msg === "gateway ready");
    expect(loaded).toBeGreaterThan(-1);
    expect(loaded).toBeLessThan(ready);
    const enabled = await a().admin("POST", `/tenants/${tenantId}/enable`);
    expect(enabled.status, enabled.text).toBe(200);
    await enforced(d, 200, performance.now());
  }, 90_000);

  it("when the client simulator is given the three replicas, then it spreads its clients over them", async () => {
    const result = await runSimulation({
      stack: h.stack.description,
      clients: 6,
      scenario: "happy",
      concurrency: 3,
      gateways: [a().gw.url, b().gw.url, c().gw.url],
    });
    expect(result.verdict.holds, JSON.stringify(result.verdict.checks)).toBe(true);
    expect(result.gateways.map((g) => g.url)).toEqual([a().gw.url, b().gw.url, c().gw.url]);
    // Round-robin over the fleet (probes of tenants disabled from the start included).
    expect(result.gateways.reduce((n, g) => n + g.clients, 0)).toBe(result.clients + result.probes);
    for (const g of result.gateways) {
      expect(g.clients).toBeGreaterThanOrEqual(2);
      expect(g.requests).toBeGreaterThan(0);
      expect(g.failed).toBe(0);
    }
  }, 60_000);
});
