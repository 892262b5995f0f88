/** The /_sim/ control API: key rotation and revocation, IdP outage and latency, counters. */
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let tenant: DirectoryTenant;
let clock = Date.now();

beforeAll(async () => {
  h = await startEmulator({ now: () => clock, rotationGraceMs: 60_000 });
  tenant = h.sim.directory.tenants[0]!;
});
afterAll(() => h.close());

async function kids(): Promise<string[]> {
  const res = await h.call("GET", `/${tenant.id}/discovery/v2.0/keys`);
  return res.body.keys.map((k: { kid: string }) => k.kid);
}

async function verifies(token: string): Promise<boolean> {
  const jwks = (await h.call("GET", `/${tenant.id}/discovery/keys`)).body;
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), { currentDate: new Date(clock) });
    return true;
  } catch {
    return false;
  }
}

describe("key controls", () => {
  it("when keys are rotated, then a new key signs, the old one stays published for the grace period and then disappears", async () => {
    const before = h.sim.keys.current(tenant.id).kid;
    const oldToken = h.sim.mint({ tenantId: tenant.id });
    const res = await h.call("POST", "/_sim/keys/rotate", { json: { tenantId: tenant.id } });
    expect(res.status).toBe(200);
    expect(res.body.retiring).toBe(before);
    expect(res.body.kid).not.toBe(before);
    const newToken = h.sim.mint({ tenantId: tenant.id });
    expect(JSON.parse(Buffer.from(newToken.split(".")[0]!, "base64url").toString()).kid).toBe(res.body.kid);
    expect(await kids()).toEqual(expect.arrayContaining([before, res.body.kid]));
    expect(await verifies(oldToken)).toBe(true);
    clock += 61_000;
    expect(await kids()).not.toContain(before);
    expect(await verifies(oldToken)).toBe(false);
    expect(await verifies(newToken)).toBe(true);
  });

  it("when the current key is revoked, then it is gone at once and another key signs", async () => {
    const current = h.sim.keys.current(tenant.id).kid;
    const token = h.sim.mint({ tenantId: tenant.id });
    const res = await h.call("POST", "/_sim/keys/revoke", { json: { tenantId: tenant.id, kid: current } });
    expect(res.status).toBe(200);
    expect(res.body.current).not.toBe(current);
    expect(await kids()).not.toContain(current);
    expect(await verifies(token)).toBe(false);
    expect(await verifies(h.sim.mint({ tenantId: tenant.id }))).toBe(true);
    const again = await h.call("POST", "/_sim/keys/revoke", { json: { tenantId: tenant.id, kid: current } });
    expect(again.status).toBe(404);
  });

  it("when every key is revoked, then a fresh key is generated so the tenant can still sign", async () => {
    for (const kid of await kids()) await h.call("POST", "/_sim/keys/revoke", { json: { tenantId: tenant.id, kid } });
    const left = await kids();
    expect(left).toHaveLength(1);
    expect(left[0]).toBe(h.sim.keys.current(tenant.id).kid);
  });
});

describe("IdP faults", () => {
  it("when an outage is on (503), then discovery and JWKS answer 503 with Retry-After while tokens still issue; off restores them", async () => {
    await h.call("POST", "/_sim/outage", { json: { enabled: true, mode: "503" } });
    const keys = await h.call("GET", `/${tenant.id}/discovery/v2.0/keys`);
    expect(keys.status).toBe(503);
    expect(keys.headers["retry-after"]).toBe("30");
    expect(keys.body.error).toBe("temporarily_unavailable");
    expect((await h.call("GET", `/${tenant.id}/v2.0/.well-known/openid-configuration`)).status).toBe(503);
    expect((await h.call("POST", `/${tenant.id}/oauth2/token`, { form: { grant_type: "bogus" } })).status).toBe(400);
    await h.call("POST", "/_sim/outage", { json: { enabled: false } });
    expect((await h.call("GET", `/${tenant.id}/discovery/v2.0/keys`)).status).toBe(200);
  });

  it("when an outage hangs, then JWKS requests get no answer until it ends", async () => {
    await h.call("POST", "/_sim/outage", { json: { enabled: true, mode: "hang", targets: ["keys"] } });
    let settled = false;
    const pending = h.call("GET", `/${tenant.id}/discovery/keys`).then((r) => {
      settled = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    expect((await h.call("GET", `/${tenant.id}/.well-known/openid-configuration`)).status).toBe(200);
    await h.call("POST", "/_sim/outage", { json: { enabled: false } });
    expect((await pending).status).toBe(200);
  });

  it("when latency is injected, then requests to the targets are delayed by it", async () => {
    await h.call("POST", "/_sim/latency", { json: { ms: 250, targets: ["keys"] } });
    const t0 = performance.now();
    await h.call("GET", `/${tenant.id}/discovery/keys`);
    const slow = performance.now() - t0;
    await h.call("POST", "/_sim/latency", { json: { ms: 0 } });
    expect(slow).toBeGreaterThanOrEqual(240);
  });

  it("when JWKS are fetched, then /_sim/stats counts the fetches per tenant and reset zeroes them", async () => {
    await h.call("POST", "/_sim/stats/reset");
    await h.call("GET", `/${tenant.id}/discovery/keys`);
    await h.call("GET", `/${tenant.id}/discovery/v2.0/keys`);
    const stats = await h.call("GET", "/_sim/stats");
    expect(stats.body.keys[tenant.id]).toBe(2);
    const bad = await h.call("POST", "/_sim/outage", { json: { enabled: true, targets: ["nope"] } });
    expect(bad.status).toBe(400);
  });
});
