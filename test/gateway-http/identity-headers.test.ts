/** Inbound x-entra-* identity headers never reach the MP; the gateway's own do (docs/architecture.md § Proxy). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

const SPOOFED = {
  "x-entra-tenant-id": "11111111-1111-1111-1111-111111111111",
  "x-entra-object-id": "22222222-2222-2222-2222-222222222222",
  "x-entra-device-id": "33333333-3333-3333-3333-333333333333",
  "x-entra-client-app-id": "44444444-4444-4444-4444-444444444444",
  "x-entra-token-kind": "device",
  "X-Entra-Anything": "x",
};

describe("identity headers", () => {
  it("when a client sends x-entra-* on an anonymous route, then the MP receives no identity", async () => {
    const res = await h.gw("GET", "/SMS_MP/.sms_aut?MPLIST", { headers: SPOOFED });
    expect(res.status, res.text).toBe(200);
    const entry = h.stack.mp.audit.entries({ limit: 1 })[0]!;
    expect(entry.path).toBe("/SMS_MP/.sms_aut");
    expect(entry.identity).toBeUndefined();
  });

  it("when a client sends x-entra-* with a valid user token, then the MP receives the token's identity, not the spoofed one", async () => {
    const t = h.tenant("contoso");
    const res = await h.gw("POST", "/CCM_STS", { token: await h.userToken(t, 8), headers: SPOOFED });
    expect(res.status, res.text).toBe(200);
    const entry = h.stack.mp.audit.entries({ limit: 1 })[0]!;
    expect(entry.identity).toEqual({
      tenantId: t.id,
      kind: "user",
      objectId: t.users[8]!.id,
      clientAppId: t.clientAppId,
    });
  });

  it("when a client sends X-Forwarded-For, then the MP gets the gateway's view of the client address", async () => {
    const t = h.tenant("contoso");
    const res = await h.gw("GET", "/CCM_Client/pkg/file.bin?size=10", {
      token: await h.userToken(t, 9),
      headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-host": "evil.example" },
    });
    expect(res.status, res.text).toBe(200);
    // The MP records what the gateway sent; the loopback address, never the client's claim.
    const entry = h.stack.mp.audit.entries({ limit: 1 })[0]! as any;
    expect(JSON.stringify(entry)).not.toContain("203.0.113.7");
  });

  it("when the anonymous AADAuthInfo endpoint is asked, then it answers for onboarded enabled tenants only", async () => {
    const t = h.tenant("contoso");
    const ok = await h.gw("GET", `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${t.id}`);
    const server = h.stack.entra.directory.findApp(t, t.serverAppId)!;
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      TenantId: t.id,
      ClientAppId: t.clientAppId,
      ResourceUri: server.identifierUris[0],
      Authority: `https://${new URL(h.stack.entra.url).host}/${t.id}`,
    });
    expect((await h.gw("GET", `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${h.tenant("northwind").id}`)).status).toBe(
      404,
    );
    expect(
      (await h.gw("GET", "/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=00000000-0000-0000-0000-000000000000")).status,
    ).toBe(404);
    expect((await h.gw("GET", "/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=<script>")).status).toBe(404);
  });
});
