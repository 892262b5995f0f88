import { describe, expect, it } from "vitest";
import { checkPolicy, compileRoutes, isAdminServicePath, matchRoute } from "../../gateway/auth/policy.js";
import { createTenantRegistry } from "../../gateway/auth/tenants.js";
import { baseConfigInput, createHarness, makeConfig, outcome, TENANT_A, TENANT_ADMIN } from "./fixtures.js";

const config = makeConfig({
  ...baseConfigInput(),
  routes: [
    { prefix: "/CCM_STS", requirement: "entra" },
    { prefix: "/AdminService/", requirement: "user" },
    { prefix: "/SMS_MP/", requirement: "anonymous" },
  ],
});
const routes = compileRoutes(config.routes);
const registry = createTenantRegistry(config);

describe("policy: Administration Service Management scope (CM 2207+)", () => {
  it("when the tenant has adminServiceManagement, then its tokens reach /AdminService/ only", () => {
    const admin = registry.get(TENANT_ADMIN.id)!;
    expect(
      checkPolicy(admin, matchRoute(routes, "/AdminService/v1.0/Device")!, "user", "/AdminService/v1.0/Device"),
    ).toBe(undefined);
    expect(checkPolicy(admin, matchRoute(routes, "/CCM_STS")!, "user", "/CCM_STS")?.reason).toBe("admin_service_only");
    expect(checkPolicy(admin, matchRoute(routes, "/CCM_STS")!, "device", "/CCM_STS")?.reason).toBe(
      "admin_service_only",
    );
  });

  it("when the tenant does not have the option, then /AdminService/ follows the route rule and other routes stay open", () => {
    const a = registry.get(TENANT_A.id)!;
    expect(
      checkPolicy(a, matchRoute(routes, "/AdminService/wmi/SMS_Site")!, "user", "/AdminService/wmi/SMS_Site"),
    ).toBe(undefined);
    expect(checkPolicy(a, matchRoute(routes, "/CCM_STS")!, "device", "/CCM_STS")).toBe(undefined);
  });

  it("when the admin service path is written in another case, then it still counts as the admin service", () => {
    expect(isAdminServicePath("/adminservice/v1.0/Device")).toBe(true);
    expect(isAdminServicePath("/AdminServiceX/")).toBe(false);
    expect(isAdminServicePath("/CCM_STS")).toBe(false);
  });

  it("when an admin-service tenant's token is presented end to end, then /AdminService/ passes and /CCM_STS is refused", async () => {
    const h = await createHarness();
    const token = h.tokens(TENANT_ADMIN).GoodToken;
    expect(outcome(await h.check(token, "/AdminService/v1.0/Device"))).toBe("ok");
    expect(outcome(await h.check(token, "/CCM_STS"))).toBe("admin_service_only");
  });
});
