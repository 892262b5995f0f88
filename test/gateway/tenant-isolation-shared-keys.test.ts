/**
 * Tenant isolation with Entra's real key model: every tenant of a cloud is signed by the same keys, so a
 * token of tenant A carries a valid signature wherever it goes. What keeps it out of tenant B is the claims:
 * issuer, tenant, audience and client app. Each case below is correctly signed with the key B publishes, and
 * a positive control proves that key is accepted for B's own tokens.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  baseConfigInput,
  cloudManagementService,
  createHarness,
  deviceClaimsV1,
  type FixtureTenant,
  type Harness,
  issuerV1,
  issuerV2,
  outcome,
  signToken,
  TENANT_A,
  TENANT_ADMIN,
  TENANT_GOV,
  userClaimsV1,
  userClaimsV2,
} from "./fixtures.js";

/** Litware: a second public-cloud tenant, signed by the same cloud keys as Contoso (TENANT_A). */
const TENANT_B = {
  id: "3f2a9e61-7c4d-4b8a-9e1f-5d6c7b8a9e0f",
  name: "litware.onmicrosoft.com",
  serverAppId: "8e9f0a1b-2c3d-4e5f-8a6b-7c8d9e0f1a2b",
  clientAppId: "9f0a1b2c-3d4e-4f5a-9b6c-8d9e0f1a2b3c",
  appIdUri: "api://3f2a9e61-7c4d-4b8a-9e1f-5d6c7b8a9e0f/ConfigMgrService",
} as const;
const B = TENANT_B as unknown as FixtureTenant;

let h: Harness;
const key = () => h.keyOf.get(TENANT_A.id)!;
const now = () => h.clock.nowSec();
/** Claims of tenant A's genuine v1 user token, re-addressed piece by piece to tenant B. */
const a1 = () => userClaimsV1(TENANT_A, now());
const a2 = () => userClaimsV2(TENANT_A, now());

beforeAll(async () => {
  const raw = baseConfigInput();
  h = await createHarness({
    config: { ...raw, azureServices: [...(raw.azureServices ?? []), cloudManagementService(B, { name: "Litware" })] },
  });
  h.publish(B, [key()]);
  await h.keys.refreshAll();
});

describe("tenant isolation with one key set per cloud", () => {
  it("when A and B publish the same cloud key, then each tenant's own tokens signed with it pass (the control)", async () => {
    expect(outcome(await h.check(signToken(key(), userClaimsV1(TENANT_A, now()))))).toBe("ok");
    expect(outcome(await h.check(signToken(key(), userClaimsV1(B, now()))))).toBe("ok");
    expect(outcome(await h.check(signToken(key(), userClaimsV2(B, now()))))).toBe("ok");
  });

  it("when A's token names tenant B in tid but keeps A's issuer, then issuer_invalid (tenant check)", async () => {
    expect(outcome(await h.check(signToken(key(), { ...a1(), tid: TENANT_B.id })))).toBe("issuer_invalid");
  });

  it("when A's token keeps tid A but names B's issuer, then issuer_invalid (issuer check)", async () => {
    expect(outcome(await h.check(signToken(key(), { ...a1(), iss: issuerV1(TENANT_B.id) })))).toBe("issuer_invalid");
    expect(outcome(await h.check(signToken(key(), { ...a2(), iss: issuerV2(B) })))).toBe("issuer_invalid");
  });

  it("when A's token names B as tenant and issuer but A's audience, then audience_invalid (v1 App ID URI and v2 client ID)", async () => {
    const v1 = { ...a1(), tid: TENANT_B.id, iss: issuerV1(TENANT_B.id) };
    expect(outcome(await h.check(signToken(key(), v1)))).toBe("audience_invalid");
    const v2 = { ...a2(), tid: TENANT_B.id, iss: issuerV2(B) };
    expect(outcome(await h.check(signToken(key(), v2)))).toBe("audience_invalid");
    const device = { ...deviceClaimsV1(TENANT_A, now()), tid: TENANT_B.id, iss: issuerV1(TENANT_B.id) };
    expect(outcome(await h.check(signToken(key(), device)))).toBe("audience_invalid");
  });

  it("when A's token names B as tenant, issuer and audience but A's client app, then client_app_invalid (appid and azp)", async () => {
    const v1 = { ...a1(), tid: TENANT_B.id, iss: issuerV1(TENANT_B.id), aud: TENANT_B.appIdUri };
    expect(outcome(await h.check(signToken(key(), v1)))).toBe("client_app_invalid");
    const v2 = { ...a2(), tid: TENANT_B.id, iss: issuerV2(B), aud: TENANT_B.serverAppId };
    expect(outcome(await h.check(signToken(key(), v2)))).toBe("client_app_invalid");
  });

  it("when a token of another cloud's tenant is signed with the public cloud's key, then the key is not in its set (key_not_found)", async () => {
    expect(outcome(await h.check(signToken(key(), userClaimsV1(TENANT_GOV, now()))))).toBe("key_not_found");
  });
});

describe("the fixture's key model", () => {
  it("when the harness is built, then tenants of one cloud share a key and the clouds' keys differ", () => {
    expect(h.keyOf.get(TENANT_ADMIN.id)).toBe(key());
    expect(h.keyOf.get(TENANT_GOV.id)!.kid).not.toBe(key().kid);
  });
});
