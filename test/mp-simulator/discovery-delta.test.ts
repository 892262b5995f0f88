import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MpHarness, startMp, waitFor } from "./harness.js";

let h: MpHarness;

beforeAll(async () => {
  // A long delta interval: the test drives the delta syncs itself.
  h = await startMp({ discovery: { deltaIntervalMs: 3_600_000 } });
  await waitFor(() => h.mp.discovery!.status().tenants.every((t) => t.state === "synced"), 20_000);
});
afterAll(async () => {
  await h.close();
});

describe("Entra user discovery: delta sync", () => {
  it("when users are added and removed in Entra, then the next delta applies both", async () => {
    const tenant = h.emulator!.sim.directory.tenants[0]!;
    const before = h.mp.discovery!.users(tenant.id).length;
    const added = await h.emulator!.call("POST", "/_sim/users", {
      json: { tenantId: tenant.id, upn: "new.hire@contoso.onmicrosoft.com", displayName: "New Hire" },
    });
    expect(added.status).toBe(201);
    const gone = tenant.users[3]!;
    const softDeleted = tenant.users[4]!;
    await h.emulator!.call("POST", "/_sim/users/remove", {
      json: { tenantId: tenant.id, upn: gone.userPrincipalName, permanent: true },
    });
    await h.emulator!.call("POST", "/_sim/users/remove", {
      json: { tenantId: tenant.id, upn: softDeleted.userPrincipalName },
    });

    const [status] = await h.mp.discovery!.syncNow({ tenantId: tenant.id });
    expect(status).toMatchObject({
      state: "synced",
      deltaSyncs: 1,
      fullSyncs: 1,
      lastDeltaSync: { upserted: 1, removed: 2 },
    });
    const ids = h.mp.discovery!.users(tenant.id).map((u) => u.id);
    expect(ids).toContain(added.body.id);
    expect(ids).not.toContain(gone.id);
    expect(ids).not.toContain(softDeleted.id);
    expect(ids).toHaveLength(before - 1);
    expect(h.mp.discovery!.users(tenant.id).find((u) => u.id === added.body.id)?.displayName).toBe("New Hire");
  });

  it("when a user changes, then the delta updates the user and a sync with no changes changes nothing", async () => {
    const tenant = h.emulator!.sim.directory.tenants[1]!;
    const user = tenant.users[2]!;
    await h.emulator!.call("POST", "/_sim/users/disable", {
      json: { tenantId: tenant.id, upn: user.userPrincipalName },
    });
    const [first] = await h.mp.discovery!.syncNow({ tenantId: tenant.id });
    expect(first!.lastDeltaSync).toMatchObject({ upserted: 1, removed: 0 });
    const [second] = await h.mp.discovery!.syncNow({ tenantId: tenant.id });
    expect(second!.lastDeltaSync).toMatchObject({ upserted: 0, removed: 0 });
    expect(second!.users).toBe(tenant.users.length);
  });

  it("when a sync is triggered over HTTPS, then POST /_mp/discovery/sync runs it and answers the status", async () => {
    const tenant = h.emulator!.sim.directory.tenants[2]!;
    await h.emulator!.call("POST", "/_sim/users", {
      json: { tenantId: tenant.id, upn: "pilot@tailspin.onmicrosoft.us" },
    });
    const res = await h.call("POST", `/_mp/discovery/sync?tenantId=${tenant.id}`);
    expect(res.status).toBe(200);
    expect(res.body.tenants[0]).toMatchObject({
      tenantId: tenant.id,
      users: tenant.users.length,
      lastDeltaSync: { upserted: 1 },
    });
    expect(h.mp.discovery!.users(tenant.id).some((u) => u.userPrincipalName === "pilot@tailspin.onmicrosoft.us")).toBe(
      true,
    );
  });
});
