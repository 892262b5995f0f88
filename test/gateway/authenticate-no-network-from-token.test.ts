import { describe, expect, it } from "vitest";
import {
  createHarness,
  issuerV1,
  jwkOf,
  newKid,
  newSigningKey,
  outcome,
  signToken,
  TENANT_A,
  TENANT_DISABLED,
  TENANT_UNREGISTERED,
  userClaimsV1,
} from "./fixtures.js";

describe("no network call derived from token content", () => {
  it("when the header points at keys (jku, x5u, jwk, x5c), then nothing is fetched from there and the embedded key is not trusted", async () => {
    const h = await createHarness();
    const attacker = newSigningKey();
    const before = h.idp.requests.length;
    const token = signToken(attacker, userClaimsV1(TENANT_A, h.clock.nowSec()), {
      kid: attacker.kid,
      jku: "https://evil.example/keys",
      x5u: "https://evil.example/cert.pem",
      jwk: jwkOf(attacker),
      x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    });
    expect(outcome(await h.check(token))).toBe("key_not_found");
    const fetched = h.idp.requests.slice(before);
    expect(fetched.every((u) => u.startsWith("https://login.microsoftonline.com/"))).toBe(true);
    expect(fetched.some((u) => u.includes("evil"))).toBe(false);
  });

  it("when the iss or tid names an unregistered tenant, then no fetch happens at all, however many tokens", async () => {
    const h = await createHarness();
    const before = h.idp.requests.length;
    for (let i = 0; i < 100; i++) {
      const claims = {
        ...userClaimsV1(TENANT_A, h.clock.nowSec()),
        tid: TENANT_UNREGISTERED,
        iss: issuerV1(TENANT_UNREGISTERED),
      };
      expect(outcome(await h.check(signToken(h.keyOf.get(TENANT_A.id)!, claims, { kid: newKid() })))).toBe(
        "tenant_unknown",
      );
    }
    expect(h.idp.requests.length).toBe(before);
  });

  it("when a disabled tenant's tokens carry unknown kids, then no refresh is triggered (policy before keys)", async () => {
    const h = await createHarness();
    const before = h.idp.requests.length;
    const token = signToken(h.keyOf.get(TENANT_DISABLED.id)!, userClaimsV1(TENANT_DISABLED, h.clock.nowSec()), {
      kid: newKid(),
    });
    expect(outcome(await h.check(token))).toBe("tenant_disabled");
    expect(h.idp.requests.length).toBe(before);
  });

  it("when the issuer host is foreign but the tid registered, then issuer_invalid and no fetch", async () => {
    const h = await createHarness();
    const before = h.idp.requests.length;
    const claims = { ...userClaimsV1(TENANT_A, h.clock.nowSec()), iss: `https://evil.example/${TENANT_A.id}/` };
    expect(outcome(await h.check(signToken(h.keyOf.get(TENANT_A.id)!, claims, { kid: newKid() })))).toBe(
      "issuer_invalid",
    );
    expect(h.idp.requests.length).toBe(before);
  });
});
