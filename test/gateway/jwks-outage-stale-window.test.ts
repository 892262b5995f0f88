import { describe, expect, it } from "vitest";
import { rejectionResponse } from "../../gateway/auth/rejection.js";
import { baseConfigInput, createHarness, newKid, outcome, signToken, TENANT_A, userClaimsV1 } from "./fixtures.js";

const config = {
  ...baseConfigInput(),
  auth: {
    jwks: {
      refreshIntervalMs: 60_000,
      ttlMs: 3_600_000,
      staleWindowMs: 600_000,
      retryMinMs: 10_000,
      retryMaxMs: 60_000,
    },
  },
};

function stateOf(h: Awaited<ReturnType<typeof createHarness>>): string | undefined {
  return h.keys.statuses().find((s) => s.tenantId === TENANT_A.id && s.version === 1)?.state;
}

describe("JWKS outage: fresh → stale → unavailable", () => {
  it("when the IdP goes down, then valid tokens keep passing while the keys are stale", async () => {
    const h = await createHarness({ config });
    expect(stateOf(h)).toBe("fresh");
    h.idp.down = true;
    await h.clock.advance(70_000); // background refresh fails
    expect(stateOf(h)).toBe("stale");
    expect(outcome(await h.check(h.tokens().GoodToken))).toBe("ok");
  });

  it("when the IdP is down and a token names an unknown kid, then it fails closed with key_not_found", async () => {
    const h = await createHarness({ config });
    h.idp.down = true;
    await h.clock.advance(70_000);
    const token = signToken(h.keyOf.get(TENANT_A.id)!, userClaimsV1(TENANT_A, h.clock.nowSec()), { kid: newKid() });
    expect(outcome(await h.check(token))).toBe("key_not_found");
  });

  it("when the stale window has passed, then requests get keys_unavailable with Retry-After, cached verdicts included", async () => {
    const h = await createHarness({ config });
    const cachedToken = h.tokens().GoodToken;
    expect(outcome(await h.check(cachedToken))).toBe("ok");
    h.idp.down = true;
    await h.clock.advance(70_000); // first failure: stale from now on
    expect(outcome(await h.check(cachedToken))).toBe("ok");
    await h.clock.advance(600_000); // window exhausted
    expect(stateOf(h)).toBe("unavailable");
    const cached = await h.check(cachedToken);
    expect(outcome(cached)).toBe("keys_unavailable");
    const fresh = await h.check(h.tokens().GoodToken);
    expect(outcome(fresh)).toBe("keys_unavailable");
    if (fresh.ok) return;
    const response = rejectionResponse(fresh, "entra-gateway");
    expect(response.status).toBe(503);
    expect(Number(response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers["retry-after"])).toBeLessThanOrEqual(66);
  });

  it("when the IdP comes back, then the retry timer restores fresh keys and tokens pass again", async () => {
    const h = await createHarness({ config });
    h.idp.down = true;
    await h.clock.advance(700_000);
    expect(stateOf(h)).toBe("unavailable");
    h.idp.down = false;
    await h.clock.advance(66_000);
    expect(stateOf(h)).toBe("fresh");
    expect(outcome(await h.check(h.tokens().GoodToken))).toBe("ok");
  });

  it("when keys were never refreshed for longer than ttlMs, then they turn stale even without a failed attempt", async () => {
    const h = await createHarness({
      config: {
        ...baseConfigInput(),
        auth: { jwks: { refreshIntervalMs: 60_000, ttlMs: 60_000, staleWindowMs: 1_000 } },
      },
    });
    // Hold the refresh open so no attempt completes.
    h.idp.gate = new Promise(() => {});
    await h.clock.advance(61_000);
    expect(stateOf(h)).toBe("stale");
    await h.clock.advance(2_000);
    expect(stateOf(h)).toBe("unavailable");
  });
});
