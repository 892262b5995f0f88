import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISCOVERY_SELECT } from "../../mp-simulator/discovery.js";
import { type MpHarness, startMp, waitFor } from "./harness.js";

let h: MpHarness;
const PAGE = 7;

beforeAll(async () => {
  h = await startMp({ discovery: { pageSize: PAGE } });
  await waitFor(
    () => h.mp.discovery!.status().tenants.every((t) => t.state !== "pending" && t.state !== "syncing"),
    20_000,
  );
});
afterAll(async () => {
  await h.close();
});

describe("Entra user discovery: full sync", () => {
  it("when the MP starts, then every seeded user of every tenant is discovered across pages", () => {
    const status = h.mp.discovery!.status();
    for (const tenant of h.emulator!.sim.directory.tenants) {
      const s = status.tenants.find((t) => t.tenantId === tenant.id)!;
      expect(s).toMatchObject({ state: "synced", users: tenant.users.length, fullSyncs: 1, consecutiveFailures: 0 });
      expect(s.lastFullSync?.pages).toBe(Math.max(1, Math.ceil(tenant.users.length / PAGE)));
      const discovered = h.mp
        .discovery!.users(tenant.id)
        .map((u) => u.id)
        .sort();
      expect(discovered).toEqual(tenant.users.map((u) => u.id).sort());
    }
    // Both clouds: the US Government tenant gets its token for graph.microsoft.us.
    const gov = h.emulator!.sim.directory.tenants.find((t) => t.cloud === "AzureUSGovernmentCloud")!;
    expect(gov.users.length).toBeGreaterThan(0);
    expect(status.tenants.find((t) => t.tenantId === gov.id)?.users).toBe(gov.users.length);
  });

  it("when a user is hybrid, then the on-premises attributes CM discovers are kept", () => {
    const tenant = h.emulator!.sim.directory.tenants[0]!;
    const hybrid = tenant.users.find((u) => u.onPremisesSecurityIdentifier !== null)!;
    const user = h.mp.discovery!.users(tenant.id).find((u) => u.id === hybrid.id)!;
    for (const name of DISCOVERY_SELECT) expect(user[name]).toBe(hybrid[name]);
    expect(user.tenantId).toBe(tenant.id);
  });

  it("when status is read over HTTPS, then /_mp/status reports each tenant's sync and marks itself internal", async () => {
    const res = await h.call("GET", "/_mp/status");
    expect(res.status).toBe(200);
    expect(res.body.internal).toBe(true);
    expect(res.body.note).toMatch(/internal/i);
    const tenant = h.emulator!.sim.directory.tenants[1]!;
    const s = res.body.discovery.tenants.find((t: { tenantId: string }) => t.tenantId === tenant.id);
    expect(s).toMatchObject({ state: "synced", users: tenant.users.length, cloud: tenant.cloud });
    expect(Date.parse(s.lastSuccessAt)).not.toBeNaN();
    expect(s.nextRunKind).toBe("delta");
  });
});
