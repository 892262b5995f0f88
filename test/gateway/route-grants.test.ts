/** Per-route grants: extra client apps, a required scope, app-only tokens only where a route allows them. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import { appClaimsV1, baseConfigInput, createHarness, outcome, signToken, TENANT_A, userClaimsV1 } from "./fixtures.js";

const TOOL_APP = "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b";

const config = {
  ...baseConfigInput(),
  routes: [
    { prefix: "/AdminService/wmi/", requirement: "user", clientApps: [TOOL_APP], requiredScope: "AdminService.Write" },
    { prefix: "/AdminService/v1.0/Reports/", requirement: "entra", allowAppOnly: true, clientApps: [TOOL_APP] },
    { prefix: "/AdminService/", requirement: "user", clientApps: [TOOL_APP.toUpperCase()] },
    ...DEFAULT_ROUTES.filter((r) => r.prefix !== "/AdminService/"),
  ],
};

describe("route grants", () => {
  it("when AdminService tooling's own app calls a route that lists it, then it passes; elsewhere client_app_invalid", async () => {
    const h = await createHarness({ config });
    const key = h.keyOf.get(TENANT_A.id)!;
    const tool = signToken(key, { ...userClaimsV1(TENANT_A, h.clock.nowSec()), appid: TOOL_APP });
    expect(outcome(await h.check(tool, "/AdminService/v1.0/Device"))).toBe("ok");
    // The verdict is cached now; the next route must still judge the client app itself.
    expect(outcome(await h.check(tool, "/CCM_STS"))).toBe("client_app_invalid");
    const stranger = signToken(key, { ...userClaimsV1(TENANT_A, h.clock.nowSec()), appid: randomUUID() });
    expect(outcome(await h.check(stranger, "/AdminService/v1.0/Device"))).toBe("client_app_invalid");
  });

  it("when a route requires a scope, then a token without it gets scope_missing, one with it passes", async () => {
    const h = await createHarness({ config });
    const key = h.keyOf.get(TENANT_A.id)!;
    const now = h.clock.nowSec();
    const plain = signToken(key, userClaimsV1(TENANT_A, now));
    expect(outcome(await h.check(plain, "/AdminService/v1.0/Device"))).toBe("ok");
    expect(outcome(await h.check(plain, "/AdminService/wmi/SMS_Site"))).toBe("scope_missing");
    const scoped = signToken(key, { ...userClaimsV1(TENANT_A, now), scp: "user_impersonation AdminService.Write" });
    expect(outcome(await h.check(scoped, "/AdminService/wmi/SMS_Site"))).toBe("ok");
  });

  it("when an app-only token is presented, then it is refused unless the route allows app-only tokens", async () => {
    const h = await createHarness({ config });
    const key = h.keyOf.get(TENANT_A.id)!;
    const app = signToken(key, { ...appClaimsV1(TENANT_A, h.clock.nowSec()), appid: TOOL_APP });
    expect(outcome(await h.check(app, "/AdminService/v1.0/Reports/x"))).toBe("ok");
    expect(outcome(await h.check(app, "/AdminService/v1.0/Device"))).toBe("token_kind_not_allowed");
    expect(outcome(await h.check(app, "/CCM_STS"))).toBe("token_kind_not_allowed");
  });

  it("when nothing is configured, then app-only tokens are refused everywhere (the default)", async () => {
    const h = await createHarness();
    for (const path of ["/CCM_STS", "/AdminService/v1.0/Device", "/CCM_Client/x"]) {
      expect(outcome(await h.check(h.tokens().AppToken, path)), path).toBe("token_kind_not_allowed");
    }
  });
});
