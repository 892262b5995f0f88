import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MpHarness, startMp, waitFor } from "./harness.js";

let h: MpHarness;

beforeAll(async () => {
  h = await startMp({ discovery: { deltaIntervalMs: 3_600_000, retry: { initialDelayMs: 100, maxDelayMs: 400 } } });
  await waitFor(() => h.mp.discovery!.status().tenants.every((t) => t.state === "synced"), 20_000);
});
afterAll(async () => {
  await h.close();
});

describe("Entra user discovery through a Graph outage", () => {
  it("when Graph answers 503 with Retry-After, then discovery keeps its users, retries on its own, and recovers", async () => {
    const tenant = h.emulator!.sim.directory.tenants[0]!;
    const usersBefore = h.mp.discovery!.users(tenant.id).length;
    await h.emulator!.call("POST", "/_sim/outage", { json: { enabled: true, mode: "503", targets: ["graph"] } });
    const added = await h.emulator!.call("POST", "/_sim/users", {
      json: { tenantId: tenant.id, upn: "during.outage@contoso.onmicrosoft.com" },
    });

    const [failed] = await h.mp.discovery!.syncNow({ tenantId: tenant.id });
    expect(failed).toMatchObject({ state: "retrying", users: usersBefore, consecutiveFailures: 1 });
    expect(failed!.lastError).toMatchObject({ stage: "graph", status: 503, transient: true, retryAfterMs: 30_000 });
    // Retry-After (30 s) is honoured up to retry.maxDelayMs (400 ms here).
    expect(Date.parse(failed!.nextRunAt!) - Date.parse(failed!.lastError!.at)).toBe(400);

    // Retries run by themselves while the outage lasts.
    expect(await waitFor(() => h.mp.discovery!.status().tenants[0]!.consecutiveFailures >= 3, 5000)).toBe(true);
    expect(h.mp.discovery!.users(tenant.id)).toHaveLength(usersBefore);

    await h.emulator!.call("POST", "/_sim/outage", { json: { enabled: false } });
    expect(await waitFor(() => h.mp.discovery!.status().tenants[0]!.state === "synced", 5000)).toBe(true);
    const recovered = h.mp.discovery!.status().tenants[0]!;
    expect(recovered.consecutiveFailures).toBe(0);
    expect(recovered.totalFailures).toBeGreaterThanOrEqual(3);
    expect(h.mp.discovery!.users(tenant.id).map((u) => u.id)).toContain(added.body.id);
  });
});
