/**
 * Real grants and minted tokens of every kind, v1 and v2, through the gateway: accepted where their route
 * allows them, with the identity the MP receives matching the token.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

function lastIdentity() {
  const entries = h.stack.mp.audit.entries({ limit: 1 });
  return entries[0]?.identity;
}

describe("token kinds through the gateway", () => {
  it("when a v1 user token from ROPC calls /CCM_STS, then the MP sees a user identity with the user's oid and the client app", async () => {
    const t = h.tenant("contoso");
    const res = await h.gw("POST", "/CCM_STS", { token: await h.userToken(t, 4) });
    expect(res.status, res.text).toBe(200);
    expect(lastIdentity()).toEqual({
      tenantId: t.id,
      kind: "user",
      objectId: t.users[4]!.id,
      clientAppId: t.clientAppId,
    });
  });

  it("when a v2 user token (aud = client ID, azp) calls /CCM_STS, then it is accepted", async () => {
    const t = h.tenant("contoso");
    const token = h.stack.entra.mint({ tenantId: t.id, version: 2, upn: t.users[5]!.userPrincipalName });
    const res = await h.gw("POST", "/CCM_STS", { token });
    expect(res.status, res.text).toBe(200);
    expect(lastIdentity()).toMatchObject({ kind: "user", objectId: t.users[5]!.id, clientAppId: t.clientAppId });
  });

  it("when a device token from the device grant (no appid) calls /CCM_STS, then the MP sees a device identity", async () => {
    const t = h.tenant("contoso");
    const res = await h.gw("POST", "/CCM_STS", { token: await h.deviceToken(t, 6) });
    expect(res.status, res.text).toBe(200);
    expect(lastIdentity()).toEqual({
      tenantId: t.id,
      kind: "device",
      objectId: t.devices[6]!.id,
      deviceId: t.devices[6]!.deviceId,
    });
  });

  it("when a user+device token from a password grant with a device request calls /CCM_STS, then the MP sees user+device", async () => {
    const t = h.tenant("tailspin"); // US Government cloud
    const token = await h.userToken(t, 2, { device_request: await h.deviceRequest(t, 3) });
    const res = await h.gw("POST", "/CCM_STS", { token });
    expect(res.status, res.text).toBe(200);
    expect(lastIdentity()).toEqual({
      tenantId: t.id,
      kind: "user+device",
      objectId: t.users[2]!.id,
      deviceId: t.devices[3]!.deviceId,
      clientAppId: t.clientAppId,
    });
  });

  it("when a v2 device token is minted, then it is accepted on /CCM_STS", async () => {
    const t = h.tenant("tailspin");
    const res = await h.gw("POST", "/CCM_STS", {
      token: h.stack.entra.mint({ tenantId: t.id, kind: "device", version: 2, deviceId: t.devices[9]!.deviceId }),
    });
    expect(res.status, res.text).toBe(200);
    expect(lastIdentity()).toMatchObject({ kind: "device", deviceId: t.devices[9]!.deviceId });
  });

  it("when a user token calls AdminService, then the discovered users come back; with Administration Service Management, through its own app", async () => {
    const c = h.tenant("contoso");
    const plain = await h.gw("GET", "/AdminService/v1.0/User?$top=5", { token: await h.userToken(c, 1) });
    expect(plain.status, plain.text).toBe(200);
    const t = h.tenant("fabrikam");
    const res = await h.gw("GET", "/AdminService/v1.0/User?$top=5", { token: await h.adminServiceToken(t, 1) });
    expect(res.status, res.text).toBe(200);
    expect(lastIdentity()).toMatchObject({ tenantId: t.id, kind: "user", clientAppId: t.adminService!.clientAppId });
  });

  it("when the CCM token from /CCM_STS is used on ccm_system_tokenauth (passthrough), then the MP checks it and answers", async () => {
    const t = h.tenant("contoso");
    const sts = await h.gw("POST", "/CCM_STS", { token: await h.deviceToken(t, 7) });
    const msg = `<Msg SchemaVersion="1.1"><ID>{${crypto.randomUUID()}}</ID><SourceHost>PC0007</SourceHost><TargetEndpoint>MP_ClientRegistration</TargetEndpoint><ReplyMode>Sync</ReplyMode><Payload><![CDATA[<ClientRegistrationRequest><Data RequestType="Registration"><AgentInformation AgentVersion="5.00.9128.1007"/></Data></ClientRegistrationRequest>]]></Payload></Msg>`;
    const ok = await h.gw("POST", "/ccm_system_tokenauth/request", {
      token: sts.body.token,
      headers: { "content-type": "text/xml" },
      body: msg,
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.text).toContain('RegistrationApprovalStatus="3"');
    const forged = await h.gw("POST", "/ccm_system_tokenauth/request", {
      token: `${sts.body.token}x`,
      headers: { "content-type": "text/xml" },
      body: msg,
    });
    expect(forged.status).toBe(401);
  });
});
