/**
 * Entra group discovery beside user discovery: the full sync lists `/groups` and each group's `/members`,
 * the delta sync applies `/groups/delta` (`members@delta` added and `@removed`), and the groups are stored
 * with the users, their members being discovered users.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type MpHarness, startMp, waitFor } from "./harness.js";

let h: MpHarness;
let tenant: DirectoryTenant;

const emulatorGroups = () =>
  h
    .emulator!.sim.directory.groups(tenant)
    .map((g) => ({ id: g.id, displayName: g.displayName, memberIds: [...g.members].sort() }));
const mpGroups = () =>
  h.mp
    .discovery!.groups(tenant.id)
    .map((g) => ({ id: g.id, displayName: g.displayName, memberIds: g.memberIds }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

beforeAll(async () => {
  // A long delta interval and small pages: the test drives the syncs and paging is exercised.
  h = await startMp({ discovery: { deltaIntervalMs: 3_600_000, pageSize: 7 } });
  await waitFor(() => h.mp.discovery!.status().tenants.every((t) => t.state === "synced"), 20_000);
  tenant = h.emulator!.sim.directory.tenants[0]!;
});
afterAll(async () => {
  await h.close();
});

describe("Entra group discovery", () => {
  it("when the full sync ran, then every group is stored with all its members, and every member is a discovered user", () => {
    expect(emulatorGroups().length).toBe(3);
    expect(mpGroups()).toEqual(emulatorGroups());
    const everyone = mpGroups().find((g) => g.displayName === "ConfigMgr Users")!;
    expect(everyone.memberIds.length).toBe(tenant.users.length); // > pageSize: /members was paged
    const users = new Set(h.mp.discovery!.users(tenant.id).map((u) => u.id));
    for (const g of mpGroups()) for (const id of g.memberIds) expect(users.has(id)).toBe(true);
    const status = h.mp.discovery!.status().tenants.find((t) => t.tenantId === tenant.id)!;
    expect(status).toMatchObject({ groups: 3, lastFullSync: { groups: 3 } });
  });

  it("when members are added and removed in Entra, then the next delta sync applies both from members@delta", async () => {
    const admins = h.emulator!.sim.directory.findGroup(tenant, "ConfigMgr Administrators")!;
    const joiner = tenant.users[5]!;
    const leaver = [...admins.members][0]!;
    const leaverUpn = tenant.users.find((u) => u.id === leaver)!.userPrincipalName;
    expect(admins.members.has(joiner.id)).toBe(false);
    const add = await h.emulator!.call("POST", "/_sim/groups/members/add", {
      json: { tenantId: tenant.id, group: "ConfigMgr Administrators", upn: joiner.userPrincipalName },
    });
    expect(add.status).toBe(200);
    await h.emulator!.call("POST", "/_sim/groups/members/remove", {
      json: { tenantId: tenant.id, group: admins.id, upn: leaverUpn },
    });

    const [status] = await h.mp.discovery!.syncNow({ tenantId: tenant.id, kind: "delta" });
    expect(status).toMatchObject({ state: "synced", deltaSyncs: 1, lastDeltaSync: { groupsChanged: 1 } });
    const stored = h.mp.discovery!.groups(tenant.id).find((g) => g.id === admins.id)!;
    expect(stored.memberIds).toContain(joiner.id);
    expect(stored.memberIds).not.toContain(leaver);
    expect(mpGroups()).toEqual(emulatorGroups());
  });

  it("when a user leaves the directory, then the delta removes them from their groups too", async () => {
    const gone = tenant.users[9]!;
    const memberOf = emulatorGroups().filter((g) => g.memberIds.includes(gone.id)).length;
    expect(memberOf).toBeGreaterThan(0);
    await h.emulator!.call("POST", "/_sim/users/remove", {
      json: { tenantId: tenant.id, upn: gone.userPrincipalName, permanent: true },
    });
    const [status] = await h.mp.discovery!.syncNow({ tenantId: tenant.id, kind: "delta" });
    expect(status).toMatchObject({ lastDeltaSync: { removed: 1, groupsChanged: memberOf } });
    expect(h.mp.discovery!.groups(tenant.id).some((g) => g.memberIds.includes(gone.id))).toBe(false);
    expect(mpGroups()).toEqual(emulatorGroups());
  });

  it("when nothing changed, then the delta changes no group", async () => {
    const [status] = await h.mp.discovery!.syncNow({ tenantId: tenant.id, kind: "delta" });
    expect(status).toMatchObject({ lastDeltaSync: { groupsChanged: 0 } });
  });
});
