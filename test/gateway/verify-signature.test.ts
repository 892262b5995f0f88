import { constants, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifySignature } from "../../gateway/auth/verify.js";
import { newSigningKey, signToken, tamperSignature } from "./fixtures.js";

const key = newSigningKey();
const other = newSigningKey();
const dot2 = (t: string) => t.lastIndexOf(".");

describe("verify: RS256 over the exact signing input (RFC 7515 §5.2)", () => {
  it("when the signature was made by the key, then it verifies", () => {
    const token = signToken(key, { a: 1 });
    expect(verifySignature(token, dot2(token), "RS256", key.publicKey)).toBe(true);
  });

  it("when another key made it, then it does not", () => {
    const token = signToken(other, { a: 1 }, { kid: key.kid });
    expect(verifySignature(token, dot2(token), "RS256", key.publicKey)).toBe(false);
  });

  it("when one signature byte changes, then it does not", () => {
    const token = tamperSignature(signToken(key, { a: 1 }));
    expect(verifySignature(token, dot2(token), "RS256", key.publicKey)).toBe(false);
  });

  it("when the payload is re-encoded differently (same JSON, other bytes), then it does not: the input is used as received", () => {
    const token = signToken(key, { a: 1 });
    const [h, , s] = token.split(".");
    const reencoded = `${h}.${Buffer.from('{ "a":1}').toString("base64url")}.${s}`;
    expect(verifySignature(reencoded, dot2(reencoded), "RS256", key.publicKey)).toBe(false);
  });

  it("when the signature is truncated or empty, then it does not (and does not throw)", () => {
    const token = signToken(key, { a: 1 });
    expect(verifySignature(token.slice(0, -10), dot2(token), "RS256", key.publicKey)).toBe(false);
    expect(verifySignature(token.slice(0, dot2(token) + 1), dot2(token), "RS256", key.publicKey)).toBe(false);
  });

  it("when a long token follows a short one, then the reused buffers still hold the right input", () => {
    const long = signToken(key, { pad: "x".repeat(40_000) });
    const short = signToken(key, { a: 1 });
    expect(verifySignature(long, dot2(long), "RS256", key.publicKey)).toBe(true);
    expect(verifySignature(short, dot2(short), "RS256", key.publicKey)).toBe(true);
  });

  it("when PS256 is used, then PSS padding with a digest-length salt verifies", () => {
    const input = `${Buffer.from('{"alg":"PS256","kid":"k"}').toString("base64url")}.${Buffer.from("{}").toString("base64url")}`;
    const sig = sign("sha256", Buffer.from(input), {
      key: key.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }).toString("base64url");
    const token = `${input}.${sig}`;
    expect(verifySignature(token, dot2(token), "PS256", key.publicKey)).toBe(true);
    expect(verifySignature(token, dot2(token), "RS256", key.publicKey)).toBe(false);
  });
});
