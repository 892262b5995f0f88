/**
 * CMG path forms over real HTTPS in the default stack (two management points, a site ID): the ID picks the
 * MP, route rules apply to the inner path, which is what the MP receives; only AADAuthInfo is anonymous
 * under the CMG prefixes.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import { STACK_CMG_IDS } from "../../stack/start-stack.js";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

const requests = () => h.stack.mps.reduce((n, mp) => n + mp.audit.counts().requests, 0);
const FORMS = ["/CCM_Proxy_ServerAuth", "/CCM_Proxy_MutualAuth", "/ccm_proxy_serverauth", "/CCM_PROXY_MUTUALAUTH"];

describe("CMG paths", () => {
  it("when a device token is exchanged on /CCM_Proxy_MutualAuth/{mpId}/CCM_STS, then the MP that ID names issues the CCM token", async () => {
    const t = h.tenant("contoso");
    for (const [id, fqdn, mp] of [
      [STACK_CMG_IDS.mp01, "mp01.contoso.com", h.stack.mps[0]!],
      [STACK_CMG_IDS.mp02, "mp02.contoso.com", h.stack.mps[1]!],
    ] as const) {
      const before = mp.audit.counts().requests;
      const res = await h.gw("POST", `/CCM_Proxy_MutualAuth/${id}/CCM_STS`, {
        token: await h.deviceToken(t, 0),
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(res.status, res.text).toBe(200);
      expect(decodeJwt(res.body.token).iss).toBe(`https://${fqdn}/CCM_STS`);
      // The MP got the inner path, as the CMG connection point rewrites it.
      expect(mp.audit.counts().requests).toBe(before + 1);
      expect(mp.audit.entries({ limit: 1 })[0]).toMatchObject({ path: "/CCM_STS", outcome: "served" });
    }
  });

  it("when the prefix is written in another case (/CCM_PROXY_SERVERAUTH/{id}/CCM_STS), then it is the same path", async () => {
    const res = await h.gw("POST", `/CCM_PROXY_SERVERAUTH/${STACK_CMG_IDS.mp02}/CCM_STS`, {
      token: await h.userToken(h.tenant("contoso"), 2),
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status, res.text).toBe(200);
    expect(decodeJwt(res.body.token).iss).toBe("https://mp02.contoso.com/CCM_STS");
  });

  it("when AdminService is called on the site ID, then 401 without a token, 200 with a user token, 403 with a device token", async () => {
    const t = h.tenant("contoso");
    const path = `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/AdminService/v1.0/Device`;
    const none = await h.gw("GET", path);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer realm=/);
    const user = await h.gw("GET", path, { token: await h.userToken(t, 3) });
    expect(user.status, user.text).toBe(200);
    expect(h.stack.mp.audit.entries({ limit: 1 })[0]).toMatchObject({ path: "/AdminService/v1.0/Device" });
    const device = await h.gw("GET", path, { token: await h.deviceToken(t, 1) });
    expect(device.status).toBe(403);
    expect(device.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
  });

  it("when the ID is unknown (or not an ID), then 404 and nothing is forwarded, even with a good token", async () => {
    const token = await h.userToken(h.tenant("contoso"), 4);
    const before = requests();
    for (const path of [
      "/CCM_Proxy_ServerAuth/72186325152220599/CCM_STS",
      "/CCM_Proxy_MutualAuth/1/CCM_STS",
      "/CCM_Proxy_ServerAuth/PS1/AdminService/v1.0/Device",
      "/CCM_Proxy_ServerAuth/72186325152220500",
      "/CCM_Proxy_ServerAuth/",
      "/CCM_Proxy_MutualAuth/AADAuthInfo?TenantID=x",
    ]) {
      const res = await h.gw("POST", path, { token, headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status, path).toBe(404);
    }
    expect(requests()).toBe(before);
  });

  it("when a path hides a way out of its CMG prefix, then it is refused before any MP sees it", async () => {
    const before = requests();
    for (const path of [
      `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/SMS_MP/.sms_aut/../../AdminService/v1.0/Device`,
      `/CCM_Proxy_ServerAuth/AADAuthInfo/../${STACK_CMG_IDS.site}/AdminService/v1.0/Device`,
      `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/%2e%2e/AdminService/v1.0/Device`,
      `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/CCM_Proxy_ServerAuth/AADAuthInfo`,
      `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/AADAuthInfo?TenantID=${h.tenant("contoso").id}`,
    ]) {
      const res = await h.gw("GET", path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
    }
    expect(requests()).toBe(before);
  });

  it("when AADAuthInfo is asked in any prefix case, then the gateway answers it without a token", async () => {
    const t = h.tenant("contoso");
    for (const prefix of ["/CCM_Proxy_ServerAuth", "/CCM_PROXY_SERVERAUTH"]) {
      const res = await h.gw("GET", `${prefix}/AADAuthInfo?TenantID=${t.id}`);
      expect(res.status, prefix).toBe(200);
      expect(res.body.ClientAppId).toBe(t.clientAppId);
    }
  });

  it("when every default route is walked under both CMG forms, with and without a token, then only AADAuthInfo and the route's own anonymous rules pass without one", async () => {
    const t = h.tenant("contoso");
    const device = await h.deviceToken(t, 2);
    const user = await h.userToken(t, 5);
    const SAMPLE: Record<string, string> = {
      "/SMS_MP/.sms_aut": "/SMS_MP/.sms_aut?MPLIST",
      "/AdminService/": "/AdminService/v1.0/Device",
      "/ccm_system_tokenauth/": "/ccm_system_tokenauth/request",
    };
    const inner = (prefix: string) =>
      SAMPLE[prefix] ?? (prefix.endsWith("/") ? `${prefix}PS100004/x.bin?size=10` : prefix);
    for (const form of FORMS) {
      for (const route of DEFAULT_ROUTES) {
        const path = `${form}/${STACK_CMG_IDS.mp01}${inner(route.prefix)}`;
        const method = route.prefix === "/CCM_STS" ? "POST" : "GET";
        const init = method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {};
        const before = requests();
        const none = await h.gw(method, path, init);
        if (route.requirement === "anonymous" || route.requirement === "passthrough") {
          // The MP itself decides (the MP list is public; ccm_system_tokenauth needs its CCM token).
          expect(requests(), path).toBe(before + 1);
        } else {
          expect(none.status, path).toBe(401);
          expect(requests(), path).toBe(before);
        }
        const withDevice = await h.gw(method, path, { ...init, token: device });
        const withUser = await h.gw(method, path, { ...init, token: user });
        if (route.requirement === "entra") {
          // Past the gateway: the MP answers (405 for a GET on the upload path is the MP's own answer).
          expect([401, 403, 404], path).not.toContain(withDevice.status);
          expect([401, 403, 404], path).not.toContain(withUser.status);
        }
        if (route.requirement === "user") {
          expect(withDevice.status, path).toBe(403);
          expect(withUser.status, path).toBeLessThan(400);
        }
      }
    }
    // The MPs' own record: nothing reached a token-only path without an identity.
    const tokenOnly = DEFAULT_ROUTES.filter((r) => r.requirement !== "anonymous" && r.requirement !== "passthrough");
    for (const mp of h.stack.mps) {
      for (const entry of mp.audit.entries()) {
        const needsToken = tokenOnly.some((r) => entry.path.toLowerCase().startsWith(r.prefix.toLowerCase()));
        if (needsToken) expect(entry.identity, `${entry.method} ${entry.path}`).toBeDefined();
      }
    }
  });

  it("when a client sends X-Original-URL and other identity-style headers, then the MP receives none of them", async () => {
    const res = await h.gw("POST", `/CCM_Proxy_MutualAuth/${STACK_CMG_IDS.mp01}/CCM_STS`, {
      token: await h.deviceToken(h.tenant("contoso"), 3),
      headers: {
        "content-type": "application/json",
        "X-Original-URL": "/AdminService/",
        "X-Rewrite-URL": "/AdminService/",
        "X-ARR-ClientCert": "MIIB",
        "X-Client-Cert": "MIIB",
        "SSL-Client-Cert": "MIIB",
        "X-Real-IP": "203.0.113.9",
        "X-MS-CLIENT-PRINCIPAL-NAME": "admin@contoso.com",
        "x-ms-token-aad-access-token": "x",
      },
      body: "{}",
    });
    expect(res.status, res.text).toBe(200);
    const entry = h.stack.mp.audit.entries({ limit: 1 })[0]!;
    expect(entry.path).toBe("/CCM_STS");
    expect(entry.foreignIdentityHeaders).toBeUndefined();
  });

  it("when the gateway is used directly in front of an MP (plain paths), then they keep working", async () => {
    const res = await h.gw("POST", "/CCM_STS", {
      token: await h.deviceToken(h.tenant("contoso"), 4),
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status, res.text).toBe(200);
    expect(decodeJwt(res.body.token).iss).toBe("https://mp01.contoso.com/CCM_STS");
  });
});

describe("Administration Service Management over CMG paths (fabrikam has it on)", () => {
  const sts = (token: string) =>
    h.gw("POST", `/CCM_Proxy_MutualAuth/${STACK_CMG_IDS.mp01}/CCM_STS`, {
      token,
      headers: { "content-type": "application/json" },
      body: "{}",
    });
  const adminService = (token: string) =>
    h.gw("GET", `/CCM_Proxy_ServerAuth/${STACK_CMG_IDS.site}/AdminService/v1.0/Device`, { token });

  it("when its clients present device and user tokens, then they still get CCM tokens", async () => {
    const t = h.tenant("fabrikam");
    expect((await sts(await h.deviceToken(t, 0))).status).toBe(200);
    expect((await sts(await h.userToken(t, 2))).status).toBe(200);
  });

  it("when its cloud management tokens call AdminService, then 403; its administration service app's tokens get 200 there and 403 on CCM_STS", async () => {
    const t = h.tenant("fabrikam");
    const cm = await adminService(await h.userToken(t, 3));
    expect(cm.status).toBe(403);
    expect(cm.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    const asmToken = await h.adminServiceToken(t, 3);
    expect((await adminService(asmToken)).status).toBe(200);
    expect((await sts(asmToken)).status).toBe(403);
  });
});
