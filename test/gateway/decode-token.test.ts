import { describe, expect, it } from "vitest";
import { decodeToken } from "../../gateway/auth/decode.js";
import { newSigningKey, signToken } from "./fixtures.js";

const RS256 = new Set(["RS256"]);
const key = newSigningKey();
const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const reasonOf = (r: ReturnType<typeof decodeToken>) => ("header" in r ? "ok" : r.reason);
const raw = (header: unknown, payload: unknown, sig = "c2lnbmF0dXJl") => `${b64(header)}.${b64(payload)}.${sig}`;

describe("decode: untrusted structure (RFC 7515 / 7519)", () => {
  it("when a signed token is decoded, then header, payload and signing input are exposed", () => {
    const token = signToken(key, { tid: "t", oid: "o" });
    const decoded = decodeToken(token, RS256);
    if (!("header" in decoded)) throw new Error(decoded.reason);
    expect(decoded.header).toMatchObject({ alg: "RS256", kid: key.kid, typ: "JWT" });
    expect(decoded.payload).toEqual({ tid: "t", oid: "o" });
    expect(token.slice(0, decoded.signingInputLength).split(".")).toHaveLength(2);
  });

  it("when there are not exactly three segments, then token_malformed", () => {
    expect(reasonOf(decodeToken("a.b", RS256))).toBe("token_malformed");
    expect(reasonOf(decodeToken("a.b.c.d", RS256))).toBe("token_malformed");
    expect(reasonOf(decodeToken(`${raw({ alg: "RS256", kid: "k" }, {})}.x`, RS256))).toBe("token_malformed");
  });

  it("when a segment is empty, then token_malformed", () => {
    expect(reasonOf(decodeToken(`${b64({ alg: "RS256", kid: "k" })}..c2ln`, RS256))).toBe("token_malformed");
  });

  it("when a segment uses standard base64 or padding, then token_malformed", () => {
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "k" }, {}, "ab+/"), RS256))).toBe("token_malformed");
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "k" }, {}, "YQ=="), RS256))).toBe("token_malformed");
  });

  it("when a segment is non-canonical base64url (non-zero pad bits or impossible length), then token_malformed", () => {
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "k" }, {}, "YR"), RS256))).toBe("token_malformed"); // "YQ" canonical
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "k" }, {}, "YQ"), RS256))).toBe("ok");
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "k" }, {}, "abcde"), RS256))).toBe("token_malformed");
  });

  it("when the header or payload is not a JSON object, then token_malformed", () => {
    expect(reasonOf(decodeToken(`${b64("[1]")}.${b64({})}.c2ln`, RS256))).toBe("token_malformed");
    expect(reasonOf(decodeToken(`${b64({ alg: "RS256", kid: "k" })}.${b64("null")}.c2ln`, RS256))).toBe(
      "token_malformed",
    );
    expect(reasonOf(decodeToken(`${b64({ alg: "RS256", kid: "k" })}.${b64("{bad")}.c2ln`, RS256))).toBe(
      "token_malformed",
    );
  });

  it("when the payload is not valid UTF-8, then token_malformed", () => {
    const bad = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString("base64url");
    expect(reasonOf(decodeToken(`${b64({ alg: "RS256", kid: "k" })}.${bad}.c2ln`, RS256))).toBe("token_malformed");
  });

  it("when alg is not in the allowlist, then alg_not_allowed (none, HS256, RS512 by default)", () => {
    for (const alg of ["none", "HS256", "RS512", "ES256"]) {
      expect(reasonOf(decodeToken(raw({ alg, kid: "k" }, {}), RS256))).toBe("alg_not_allowed");
    }
    expect(reasonOf(decodeToken(raw({ alg: "RS512", kid: "k" }, {}), new Set(["RS256", "RS512"])))).toBe("ok");
  });

  it("when alg is missing or not a string, then token_malformed", () => {
    expect(reasonOf(decodeToken(raw({ kid: "k" }, {}), RS256))).toBe("token_malformed");
    expect(reasonOf(decodeToken(raw({ alg: 1, kid: "k" }, {}), RS256))).toBe("token_malformed");
  });

  it("when kid is missing or empty, then token_malformed", () => {
    expect(reasonOf(decodeToken(raw({ alg: "RS256" }, {}), RS256))).toBe("token_malformed");
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "" }, {}), RS256))).toBe("token_malformed");
  });

  it("when crit is present, then token_malformed (RFC 7515 §4.1.11)", () => {
    expect(reasonOf(decodeToken(raw({ alg: "RS256", kid: "k", crit: ["exp"], exp: 1 }, {}), RS256))).toBe(
      "token_malformed",
    );
  });

  it("when jku, x5u, jwk or x5c are present, then they are ignored (not an error, never used)", () => {
    const header = {
      alg: "RS256",
      kid: "k",
      jku: "https://evil.example/keys",
      x5u: "https://evil.example/cert",
      jwk: { kty: "RSA", n: "AQAB", e: "AQAB" },
      x5c: ["MIIB"],
    };
    expect(reasonOf(decodeToken(raw(header, {}), RS256))).toBe("ok");
  });
});
