/**
 * The JWKS cache against the real emulator over HTTPS (docs/architecture.md § Caches): boot fetch, unknown-kid floods, outages,
 * the stale window, revocation — counted by the emulator's own request statistics.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { pino } from "pino";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { formatProblems, validateConfig } from "../../gateway/config/validate.js";
import { type RunningGateway, startGateway } from "../../gateway/http/server.js";
import { FakeClock } from "../gateway/fixtures.js";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

function randomKid(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("base64url");
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function secondGateway(
  h: StackHarness,
  opts: { waitForKeys?: boolean; clock?: FakeClock; edit?: (raw: Record<string, any>) => void } = {},
): Promise<RunningGateway> {
  const file = h.stack.gatewayConfigFile;
  const raw = parseYaml(await readFile(file, "utf8")) as Record<string, any>;
  delete raw.auth.jwks.diskCacheDir;
  opts.edit?.(raw);
  const result = validateConfig(raw, { baseDir: dirname(file) });
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return startGateway({
    config: result.config,
    logger: pino({ level: "silent" }),
    host: "127.0.0.1",
    port: 0,
    waitForKeys: opts.waitForKeys ?? true,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
}

describe("JWKS cache over HTTPS", () => {
  let h: StackHarness;
  beforeAll(async () => {
    h = await startStackHarness();
  });
  afterAll(() => h?.close());

  const call = async (gw: { url: string }, token: string, path = "/CCM_STS") => {
    const res = await request(`${gw.url}${path}`, {
      method: "POST",
      dispatcher: h.dispatcher,
      headers: { authorization: `Bearer ${token}` },
    });
    await res.body.dump();
    return { status: res.statusCode, headers: res.headers };
  };

  it("when the gateway starts, then a request waits for the first fetch instead of failing, and /readyz says not ready until keys arrive", async () => {
    await h.entra("POST", "/_sim/latency", { ms: 800, targets: ["keys"] });
    const gw = await secondGateway(h, { waitForKeys: false });
    try {
      const ready = await request(`${gw.url}/readyz`, { dispatcher: h.dispatcher });
      expect(ready.statusCode).toBe(503);
      await ready.body.dump();
      const t = h.tenant("contoso");
      expect((await call(gw, await h.userToken(t, 1))).status).toBe(200);
      await gw.keys.whenSettled();
      const after = await request(`${gw.url}/readyz`, { dispatcher: h.dispatcher });
      expect(after.statusCode).toBe(200);
      await after.body.dump();
    } finally {
      await h.entra("POST", "/_sim/latency", { ms: 0 });
      await gw.stop();
    }
  });

  it("when 1000 requests carry random unknown kids, then the emulator sees at most one JWKS fetch for that tenant", async () => {
    const t = h.tenant("contoso");
    await h.entra("POST", "/_sim/stats/reset");
    const statuses: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, () =>
          call(h.stack.gateway, h.stack.entra.mint({ tenantId: t.id, header: { kid: randomKid(), x5t: null } })),
        ),
      );
      statuses.push(...results.map((r) => r.status));
    }
    expect(statuses.filter((s) => s !== 401)).toEqual([]);
    const stats = await h.entra("GET", "/_sim/stats");
    expect(stats.keys[t.id] ?? 0).toBeLessThanOrEqual(1);
    for (const other of h.stack.entra.directory.tenants.filter((x) => x.id !== t.id))
      expect(stats.keys[other.id] ?? 0).toBe(0);
  });

  it("when the IdP's JWKS is down, then valid tokens keep passing and unknown kids fail closed", async () => {
    const t = h.tenant("tailspin");
    const valid = await h.userToken(t, 1);
    await h.entra("POST", "/_sim/outage", { enabled: true, mode: "503", targets: ["keys", "discovery"] });
    try {
      expect((await call(h.stack.gateway, valid)).status).toBe(200);
      expect((await call(h.stack.gateway, await h.userToken(t, 2))).status).toBe(200); // never seen: verified with cached keys
      const unknown = await call(
        h.stack.gateway,
        h.stack.entra.mint({ tenantId: t.id, header: { kid: randomKid(), x5t: null } }),
      );
      expect(unknown.status).toBe(401);
    } finally {
      await h.entra("POST", "/_sim/outage", { enabled: false });
    }
  });

  it("when a key is revoked in the emulator, then tokens signed with it are refused as soon as the gateway refreshes, cached verdicts included", async () => {
    const t = h.tenant("contoso");
    const token = await h.userToken(t, 5);
    expect((await call(h.stack.gateway, token)).status).toBe(200); // verdict cached
    const kid = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string;
    await h.entra("POST", "/_sim/keys/revoke", { tenantId: t.id, kid });
    expect((await call(h.stack.gateway, token)).status).toBe(200); // the gateway has not refreshed yet
    await h.stack.gateway.keys.refreshAll();
    expect((await call(h.stack.gateway, token)).status).toBe(401);
    // Tokens from the key that took over keep working (after the unknown-kid refresh or the one above).
    expect((await call(h.stack.gateway, await h.userToken(t, 6))).status).toBe(200);
  });
});

describe("stale window", () => {
  let h: StackHarness;
  beforeAll(async () => {
    h = await startStackHarness();
  });
  afterAll(() => h?.close());

  it("when the IdP stays down past the stale window, then the tenant answers 503 with Retry-After; when it is back, 200 again", async () => {
    const clock = new FakeClock(Date.now());
    const gw = await secondGateway(h, {
      clock,
      edit: (raw) => {
        raw.auth.jwks = {
          ...raw.auth.jwks,
          refreshIntervalMs: 30_000,
          ttlMs: 3_600_000,
          staleWindowMs: 60_000,
          retryMinMs: 10_000,
          retryMaxMs: 10_000,
        };
      },
    });
    try {
      const t = h.tenant("contoso");
      const token = await h.userToken(t, 1);
      const post = async () => {
        const res = await request(`${gw.url}/CCM_STS`, {
          method: "POST",
          dispatcher: h.dispatcher,
          headers: { authorization: `Bearer ${token}` },
        });
        await res.body.dump();
        return res;
      };
      expect((await post()).statusCode).toBe(200);
      await h.entra("POST", "/_sim/outage", { enabled: true, mode: "503", targets: ["keys"] });
      const setState = () => gw.keys.statuses().find((s) => s.tenantId === t.id && s.version === 1)!;
      await clock.advance(35_000); // background refresh fails: stale
      await until(() => setState().consecutiveFailures > 0, "a failed refresh");
      expect(setState().state).toBe("stale");
      expect((await post()).statusCode).toBe(200);
      await clock.advance(70_000); // past the stale window
      await until(() => setState().state === "unavailable", "unavailable");
      const refused = await post();
      expect(refused.statusCode).toBe(503);
      expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
      expect(refused.headers["www-authenticate"]).toBeUndefined();
      await h.entra("POST", "/_sim/outage", { enabled: false });
      const failures = setState().consecutiveFailures;
      await clock.advance(15_000); // the next retry succeeds
      await until(
        () => setState().consecutiveFailures === 0 || setState().consecutiveFailures < failures,
        "a successful retry",
      );
      await until(() => setState().state === "fresh", "fresh");
      expect((await post()).statusCode).toBe(200);
    } finally {
      await h.entra("POST", "/_sim/outage", { enabled: false });
      await gw.stop();
    }
  });
});
