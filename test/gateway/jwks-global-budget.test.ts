import { describe, expect, it } from "vitest";
import { createRefetchBudget } from "../../gateway/auth/keys/refetch-budget.js";
import {
  baseConfigInput,
  createHarness,
  type FixtureTenant,
  type Harness,
  jwksUrl,
  newKid,
  signToken,
  TENANT_A,
  TENANT_ADMIN,
  TENANT_GOV,
  userClaimsV1,
} from "./fixtures.js";

function unknownKid(h: Harness, tenant: FixtureTenant, url = "/CCM_STS") {
  const token = signToken(h.keyOf.get(tenant.id)!, userClaimsV1(tenant, h.clock.nowSec()), { kid: newKid() });
  return h.check(token, url);
}

describe("JWKS global refetch budget", () => {
  it("when unknown kids hit more tenants than the budget allows, then refreshes stop at the budget and refill over time", async () => {
    const h = await createHarness({
      config: { ...baseConfigInput(), auth: { jwks: { globalRefetchBudgetPerMinute: 2 } } },
    });
    await unknownKid(h, TENANT_A);
    await unknownKid(h, TENANT_GOV);
    await unknownKid(h, TENANT_ADMIN, "/CCM_STS");
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(2);
    expect(h.idp.count(jwksUrl(TENANT_GOV, 1))).toBe(2);
    expect(h.idp.count(jwksUrl(TENANT_ADMIN, 1))).toBe(1); // budget spent
    await h.clock.advance(30_000); // one token refilled
    await unknownKid(h, TENANT_ADMIN, "/CCM_STS");
    expect(h.idp.count(jwksUrl(TENANT_ADMIN, 1))).toBe(2);
  });

  it("when the budget is spent, then background refreshes still run (a rotation is never starved)", async () => {
    const h = await createHarness({
      config: { ...baseConfigInput(), auth: { jwks: { globalRefetchBudgetPerMinute: 1 } } },
    });
    await unknownKid(h, TENANT_A);
    await unknownKid(h, TENANT_GOV); // denied
    expect(h.idp.count(jwksUrl(TENANT_GOV, 1))).toBe(1);
    await h.clock.advance(3_600_000);
    expect(h.idp.count(jwksUrl(TENANT_GOV, 1))).toBe(2);
  });

  it("when the bucket is asked with a non-positive rate, then construction throws", () => {
    expect(() => createRefetchBudget(0, 0)).toThrow(RangeError);
    const bucket = createRefetchBudget(60, 0);
    for (let i = 0; i < 60; i++) expect(bucket.tryTake(0)).toBe(true);
    expect(bucket.tryTake(0)).toBe(false);
    expect(bucket.tryTake(1_000)).toBe(true);
  });
});
