/**
 * Step 6 — the signature (RFC 7515 §5.2): `crypto.verify` over the exact signing input
 * (`BASE64URL(header) "." BASE64URL(payload)` as received, never re-encoded) with a KeyObject imported once
 * per key. Measured on the target machine: 22–25 µs with a cached KeyObject vs 53–87 µs for jose's
 * `jwtVerify` (WebCrypto, async), so the hot path uses `node:crypto` directly; jose stays the reference in tests.
 */
import { constants, type KeyObject, verify } from "node:crypto";
import type { SupportedAlg } from "../config/schema.js";

const HASH: Readonly<Record<SupportedAlg, string>> = Object.freeze({
  RS256: "sha256",
  RS384: "sha384",
  RS512: "sha512",
  PS256: "sha256",
  PS384: "sha384",
  PS512: "sha512",
});

// Reused buffers: crypto.verify is synchronous, so nothing else can touch them between write and verify.
let inputScratch = Buffer.allocUnsafe(16_384);
let signatureScratch = Buffer.allocUnsafe(1_024);

/**
 * Is the algorithm one this module can verify?
 *
 * @param alg a JOSE `alg`
 */
export function isSupportedAlg(alg: string): alg is SupportedAlg {
  return Object.hasOwn(HASH, alg);
}

/**
 * Verifies a compact JWS signature.
 *
 * @param token the compact serialization
 * @param signingInputLength index of the second `.` (from `decodeToken`)
 * @param alg the header's `alg`, already allowed
 * @param key an RSA public KeyObject
 * @returns whether the signature is valid; never throws for bad input
 */
export function verifySignature(token: string, signingInputLength: number, alg: SupportedAlg, key: KeyObject): boolean {
  if (token.length > inputScratch.length) inputScratch = Buffer.allocUnsafe(token.length);
  // The signing input is ASCII (base64url and "."), so latin1 copies it byte for byte.
  const inputLength = inputScratch.write(token, 0, signingInputLength, "latin1");
  const encodedSignature = token.slice(signingInputLength + 1);
  const maxSignatureBytes = Math.ceil((encodedSignature.length * 3) / 4);
  if (maxSignatureBytes > signatureScratch.length) signatureScratch = Buffer.allocUnsafe(maxSignatureBytes);
  const signatureLength = signatureScratch.write(encodedSignature, 0, "base64url");
  const input = inputScratch.subarray(0, inputLength);
  const signature = signatureScratch.subarray(0, signatureLength);
  try {
    if (alg.startsWith("PS")) {
      // RFC 7518 §3.5: RSASSA-PSS with MGF1 and a salt as long as the hash.
      return verify(
        HASH[alg],
        input,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        signature,
      );
    }
    // RFC 7518 §3.3: RSASSA-PKCS1-v1_5, the default padding for an RSA KeyObject.
    return verify(HASH[alg], input, key, signature);
  } catch {
    return false;
  }
}
