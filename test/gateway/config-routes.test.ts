import { describe, expect, it } from "vitest";
import { check, problems } from "./config-helpers.js";
import { baseConfigInput } from "./fixtures.js";

const withRoutes = (routes: unknown) => check({ ...baseConfigInput(), routes });

const NO_GRANT = { clientApps: [], requiredScope: undefined, allowAppOnly: false };

describe("routes configuration", () => {
  it("when routes are given, then they replace the defaults and forwardAuthorization defaults by requirement", () => {
    const result = withRoutes([
      { prefix: "/open", requirement: "anonymous" },
      { prefix: "/CCM_STS", requirement: "entra" },
      { prefix: "/dev", requirement: "device", forwardAuthorization: false },
    ]);
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.routes).toEqual([
      { prefix: "/open", requirement: "anonymous", forwardAuthorization: false, ...NO_GRANT },
      { prefix: "/CCM_STS", requirement: "entra", forwardAuthorization: true, ...NO_GRANT },
      { prefix: "/dev", requirement: "device", forwardAuthorization: false, ...NO_GRANT },
    ]);
  });

  it("when a route names extra client apps, a scope and app-only access, then they are resolved (GUIDs lower-cased)", () => {
    const result = withRoutes([
      {
        prefix: "/AdminService/",
        requirement: "user",
        clientApps: ["A26A653E-17AA-43EB-AB36-0E36C7D29F49"],
        requiredScope: "user_impersonation",
        allowAppOnly: true,
      },
    ]);
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.routes[0]).toMatchObject({
      clientApps: ["a26a653e-17aa-43eb-ab36-0e36c7d29f49"],
      requiredScope: "user_impersonation",
      allowAppOnly: true,
    });
  });

  it("when a route prefix is a CMG path, then it is a problem: CMG paths are matched on their inner path", () => {
    for (const prefix of ["/CCM_Proxy_ServerAuth/", "/ccm_proxy_mutualauth/1/AdminService/"]) {
      expect(problems(withRoutes([{ prefix, requirement: "anonymous" }])).join("\n")).toMatch(
        /must be a management point path/,
      );
    }
  });

  it("when allowAppOnly is set on a route that needs no Entra token, then it is a problem", () => {
    expect(problems(withRoutes([{ prefix: "/x", requirement: "passthrough", allowAppOnly: true }])).join("\n")).toMatch(
      /allowAppOnly: applies to Entra-authenticated routes only/,
    );
  });

  it("when a later rule can never match because an earlier prefix covers it, then it is a problem", () => {
    const found = problems(
      withRoutes([
        { prefix: "/", requirement: "user" },
        { prefix: "/CCM_STS", requirement: "entra" },
      ]),
    );
    expect(found.join("\n")).toMatch(/routes\[1\]: prefix \/CCM_STS is shadowed by routes\[0\]/);
  });

  it("when the same prefix appears twice in another case, then it is a problem", () => {
    const found = problems(
      withRoutes([
        { prefix: "/AdminService/", requirement: "user" },
        { prefix: "/adminservice/", requirement: "entra" },
      ]),
    );
    expect(found.length).toBe(1);
  });

  it("when a prefix is not a plain path, then it is a problem", () => {
    for (const prefix of ["CCM_STS", "/a?b", "/a/../b", "/a%2fb", "/a\\b"]) {
      expect(problems(withRoutes([{ prefix, requirement: "user" }])).length, prefix).toBe(1);
    }
  });

  it("when a requirement is unknown, then it is a problem", () => {
    expect(problems(withRoutes([{ prefix: "/x", requirement: "admin" }])).join("\n")).toMatch(
      /routes\[0\]\.requirement/,
    );
  });

  it("when routes is an empty list, then it is valid but warned about (everything refused)", () => {
    const result = withRoutes([]);
    expect(problems(result)).toEqual([]);
    expect(result.warnings.join("\n")).toMatch(/no routes/);
  });
});
