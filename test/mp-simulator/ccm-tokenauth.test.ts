import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EntraIdentity } from "../../mp-simulator/identity.js";
import { guid, type MpHarness, startMp } from "./harness.js";

let h: MpHarness;
let clock = Date.now();
const tenantId = guid();
const deviceId = guid();

beforeAll(async () => {
  h = await startMp({ mp: { now: () => clock } });
});
afterAll(async () => {
  await h.close();
});

async function ccmToken(identity: EntraIdentity) {
  const res = await h.call("POST", "/CCM_STS", { identity });
  expect(res.status).toBe(200);
  return res.body.token as string;
}

function message(target: string, payload: string, sourceHost = "PC0001"): string {
  return (
    `<Msg SchemaVersion="1.1"><ID>{${guid()}}</ID><SourceHost>${sourceHost}</SourceHost>` +
    `<TargetEndpoint>${target}</TargetEndpoint><ReplyMode>Sync</ReplyMode>` +
    `<Payload><![CDATA[${payload}]]></Payload></Msg>`
  );
}

const REGISTRATION =
  '<ClientRegistrationRequest><Data RequestType="Registration" TimeStamp="2025-01-01T00:00:00Z">' +
  '<AgentInformation AgentIdentity="CCMSetup.exe" AgentVersion="5.00.9128.1007" AgentType="0"/>' +
  '<DiscoveryProperties><Property Name="Netbios Name" Value="PC0001"/><Property Name="FQ Name" Value="pc0001.contoso.com"/>' +
  '<Property Name="Locale ID" Value="1033"/><Property Name="InternetFlag" Value="1"/></DiscoveryProperties></Data>' +
  "</ClientRegistrationRequest>";

function post(token: string | undefined, body: string) {
  return h.call("POST", "/ccm_system_tokenauth/request", {
    headers: { "content-type": "text/xml", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
}

describe("/ccm_system_tokenauth/request validates the CCM token itself", () => {
  it("when a device registers with its CCM token, then it gets an SMSID with approval 3 and is listed as a Device", async () => {
    const token = await ccmToken({ tenantId, kind: "device", deviceId });
    const res = await post(token, message("MP_ClientRegistration", REGISTRATION));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/xml/);
    const smsId = /SMSID="(GUID:[0-9A-F-]{36})"/.exec(res.text)?.[1];
    expect(smsId).toBeDefined();
    expect(res.text).toContain('RegistrationApprovalStatus="3"');
    expect(h.mp.registry.findByDevice(tenantId, deviceId)).toMatchObject({
      smsId,
      netbiosName: "PC0001",
      fqdn: "pc0001.contoso.com",
      clientVersion: "5.00.9128.1007",
    });
    expect(h.mp.audit.entries().at(-1)).toMatchObject({
      outcome: "served",
      ccmSubject: { tenantId, kind: "device", subject: deviceId },
    });

    const again = await post(token, message("MP_ClientRegistration", REGISTRATION));
    expect(again.text).toContain(`SMSID="${smsId}"`);
  });

  it("when the registered device asks MP_PolicyManager, then it gets its machine policy assignment list", async () => {
    const token = await ccmToken({ tenantId, kind: "device", deviceId });
    const smsId = h.mp.registry.findByDevice(tenantId, deviceId)!.smsId;
    const request =
      `<RequestAssignments SchemaVersion="1.00" ACK="false" RequestType="Always"><Identification><Machine>` +
      `<ClientID>${smsId}</ClientID><NetBIOSName>PC0001</NetBIOSName></Machine></Identification>` +
      `<PolicySource>SMS:PS1</PolicySource><Resource ResourceType="Machine"/><ServerCookie/></RequestAssignments>`;
    const res = await post(token, message("MP_PolicyManager", request));
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^<ReplyAssignments SchemaVersion="1.00" ReplyType="Full">/);
    expect(res.text).toContain(`<ClientID>${smsId}</ClientID>`);
    expect(res.text.match(/<PolicyAssignment /g)).toHaveLength(5);
    expect(res.text).toContain('PolicyCategory="ClientAgentConfig"');
  });

  it("when a device of another tenant names that client ID, then 403 client_not_registered", async () => {
    const smsId = h.mp.registry.findByDevice(tenantId, deviceId)!.smsId;
    const token = await ccmToken({ tenantId: guid(), kind: "device", deviceId: guid() });
    const request = `<RequestAssignments><Identification><Machine><ClientID>${smsId}</ClientID></Machine></Identification><Resource ResourceType="Machine"/></RequestAssignments>`;
    const res = await post(token, message("MP_PolicyManager", request));
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("client_not_registered");
  });

  it("when no CCM token is sent, then 401 with a Bearer challenge", async () => {
    const res = await post(undefined, message("MP_ClientRegistration", REGISTRATION));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("ccm_token_missing");
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="ccm_system_tokenauth"');
  });

  it("when the CCM token is signed by another key, then 401 invalid_token and nothing is registered", async () => {
    const real = await ccmToken({ tenantId, kind: "device", deviceId: guid() });
    const { privateKey } = await generateKeyPair("RS256");
    const forgedDevice = guid();
    const forged = await new SignJWT({ ...decodeJwt(real), deviceid: forgedDevice, sub: forgedDevice })
      .setProtectedHeader(decodeProtectedHeader(real) as { alg: string })
      .sign(privateKey);
    const before = h.mp.registry.list().length;
    const res = await post(forged, message("MP_ClientRegistration", REGISTRATION));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("ccm_token_invalid");
    expect(res.headers["www-authenticate"]).toContain('error="invalid_token"');
    expect(h.mp.registry.list().length).toBe(before);
  });

  it("when a valid CCM token's payload is altered, then 401", async () => {
    const real = await ccmToken({ tenantId, kind: "device", deviceId });
    const [head, , sig] = real.split(".");
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(real), tid: guid() })).toString("base64url");
    const res = await post(`${head}.${payload}.${sig}`, message("MP_ClientRegistration", REGISTRATION));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("ccm_token_invalid");
  });

  it("when the CCM token has expired (8 h later), then 401 ccm_token_expired", async () => {
    const token = await ccmToken({ tenantId, kind: "device", deviceId });
    const ok = await post(token, message("MP_ClientRegistration", REGISTRATION));
    expect(ok.status).toBe(200);
    clock += 8 * 3600_000 + 120_000;
    const res = await post(token, message("MP_ClientRegistration", REGISTRATION));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("ccm_token_expired");
    expect(h.mp.audit.entries().at(-1)).toMatchObject({ outcome: "rejected", reason: "ccm_token_expired" });
  });
});
