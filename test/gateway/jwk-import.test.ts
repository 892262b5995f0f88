import { describe, expect, it } from "vitest";
import { importJwks } from "../../gateway/auth/keys/jwk.js";
import { jwkOf, jwksOf, newSigningKey } from "./fixtures.js";

const k1 = newSigningKey();
const k2 = newSigningKey();
const small = newSigningKey(1024);

describe("JWKS import", () => {
  it("when Entra's JWKS is imported, then each RSA signing key becomes a KeyObject by kid, with its issuer", () => {
    const result = importJwks(jwksOf([k1, k2], "https://login.microsoftonline.com/{tenantid}/v2.0"));
    if (!result.ok) throw new Error(result.error);
    expect([...result.keys.keys()]).toEqual([k1.kid, k2.kid]);
    const key = result.keys.get(k1.kid)!;
    expect(key.key.asymmetricKeyType).toBe("rsa");
    expect(key.modulusBits).toBe(2048);
    expect(key.issuer).toBe("https://login.microsoftonline.com/{tenantid}/v2.0");
    expect(key.alg).toBeUndefined();
  });

  it("when the document has no keys array, then it is refused as a whole", () => {
    expect(importJwks({}).ok).toBe(false);
    expect(importJwks([]).ok).toBe(false);
    expect(importJwks(null).ok).toBe(false);
  });

  it("when keys are unusable (enc use, EC, no kid, no n, short modulus, non-RSA alg, duplicate kid), then they are skipped with a reason", () => {
    const result = importJwks({
      keys: [
        { ...jwkOf(k1), use: "enc" },
        { kty: "EC", kid: "ec", crv: "P-256", x: "x", y: "y" },
        { ...jwkOf(k1), kid: undefined },
        { ...jwkOf(k1), kid: "no-n", n: undefined },
        jwkOf(small),
        { ...jwkOf(k2), alg: "HS256" },
        jwkOf(k1),
        { ...jwkOf(k2), kid: k1.kid },
        "junk",
      ],
    });
    if (!result.ok) throw new Error(result.error);
    expect([...result.keys.keys()]).toEqual([k1.kid]);
    expect(result.skipped).toHaveLength(8);
    expect(result.skipped.join("\n")).toMatch(/1024-bit modulus/);
  });

  it("when the same key is imported again, then the previous object (and KeyObject) is reused", () => {
    const first = importJwks(jwksOf([k1]));
    if (!first.ok) throw new Error(first.error);
    const second = importJwks(jwksOf([k1, k2]), first.keys);
    if (!second.ok) throw new Error(second.error);
    expect(second.keys.get(k1.kid)).toBe(first.keys.get(k1.kid));
  });

  it("when a kid is re-published with other material, then a new object replaces it", () => {
    const first = importJwks(jwksOf([k1]));
    if (!first.ok) throw new Error(first.error);
    const second = importJwks({ keys: [{ ...jwkOf(k2), kid: k1.kid }] }, first.keys);
    if (!second.ok) throw new Error(second.error);
    expect(second.keys.get(k1.kid)).not.toBe(first.keys.get(k1.kid));
  });
});
