import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MpHarness, startMp, waitFor } from "./harness.js";

let h: MpHarness;
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
    done();
  },
});

beforeAll(async () => {
  h = await startMp({
    discovery: { retry: { initialDelayMs: 100, maxDelayMs: 60_000 } },
    mapTenants: (tenants) => tenants.map((t, i) => (i === 0 ? { ...t, clientSecret: "not-the-secret" } : t)),
    mp: { logger: pino({ level: "info" }, sink) },
  });
  await waitFor(
    () => h.mp.discovery!.status().tenants.every((t) => t.state === "synced" || t.state === "failing"),
    20_000,
  );
});
afterAll(async () => {
  await h.close();
});

describe("Entra user discovery with a wrong secret", () => {
  it("when the server app's secret is wrong, then the status shows the AADSTS error and the other tenants still sync", () => {
    const [bad, ...others] = h.mp.discovery!.status().tenants;
    expect(bad).toMatchObject({ state: "failing", users: 0, consecutiveFailures: 1 });
    expect(bad!.lastError).toMatchObject({
      stage: "token",
      aadsts: "AADSTS7000215",
      code: "invalid_client",
      status: 401,
      transient: false,
    });
    expect(bad!.lastError!.message).toContain("Invalid client secret");
    for (const t of others) expect(t.state).toBe("synced");
  });

  it("when it keeps failing, then it is retried slowly (no crash loop) and the MP keeps serving", async () => {
    const tenant = h.emulator!.sim.directory.tenants[0]!;
    const bad = () => h.mp.discovery!.status().tenants[0]!;
    expect(Date.parse(bad().nextRunAt!) - Date.parse(bad().lastError!.at)).toBe(60_000);
    const requests = h.emulator!.sim.stats.token[tenant.id];
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.emulator!.sim.stats.token[tenant.id]).toBe(requests);
    expect(bad().consecutiveFailures).toBe(1);
    const res = await h.call("GET", "/_mp/status");
    expect(res.status).toBe(200);
    expect(res.body.discovery.tenants[0].lastError.aadsts).toBe("AADSTS7000215");
  });

  it("when the failure happens, then an error log line names the tenant and the AADSTS code", () => {
    const tenant = h.emulator!.sim.directory.tenants[0]!;
    const line = lines.find((l) => l.level === 50 && l.tenantId === tenant.id);
    expect(line).toMatchObject({ component: "discovery", aadsts: "AADSTS7000215", stage: "token" });
    expect(String(line!.msg)).toContain("AADSTS7000215");
  });
});
