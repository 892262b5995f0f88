import { describe, expect, it } from "vitest";
import { createHarness, jwksUrl, newKid, outcome, signToken, TENANT_A, TENANT_GOV, userClaimsV1 } from "./fixtures.js";

describe("JWKS unknown-kid cooldown", () => {
  it("when 1000 tokens with random unknown kids arrive one after another, then the tenant's JWKS is fetched once per cooldown", async () => {
    const h = await createHarness();
    const url = jwksUrl(TENANT_A, 1);
    expect(h.idp.count(url)).toBe(1); // boot
    const key = h.keyOf.get(TENANT_A.id)!;
    const claims = userClaimsV1(TENANT_A, h.clock.nowSec());
    for (let i = 0; i < 1000; i++) {
      expect(outcome(await h.check(signToken(key, claims, { kid: newKid() })))).toBe("key_not_found");
    }
    expect(h.idp.count(url)).toBe(2);

    await h.clock.advance(299_000);
    await h.check(signToken(key, claims, { kid: newKid() }));
    expect(h.idp.count(url)).toBe(2);

    await h.clock.advance(1_000); // the 5-minute cooldown has passed
    for (let i = 0; i < 100; i++) await h.check(signToken(key, claims, { kid: newKid() }));
    expect(h.idp.count(url)).toBe(3);
  });

  it("when 1000 unknown kids arrive at once, then they share one fetch", async () => {
    const h = await createHarness();
    const url = jwksUrl(TENANT_A, 1);
    const key = h.keyOf.get(TENANT_A.id)!;
    const claims = userClaimsV1(TENANT_A, h.clock.nowSec());
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        h.auth.authenticate({ url: "/CCM_STS", authorization: `Bearer ${signToken(key, claims, { kid: newKid() })}` }),
      ),
    );
    expect(new Set(results.map(outcome))).toEqual(new Set(["key_not_found"]));
    expect(h.idp.count(url)).toBe(2);
  });

  it("when unknown kids hit two tenants, then each tenant gets its own single fetch", async () => {
    const h = await createHarness();
    for (const tenant of [TENANT_A, TENANT_GOV]) {
      const key = h.keyOf.get(tenant.id)!;
      for (let i = 0; i < 200; i++) {
        await h.check(signToken(key, userClaimsV1(tenant, h.clock.nowSec()), { kid: newKid() }));
      }
    }
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(2);
    expect(h.idp.count(jwksUrl(TENANT_GOV, 1))).toBe(2);
  });

  it("when a key is rotated in and a token with its kid arrives, then the refresh finds it and the token passes", async () => {
    const h = await createHarness();
    const { newSigningKey } = await import("./fixtures.js");
    const rotated = newSigningKey();
    h.publish(TENANT_A, [h.keyOf.get(TENANT_A.id)!, rotated]);
    const token = signToken(rotated, userClaimsV1(TENANT_A, h.clock.nowSec()));
    expect(outcome(await h.check(token))).toBe("ok");
    expect(h.events.at(-1)).toMatchObject({ reason: "unknown_kid", result: "ok", keyCount: 2 });
  });
});
