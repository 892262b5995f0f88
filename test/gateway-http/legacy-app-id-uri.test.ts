/**
 * A tenant onboarded before Graph required verified domains (docs/architecture.md § Identifier URIs): its
 * imported server app keeps CM's old default App ID URI `https://ConfigMgrService`, which Graph now refuses
 * to create. The default stack's Tailspin tenant is such a site; its clients still run the data flow.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEGACY_APP_ID_URI } from "../../entra-simulator/seed.js";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());

describe("the legacy https://ConfigMgrService tenant of the default stack", () => {
  it("when the stack starts, then Tailspin's server app is an import carrying the old default App ID URI", () => {
    const t = h.tenant("tailspin");
    expect(h.stack.entra.directory.findApp(t, t.serverAppId)!.identifierUris).toEqual([LEGACY_APP_ID_URI]);
    expect(h.stack.description.tenants.find((x) => x.id === t.id)!.serverApp.appIdUri).toBe(LEGACY_APP_ID_URI);
  });

  it("when a client asks AADAuthInfo, then the resource it must request is https://ConfigMgrService", async () => {
    const t = h.tenant("tailspin");
    const res = await h.gw("GET", `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${t.id}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ TenantId: t.id, ClientAppId: t.clientAppId, ResourceUri: LEGACY_APP_ID_URI });
  });

  it("when its device and user get tokens for that resource, then the gateway accepts them and the CCM token works on registration", async () => {
    const t = h.tenant("tailspin");
    const device = await h.deviceToken(t, 2);
    expect(claimsOf(device).aud).toBe(LEGACY_APP_ID_URI);
    const sts = await h.gw("POST", "/CCM_STS", { token: device });
    expect(sts.status, sts.text).toBe(200);
    const user = await h.userToken(t, 3);
    expect(claimsOf(user).aud).toBe(LEGACY_APP_ID_URI);
    expect((await h.gw("POST", "/CCM_STS", { token: user })).status).toBe(200);
    const msg = `<Msg SchemaVersion="1.1"><ID>{${crypto.randomUUID()}}</ID><SourceHost>PC0002</SourceHost><TargetEndpoint>MP_ClientRegistration</TargetEndpoint><ReplyMode>Sync</ReplyMode><Payload><![CDATA[<ClientRegistrationRequest><Data RequestType="Registration"><AgentInformation AgentVersion="5.00.9128.1007"/></Data></ClientRegistrationRequest>]]></Payload></Msg>`;
    const registered = await h.gw("POST", "/ccm_system_tokenauth/request", {
      token: sts.body.token,
      headers: { "content-type": "text/xml" },
      body: msg,
    });
    expect(registered.status, registered.text).toBe(200);
  });

  it("when a token of another tenant names https://ConfigMgrService as audience, then it is refused (the URI is Tailspin's only)", async () => {
    const contoso = h.tenant("contoso");
    const token = h.stack.entra.mint({ tenantId: contoso.id, claims: { aud: LEGACY_APP_ID_URI } });
    const res = await h.gw("POST", "/CCM_STS", { token });
    expect(res.status).toBe(401);
  });
});
