import { describe, expect, it } from "vitest";
import { createHarness, jwksOf, jwksUrl, outcome, TENANT_A, TENANT_GOV } from "./fixtures.js";

describe("signing-key issuer binding", () => {
  it("when the v2 key's issuer template fills to the token's iss, then the token passes", async () => {
    const h = await createHarness();
    expect(outcome(await h.check(h.tokens().GoodTokenV2))).toBe("ok");
  });

  it("when the key is bound to another tenant's issuer, then the token is refused with issuer_invalid", async () => {
    const h = await createHarness();
    h.idp.serve(
      jwksUrl(TENANT_A, 2),
      jwksOf([h.keyOf.get(TENANT_A.id)!], `https://login.microsoftonline.com/${TENANT_GOV.id}/v2.0`),
    );
    await h.keys.refreshAll();
    expect(outcome(await h.check(h.tokens().GoodTokenV2))).toBe("issuer_invalid");
  });

  it("when a JWK declares an alg other than the token's, then the key is not used", async () => {
    const h = await createHarness();
    const doc = jwksOf([h.keyOf.get(TENANT_A.id)!]);
    doc.keys[0]!.alg = "RS512";
    h.idp.serve(jwksUrl(TENANT_A, 1), doc);
    await h.keys.refreshAll();
    expect(outcome(await h.check(h.tokens().GoodToken))).toBe("key_not_found");
  });
});
