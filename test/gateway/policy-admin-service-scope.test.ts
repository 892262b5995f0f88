import { describe, expect, it } from "vitest";
import { checkPolicy, compileRoutes, isAdminServicePath, matchRoute } from "../../gateway/auth/policy.js";
import { createTenantRegistry } from "../../gateway/auth/tenants.js";
import {
  baseConfigInput,
  cloudManagementService,
  createHarness,
  makeConfig,
  outcome,
  TENANT_A,
  TENANT_ADMIN,
  TENANT_ADMIN_SERVICE,
} from "./fixtures.js";

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
const on = (path: string) => matchRoute(routes, path)!;

describe("policy: Administration Service Management segments AdminService (CM 2207+)", () => {
  it("when a token of the Administration Service Management app is used, then it reaches /AdminService/ only", () => {
    const admin = registry.get(TENANT_ADMIN.id)!;
    const path = "/AdminService/v1.0/Device";
    expect(checkPolicy(admin, on(path), "user", path, "adminServiceManagement")).toBe(undefined);
    expect(checkPolicy(admin, on("/CCM_STS"), "user", "/CCM_STS", "adminServiceManagement")?.reason).toBe(
      "admin_service_only",
    );
  });

  it("when the tenant has the service, then its cloud management tokens lose /AdminService/ but keep every client path", () => {
    const admin = registry.get(TENANT_ADMIN.id)!;
    const path = "/AdminService/wmi/SMS_Site";
    expect(checkPolicy(admin, on(path), "user", path, "cloudManagement")?.reason).toBe("admin_service_segmented");
    expect(checkPolicy(admin, on("/CCM_STS"), "device", "/CCM_STS", "cloudManagement")).toBe(undefined);
    expect(checkPolicy(admin, on("/CCM_STS"), "user", "/CCM_STS", "cloudManagement")).toBe(undefined);
  });

  it("when the tenant does not have the option, then /AdminService/ follows the route rule and other routes stay open", () => {
    const a = registry.get(TENANT_A.id)!;
    expect(
      checkPolicy(a, on("/AdminService/wmi/SMS_Site"), "user", "/AdminService/wmi/SMS_Site", "cloudManagement"),
    ).toBe(undefined);
    expect(checkPolicy(a, on("/CCM_STS"), "device", "/CCM_STS", "cloudManagement")).toBe(undefined);
  });

  it("when the deprecated adminServiceManagement flag is set on cloud management, then it segments like the service and warns how to migrate", () => {
    const legacy = makeConfig({
      ...baseConfigInput(),
      azureServices: [cloudManagementService(TENANT_A, { adminServiceManagement: true })],
    });
    const a = createTenantRegistry(legacy).get(TENANT_A.id)!;
    const path = "/AdminService/v1.0/Device";
    expect(
      checkPolicy(a, matchRoute(compileRoutes(legacy.routes), path)!, "user", path, "cloudManagement")?.reason,
    ).toBe("admin_service_segmented");
    expect(
      checkPolicy(a, matchRoute(compileRoutes(legacy.routes), "/CCM_STS")!, "device", "/CCM_STS", "cloudManagement"),
    ).toBe(undefined);
  });

  it("when the admin service path is written in another case, then it still counts as the admin service", () => {
    expect(isAdminServicePath("/adminservice/v1.0/Device")).toBe(true);
    expect(isAdminServicePath("/AdminServiceX/")).toBe(false);
    expect(isAdminServicePath("/CCM_STS")).toBe(false);
  });

  it("when tokens of a segmented tenant are presented end to end, then each service's token reaches only its paths", async () => {
    const h = await createHarness();
    const cm = h.tokens(TENANT_ADMIN);
    const asm = h.tokens(TENANT_ADMIN_SERVICE);
    // Clients keep authenticating: device and user tokens of cloud management get /CCM_STS.
    expect(outcome(await h.check(cm.DeviceToken, "/CCM_STS"))).toBe("ok");
    expect(outcome(await h.check(cm.GoodToken, "/CCM_STS"))).toBe("ok");
    expect(outcome(await h.check(cm.GoodToken, "/AdminService/v1.0/Device"))).toBe("admin_service_segmented");
    expect(outcome(await h.check(asm.GoodToken, "/AdminService/v1.0/Device"))).toBe("ok");
    expect(outcome(await h.check(asm.GoodTokenV2, "/AdminService/v1.0/Device"))).toBe("ok");
    expect(outcome(await h.check(asm.GoodToken, "/CCM_STS"))).toBe("admin_service_only");
    // The cloud management client app cannot ride the Administration Service audience.
    expect(outcome(await h.check(asm.WrongClientAppToken, "/AdminService/v1.0/Device"))).toBe("client_app_invalid");
  });
});
