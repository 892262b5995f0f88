import { describe, expect, it } from "vitest";
import {
  createGate,
  createHarness,
  flushPromises,
  jwksUrl,
  newKid,
  outcome,
  signToken,
  TENANT_A,
  userClaimsV1,
} from "./fixtures.js";

describe("JWKS single-flight", () => {
  it("when requests arrive before the boot fetch finished, then they wait for that one fetch and then pass", async () => {
    const gate = createGate();
    const h = await createHarness({ settle: false, idpGate: gate.promise });
    const token = h.tokens().GoodToken;
    let answered = 0;
    const pending = Array.from({ length: 50 }, () =>
      h.check(token).then((r) => {
        answered += 1;
        return r;
      }),
    );
    await flushPromises();
    expect(answered).toBe(0);
    gate.open();
    const results = await Promise.all(pending);
    expect(results.map(outcome)).toEqual(Array(50).fill("ok"));
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(1);
  });

  it("when concurrent unknown-kid misses happen while a refresh is in flight, then they share that fetch", async () => {
    const h = await createHarness();
    const gate = createGate();
    h.idp.gate = gate.promise;
    const key = h.keyOf.get(TENANT_A.id)!;
    const claims = userClaimsV1(TENANT_A, h.clock.nowSec());
    let answered = 0;
    const pending = Array.from({ length: 100 }, () =>
      h.check(signToken(key, claims, { kid: newKid() })).then((r) => {
        answered += 1;
        return r;
      }),
    );
    await flushPromises();
    expect(answered).toBe(0);
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(2); // boot + one refresh
    gate.open();
    const results = await Promise.all(pending);
    expect(new Set(results.map(outcome))).toEqual(new Set(["key_not_found"]));
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(2);
  });
});
