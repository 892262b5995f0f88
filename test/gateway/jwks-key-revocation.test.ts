import { describe, expect, it } from "vitest";
import { createHarness, type Harness, newSigningKey, outcome, TENANT_A } from "./fixtures.js";

const lastEventOfA = (h: Harness) => h.events.filter((e) => e.tenantId === TENANT_A.id && e.version === 1).at(-1);

describe("JWKS key revocation", () => {
  it("when a key disappears from the JWKS, then tokens it signed are refused, cached verdicts included", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    expect(outcome(await h.check(token))).toBe("ok");
    const checksBefore = h.auth.counters.signatureChecks;
    expect(outcome(await h.check(token))).toBe("ok");
    expect(h.auth.counters.signatureChecks).toBe(checksBefore); // served from the verified cache

    h.publish(TENANT_A, [newSigningKey()]); // emergency rotation: the old key is gone
    await h.keys.refreshAll();
    expect(lastEventOfA(h)?.removedKids).toEqual([h.keyOf.get(TENANT_A.id)?.kid]);

    expect(outcome(await h.check(token))).toBe("key_not_found");
  });

  it("when a refresh returns the same keys, then cached verdicts survive and KeyObjects are reused", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    await h.check(token);
    await h.keys.refreshAll();
    const checks = h.auth.counters.signatureChecks;
    expect(outcome(await h.check(token))).toBe("ok");
    expect(h.auth.counters.signatureChecks).toBe(checks);
  });

  it("when a refresh returns an empty key set, then it is treated as a failure and the last good keys stay", async () => {
    const h = await createHarness();
    h.publish(TENANT_A, []);
    await h.keys.refreshAll();
    expect(lastEventOfA(h)).toMatchObject({ result: "error", error: "JWKS document has no usable signing keys" });
    expect(outcome(await h.check(h.tokens().GoodToken))).toBe("ok");
  });
});
