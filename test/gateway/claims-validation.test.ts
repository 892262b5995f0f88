import { describe, expect, it } from "vitest";
import { keyIssuerMatches, matchIssuer, validateClaims } from "../../gateway/auth/claims.js";
import type { VerificationKey } from "../../gateway/auth/keys/jwk.js";
import { createTenantRegistry } from "../../gateway/auth/tenants.js";
import {
  deviceClaimsV1,
  issuerV1,
  issuerV2,
  makeConfig,
  TENANT_A,
  TENANT_GOV,
  userClaimsV1,
  userClaimsV2,
} from "./fixtures.js";

const tenant = createTenantRegistry(makeConfig()).get(TENANT_A.id)!;
const NOW = 1_736_942_400; // 2025-01-15T12:00:00Z
const settings = {
  clockSkewSec: 300,
  deviceTokenRequireClientApp: false,
  maxTokenLifetimeSec: 100_800,
  extraClientApps: new Set<string>(),
};
const reasonOf = (r: ReturnType<typeof validateClaims>) => ("kind" in r ? "ok" : r.reason);
const v1 = (extra: Record<string, unknown> = {}) =>
  reasonOf(validateClaims({ ...userClaimsV1(TENANT_A, NOW), ...extra }, tenant, 1, "user", NOW, settings));

describe("claims: issuer", () => {
  it("when iss is the tenant's v1 or v2 issuer exactly, then it selects that version", () => {
    expect(matchIssuer(tenant, issuerV1(TENANT_A.id))).toBe(1);
    expect(matchIssuer(tenant, issuerV2(TENANT_A))).toBe(2);
  });

  it("when iss differs by a trailing slash, case or cloud, then it matches neither (ordinal)", () => {
    expect(matchIssuer(tenant, issuerV1(TENANT_A.id).slice(0, -1))).toBeUndefined();
    expect(matchIssuer(tenant, `${issuerV2(TENANT_A)}/`)).toBeUndefined();
    expect(matchIssuer(tenant, issuerV1(TENANT_A.id).toUpperCase())).toBeUndefined();
    expect(matchIssuer(tenant, `https://login.microsoftonline.us/${TENANT_A.id}/v2.0`)).toBeUndefined();
    expect(matchIssuer(tenant, issuerV2(TENANT_GOV))).toBeUndefined();
  });

  it("when the key carries an issuer template, then the token's iss must equal it with {tenantid} filled in", () => {
    const key = { issuer: "https://login.microsoftonline.com/{tenantid}/v2.0" } as VerificationKey;
    expect(keyIssuerMatches(key, TENANT_A.id, issuerV2(TENANT_A))).toBe(true);
    expect(keyIssuerMatches(key, TENANT_A.id, issuerV1(TENANT_A.id))).toBe(false);
    const pinned = { issuer: `https://login.microsoftonline.com/${TENANT_GOV.id}/v2.0` } as VerificationKey;
    expect(keyIssuerMatches(pinned, TENANT_A.id, issuerV2(TENANT_A))).toBe(false);
    expect(keyIssuerMatches({ issuer: undefined } as VerificationKey, TENANT_A.id, "anything")).toBe(true);
  });
});

describe("claims: audience", () => {
  it("when aud is the App ID URI, with or without a trailing slash, then it passes", () => {
    expect(v1()).toBe("ok");
    expect(v1({ aud: `${TENANT_A.appIdUri}/` })).toBe("ok");
  });

  it("when aud is the server app's client ID, then it passes", () => {
    expect(v1({ aud: TENANT_A.serverAppId })).toBe("ok");
  });

  it("when aud differs in case, has two slashes, is another app's, missing, or empty, then audience_invalid", () => {
    for (const aud of [
      TENANT_A.appIdUri.toUpperCase(),
      `${TENANT_A.appIdUri}//`,
      TENANT_GOV.appIdUri,
      undefined,
      "",
      7,
    ]) {
      expect(v1({ aud }), String(aud)).toBe("audience_invalid");
    }
  });

  it("when aud is an array containing the App ID URI, then it passes (RFC 7519 §4.1.3)", () => {
    expect(v1({ aud: ["api://other", TENANT_A.appIdUri] })).toBe("ok");
    expect(v1({ aud: ["api://other"] })).toBe("audience_invalid");
  });
});

