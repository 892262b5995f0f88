import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EntraIdentity } from "../../mp-simulator/identity.js";
import { guid, type MpHarness, startMp, waitFor } from "./harness.js";

let h: MpHarness;
let admin: EntraIdentity;

beforeAll(async () => {
  h = await startMp({ discovery: true });
  await waitFor(() => h.mp.discovery!.status().tenants.every((t) => t.state === "synced"), 20_000);
  const t = h.emulator!.sim.directory.tenants[0]!;
  admin = { tenantId: t.id, kind: "user", objectId: t.users[0]!.id, clientAppId: t.clientAppId };
});
afterAll(async () => {
  await h.close();
});

describe("AdminService serves the discovered users", () => {
  it("when a user lists /AdminService/v1.0/User, then every discovered user of every tenant is there", async () => {
    const res = await h.call("GET", "/AdminService/v1.0/User", { identity: admin });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body["@odata.context"]).toBe(`${h.mp.url}/AdminService/v1.0/$metadata#User`);
    const all = h.emulator!.sim.directory.tenants.flatMap((t) => t.users.map((u) => u.id)).sort();
    expect(res.body.value.map((u: { AADUserID: string }) => u.AADUserID).sort()).toEqual(all);
  });

  it("when $filter names a UPN, then exactly that user comes back with its on-premises SID", async () => {
    const t = h.emulator!.sim.directory.tenants[0]!;
    const hybrid = t.users.find((u) => u.onPremisesSecurityIdentifier)!;
    const filter = encodeURIComponent(
      `UserPrincipalName eq '${hybrid.userPrincipalName.toUpperCase()}' and AADTenantID eq '${t.id}'`,
    );
    const res = await h.call("GET", `/AdminService/v1.0/User?$filter=${filter}`, { identity: admin });
    expect(res.status).toBe(200);
    expect(res.body.value).toHaveLength(1);
    expect(res.body.value[0]).toMatchObject({
      AADUserID: hybrid.id,
      UserPrincipalName: hybrid.userPrincipalName,
      SID: hybrid.onPremisesSecurityIdentifier,
      FullUserName: hybrid.displayName,
    });
  });

  it("when $top and $select are given, then the page is cut and projected", async () => {
    const res = await h.call("GET", "/AdminService/v1.0/User?$top=3&$select=UserPrincipalName,AADUserID", {
      identity: admin,
    });
    expect(res.body.value).toHaveLength(3);
    expect(Object.keys(res.body.value[0]).sort()).toEqual(["AADUserID", "UserPrincipalName"]);
    expect(res.body["@odata.context"]).toMatch(/#User\(UserPrincipalName,AADUserID\)$/);
  });

  it("when the query is unsupported, then 400 in OData's error shape", async () => {
    const bad = await h.call(
      "GET",
      `/AdminService/v1.0/User?$filter=${encodeURIComponent("startswith(UserName,'a')")}`,
      { identity: admin },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("query_invalid");
    const unknown = await h.call("GET", `/AdminService/v1.0/User?$filter=${encodeURIComponent("Shoe eq 'x'")}`, {
      identity: admin,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("Shoe");
    const orderby = await h.call("GET", "/AdminService/v1.0/User?$orderby=UserName", { identity: admin });
    expect(orderby.status).toBe(400);
  });

  it("when $metadata is asked, then a CSDL document describes User and Device", async () => {
    const res = await h.call("GET", "/AdminService/v1.0/$metadata", { identity: admin });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/xml/);
    expect(res.text).toContain('<EntityType Name="User">');
    expect(res.text).toContain('<EntitySet Name="Device" EntityType="AdminService.Device"/>');
  });

  it("when a device registered, then Device and wmi/SMS_R_System list it", async () => {
    const deviceId = guid();
    const sts = await h.call("POST", "/CCM_STS", { identity: { tenantId: admin.tenantId, kind: "device", deviceId } });
    const registration =
      `<Msg><TargetEndpoint>MP_ClientRegistration</TargetEndpoint><Payload><ClientRegistrationRequest>` +
      `<Data RequestType="Registration"><DiscoveryProperties><Property Name="Netbios Name" Value="LAPTOP-7"/></DiscoveryProperties></Data>` +
      `</ClientRegistrationRequest></Payload></Msg>`;
    const reg = await h.call("POST", "/ccm_system_tokenauth/request", {
      headers: { authorization: `Bearer ${sts.body.token}`, "content-type": "application/xml" },
      body: registration,
    });
    expect(reg.status).toBe(200);
    const devices = await h.call(
      "GET",
      `/AdminService/v1.0/Device?$filter=${encodeURIComponent(`AADDeviceID eq '${deviceId}'`)}`,
      {
        identity: admin,
      },
    );
    expect(devices.body.value).toEqual([
      expect.objectContaining({ Name: "LAPTOP-7", AADDeviceID: deviceId, IsApproved: 3 }),
    ]);
    const wmi = await h.call("GET", "/AdminService/wmi/SMS_R_System?$filter=Name%20eq%20'LAPTOP-7'", {
      identity: admin,
    });
    expect(wmi.status).toBe(200);
    expect(wmi.body.value).toEqual([
      expect.objectContaining({ NetbiosName: "LAPTOP-7", AADDeviceID: deviceId, Client: 1 }),
    ]);
    expect(wmi.body["@odata.context"]).toBe(`${h.mp.url}/AdminService/wmi/$metadata#SMS_R_System`);
  });

  it("when the caller is a device or carries no identity, then AdminService refuses", async () => {
    const device = await h.call("GET", "/AdminService/v1.0/User", {
      identity: { tenantId: admin.tenantId, kind: "device", deviceId: guid() },
    });
    expect(device.status).toBe(403);
    expect(device.body.error.code).toBe("token_kind_not_allowed");
    const none = await h.call("GET", "/AdminService/v1.0/User");
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("identity_missing");
  });
});
