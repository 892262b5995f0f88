/** Claims hygiene: `iat` numeric and not in the future beyond the skew; lifetime `exp − iat` bounded. */
import { describe, expect, it } from "vitest";
import { baseConfigInput, createHarness, outcome, signToken, TENANT_A, userClaimsV1 } from "./fixtures.js";

describe("claims: iat and lifetime", () => {
  it("when iat lies an hour in the future, then token_issued_in_future; within the skew it passes", async () => {
    const h = await createHarness();
    const key = h.keyOf.get(TENANT_A.id)!;
    const now = h.clock.nowSec();
    const ahead = signToken(key, { ...userClaimsV1(TENANT_A, now), iat: now + 3600, nbf: now, exp: now + 7200 });
    expect(outcome(await h.check(ahead))).toBe("token_issued_in_future");
    const slightly = signToken(key, { ...userClaimsV1(TENANT_A, now), iat: now + 200, nbf: now, exp: now + 3600 });
    expect(outcome(await h.check(slightly))).toBe("ok");
  });

  it("when iat is missing or not a number, then claim_invalid", async () => {
    const h = await createHarness();
    const key = h.keyOf.get(TENANT_A.id)!;
    const now = h.clock.nowSec();
    const { iat: _iat, ...noIat } = userClaimsV1(TENANT_A, now);
    expect(outcome(await h.check(signToken(key, noIat)))).toBe("claim_invalid");
    expect(outcome(await h.check(signToken(key, { ...noIat, iat: String(now) })))).toBe("claim_invalid");
  });

  it("when the lifetime is ten years, then token_lifetime_too_long; 28 h passes by default", async () => {
    const h = await createHarness();
    const key = h.keyOf.get(TENANT_A.id)!;
    const now = h.clock.nowSec();
    const base = userClaimsV1(TENANT_A, now);
    const long = signToken(key, { ...base, iat: now, nbf: now, exp: now + 10 * 365 * 86_400 });
    expect(outcome(await h.check(long))).toBe("token_lifetime_too_long");
    const cae = signToken(key, { ...base, iat: now, nbf: now, exp: now + 28 * 3600 });
    expect(outcome(await h.check(cae))).toBe("ok");
  });

  it("when auth.maxTokenLifetimeSec is lowered, then a longer token is refused", async () => {
    const h = await createHarness({ config: { ...baseConfigInput(), auth: { maxTokenLifetimeSec: 3600 } } });
    const key = h.keyOf.get(TENANT_A.id)!;
    const now = h.clock.nowSec();
    const token = signToken(key, { ...userClaimsV1(TENANT_A, now), iat: now, nbf: now, exp: now + 5400 });
    expect(outcome(await h.check(token))).toBe("token_lifetime_too_long");
  });
});