describe("claims: lifetime", () => {
  it("when exp is missing or not a number, then claim_invalid", () => {
    expect(v1({ exp: undefined })).toBe("claim_invalid");
    expect(v1({ exp: "1736946000" })).toBe("claim_invalid");
  });

  it("when exp passed less than the skew ago, then it still passes; at exp + skew it is expired", () => {
    expect(v1({ exp: NOW - 299 })).toBe("ok");
    expect(v1({ exp: NOW - 300 })).toBe("token_expired");
  });

  it("when nbf is within the skew in the future, then it passes; beyond, token_not_yet_valid", () => {
    expect(v1({ nbf: NOW + 300 })).toBe("ok");
    expect(v1({ nbf: NOW + 301 })).toBe("token_not_yet_valid");
    expect(v1({ nbf: "soon" })).toBe("claim_invalid");
  });

  it("when the skew is configured to 0, then exp is exact", () => {
    const strict = { ...settings, clockSkewSec: 0 };
    const claims = { ...userClaimsV1(TENANT_A, NOW), exp: NOW };
    expect(reasonOf(validateClaims(claims, tenant, 1, "user", NOW, strict))).toBe("token_expired");
  });
});

describe("claims: client app", () => {
  it("when a v1 user token's appid is the registered client app, then it passes; otherwise client_app_invalid", () => {
    expect(v1()).toBe("ok");
    expect(v1({ appid: TENANT_A.serverAppId })).toBe("client_app_invalid");
    expect(v1({ appid: undefined })).toBe("client_app_invalid");
  });

  it("when a v2 token carries the client app in azp (not appid), then azp is what counts", () => {
    const claims = userClaimsV2(TENANT_A, NOW);
    expect(reasonOf(validateClaims(claims, tenant, 2, "user", NOW, settings))).toBe("ok");
    expect(reasonOf(validateClaims({ ...claims, azp: "x" }, tenant, 2, "user", NOW, settings))).toBe(
      "client_app_invalid",
    );
    expect(
      reasonOf(
        validateClaims({ ...claims, azp: undefined, appid: TENANT_A.clientAppId }, tenant, 2, "user", NOW, settings),
      ),
    ).toBe("client_app_invalid");
  });

  it("when a device token has no appid, then it passes unless deviceTokenRequireClientApp is set", () => {
    const claims = deviceClaimsV1(TENANT_A, NOW);
    expect(reasonOf(validateClaims(claims, tenant, 1, "device", NOW, settings))).toBe("ok");
    expect(
      reasonOf(validateClaims(claims, tenant, 1, "device", NOW, { ...settings, deviceTokenRequireClientApp: true })),
    ).toBe("client_app_invalid");
  });

  it("when a device token does carry appid, then it must be the registered client app", () => {
    const claims = deviceClaimsV1(TENANT_A, NOW);
    expect(reasonOf(validateClaims({ ...claims, appid: "x" }, tenant, 1, "device", NOW, settings))).toBe(
      "client_app_invalid",
    );
    expect(
      reasonOf(validateClaims({ ...claims, appid: TENANT_A.clientAppId }, tenant, 1, "device", NOW, settings)),
    ).toBe("ok");
  });
});

describe("claims: identity", () => {
  it("when oid is missing, then claim_invalid (oid + tid is the identity key)", () => {
    expect(v1({ oid: undefined })).toBe("claim_invalid");
  });

  it("when ver disagrees with the issuer form, then claim_invalid", () => {
    expect(v1({ ver: "2.0" })).toBe("claim_invalid");
  });

  it("when all checks pass, then the principal carries the identity and never the raw token", () => {
    const claims = userClaimsV1(TENANT_A, NOW);
    const principal = validateClaims(claims, tenant, 1, "user", NOW, settings);
    expect(principal).toEqual({
      kind: "user",
      tenantId: TENANT_A.id,
      objectId: claims.oid,
      deviceId: undefined,
      clientAppId: TENANT_A.clientAppId,
      userName: claims.upn,
      subject: claims.sub,
      version: 1,
      expiresAtSec: claims.exp,
      service: "cloudManagement",
      scopes: ["user_impersonation"],
    });
  });
});
