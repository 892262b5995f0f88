import { describe, expect, it } from "vitest";
import { classifyToken } from "../../gateway/auth/claims.js";
import { appClaimsV1, deviceClaimsV1, TENANT_A, userClaimsV1, userClaimsV2, userDeviceClaimsV1 } from "./fixtures.js";

const NOW = 1_736_942_400;

describe("token kind classification (docs/architecture.md § Token classification)", () => {
  it("when idtyp is device, then device", () => {
    expect(classifyToken(deviceClaimsV1(TENANT_A, NOW))).toBe("device");
  });

  it("when there is no idtyp but deviceid equals sub and no user claims, then device", () => {
    const { idtyp: _i, ...claims } = deviceClaimsV1(TENANT_A, NOW);
    expect(classifyToken(claims)).toBe("device");
  });

  it("when deviceid differs from sub and there are no user claims, then unknown", () => {
    const { idtyp: _i, ...claims } = deviceClaimsV1(TENANT_A, NOW);
    expect(classifyToken({ ...claims, sub: "someone-else" })).toBe("unknown");
  });

  it("when user claims come with a deviceid, then userDevice", () => {
    expect(classifyToken(userDeviceClaimsV1(TENANT_A, NOW))).toBe("userDevice");
  });

  it("when user claims come without a deviceid, then user (v1 and v2)", () => {
    expect(classifyToken(userClaimsV1(TENANT_A, NOW))).toBe("user");
    expect(classifyToken(userClaimsV2(TENANT_A, NOW))).toBe("user");
  });

  it("when only upn marks a user (no scp), then still user", () => {
    const { scp: _s, ...claims } = userClaimsV1(TENANT_A, NOW);
    expect(classifyToken(claims)).toBe("user");
  });

  it("when idtyp is app, or roles come without scp, then app", () => {
    expect(classifyToken(appClaimsV1(TENANT_A, NOW))).toBe("app");
    const { idtyp: _i, ...claims } = appClaimsV1(TENANT_A, NOW);
    expect(classifyToken(claims)).toBe("app");
  });

  it("when idtyp says device, then a upn does not make it a user (idtyp wins)", () => {
    expect(classifyToken({ ...deviceClaimsV1(TENANT_A, NOW), upn: "x@y" })).toBe("device");
  });

  it("when nothing identifies the token, then unknown", () => {
    expect(classifyToken({ tid: TENANT_A.id, oid: "o" })).toBe("unknown");
  });
});
