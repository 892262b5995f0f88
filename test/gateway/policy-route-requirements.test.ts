import { describe, expect, it } from "vitest";
import type { TokenKind } from "../../gateway/auth/claims.js";
import { checkPolicy, compileRoutes, isSafePath, matchRoute, requirementAllows } from "../../gateway/auth/policy.js";
import { createTenantRegistry } from "../../gateway/auth/tenants.js";
import { baseConfigInput, makeConfig, TENANT_A, TENANT_DISABLED } from "./fixtures.js";

const config = makeConfig();
const routes = compileRoutes(config.routes);
const registry = createTenantRegistry(config);

describe("policy: route rules", () => {
  it("when no routes are configured, then the CM defaults apply in order", () => {
    expect(config.routes.map((r) => [r.prefix, r.requirement, r.forwardAuthorization])).toEqual([
      ["/SMS_MP/.sms_aut", "anonymous", false],
      ["/CCM_STS", "entra", true],
      ["/ccm_system_tokenauth/", "passthrough", true],
      ["/AdminService/", "user", true],
      ["/CCM_Client/", "entra", false],
      ["/CCM_Incoming/", "entra", false],
    ]);
  });

  it("when a path starts with a prefix in any letter case, then that rule matches (IIS is case-insensitive)", () => {
    expect(matchRoute(routes, "/ccm_sts")?.prefix).toBe("/CCM_STS");
    expect(matchRoute(routes, "/ADMINSERVICE/v1.0/Device")?.prefix).toBe("/AdminService/");
    expect(matchRoute(routes, "/SMS_MP/.sms_aut")?.requirement).toBe("anonymous");
  });

  it("when no prefix matches, then there is no rule (unknown paths refused)", () => {
    expect(matchRoute(routes, "/")).toBeUndefined();
    expect(matchRoute(routes, "/AdminService")).toBeUndefined();
    expect(matchRoute(routes, "/CCM_Client")).toBeUndefined();
    expect(matchRoute(routes, "/SMS_SLP/x")).toBeUndefined();
  });

  it("when rules overlap, then the first one wins", () => {
    const custom = compileRoutes(
      makeConfig({
        ...baseConfigInput(),
        routes: [
          { prefix: "/a/b", requirement: "device" },
          { prefix: "/a", requirement: "user" },
        ],
      }).routes,
    );
    expect(matchRoute(custom, "/a/b/c")?.requirement).toBe("device");
    expect(matchRoute(custom, "/a/x")?.requirement).toBe("user");
  });

  it("when a path carries dot segments, encoded separators or backslashes, then it is unsafe", () => {
    for (const path of [
      "/SMS_MP/.sms_aut/../../AdminService/",
      "/SMS_MP/.sms_aut/./x",
      "/a/..",
      "/a/.",
      "/SMS_MP/.sms_aut/%2e%2e/AdminService",
      "/SMS_MP/.sms_aut%2F..%2FAdminService",
      "/a\\b",
      "/a%00",
      "relative",
    ]) {
      expect(isSafePath(path), path).toBe(false);
    }
    for (const path of ["/SMS_MP/.sms_aut", "/a/.hidden", "/a/..b", "/AdminService/v1.0/Device?x", "/a%20b"]) {
      expect(isSafePath(path), path).toBe(true);
    }
  });
});

describe("policy: requirements and kinds", () => {
  const kinds: TokenKind[] = ["user", "device", "userDevice", "app", "unknown"];
  const table = {
    user: ["user", "userDevice"],
    device: ["device", "userDevice"],
    entra: ["user", "device", "userDevice"],
  } as const;

  for (const [requirement, allowed] of Object.entries(table)) {
    it(`when the route requires ${requirement}, then exactly ${allowed.join(", ")} pass`, () => {
      for (const kind of kinds) {
        expect(requirementAllows(requirement as keyof typeof table, kind), kind).toBe(
          (allowed as readonly string[]).includes(kind),
        );
      }
    });
  }

  it("when the tenant is disabled, then tenant_disabled comes first, whatever the token kind", () => {
    const route = matchRoute(routes, "/CCM_STS")!;
    expect(checkPolicy(registry.get(TENANT_DISABLED.id)!, route, "app", "/CCM_STS", "cloudManagement")?.reason).toBe(
      "tenant_disabled",
    );
  });

  it("when the kind is wrong for the route, then token_kind_not_allowed", () => {
    const route = matchRoute(routes, "/AdminService/v1.0/x")!;
    expect(
      checkPolicy(registry.get(TENANT_A.id)!, route, "device", "/AdminService/v1.0/x", "cloudManagement")?.reason,
    ).toBe("token_kind_not_allowed");
    expect(
      checkPolicy(registry.get(TENANT_A.id)!, route, "user", "/AdminService/v1.0/x", "cloudManagement"),
    ).toBeUndefined();
  });
});
