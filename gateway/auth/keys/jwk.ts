/**
 * JWKS documents → verification keys, imported once into `node:crypto` KeyObjects (parsing a key costs
 * ~6× a signature check, so it must never happen per request).
 *
 * Entra's key documents (docs/architecture.md § Signing keys): `{"keys":[{"kty":"RSA","use":"sig","kid","x5t","n","e","x5c",
 * "issuer"?}]}`, no `alg`. Only `kty`, `use`, `kid`, `n`, `e`, `alg` and `issuer` are read; `x5c` is not
 * needed because `n`/`e` are the key (RFC 7517 §4.7 makes x5c informative).
 */
import { createPublicKey, type KeyObject } from "node:crypto";

/** One imported signing key. */
export interface VerificationKey {
  readonly kid: string;
  readonly key: KeyObject;
  /** The JWK `alg`, when the document sets one (Entra does not). */
  readonly alg: string | undefined;
  /** Entra's key `issuer` (v2 documents): a template with `{tenantid}` or a concrete issuer. */
  readonly issuer: string | undefined;
  readonly modulusBits: number;
  /** Identity of the material, to reuse the KeyObject when a refresh returns the same key. */
  readonly fingerprint: string;
}

/** Outcome of {@link importJwks}. */
export type ImportResult =
  | { readonly ok: true; readonly keys: ReadonlyMap<string, VerificationKey>; readonly skipped: readonly string[] }
  | { readonly ok: false; readonly error: string };

/** RSA keys shorter than this are skipped (NIST SP 800-131A; Entra uses 2048). */
export const MIN_RSA_MODULUS_BITS = 2048;

const RSA_ALGS = new Set(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Imports a JWKS document.
 *
 * @param document the parsed JSON
 * @param previous keys of the last import; a key with the same `kid` and material keeps its object (and
 *   KeyObject), so cached verdicts that reference it stay valid
 * @param minModulusBits RSA keys below this size are skipped
 * @returns the usable signing keys by `kid` plus why others were skipped, or why the document is unusable
 */
export function importJwks(
  document: unknown,
  previous?: ReadonlyMap<string, VerificationKey>,
  minModulusBits = MIN_RSA_MODULUS_BITS,
): ImportResult {
  if (!isRecord(document) || !Array.isArray(document.keys)) {
    return { ok: false, error: "not a JWKS document (no keys array)" };
  }
  const keys = new Map<string, VerificationKey>();
  const skipped: string[] = [];
  for (const [index, jwk] of document.keys.entries()) {
    if (!isRecord(jwk)) {
      skipped.push(`keys[${index}]: not an object`);
      continue;
    }
    const { kid, kty, use, n, e, alg, issuer } = jwk;
    const label = typeof kid === "string" ? `kid ${kid}` : `keys[${index}]`;
    if (typeof kid !== "string" || kid.length === 0) {
      skipped.push(`${label}: no kid`);
    } else if (kty !== "RSA") {
      skipped.push(`${label}: kty ${String(kty)} is not RSA`);
    } else if (use !== undefined && use !== "sig") {
      // RFC 7517 §4.2: an encryption key must not verify signatures.
      skipped.push(`${label}: use ${String(use)} is not sig`);
    } else if (alg !== undefined && (typeof alg !== "string" || !RSA_ALGS.has(alg))) {
      skipped.push(`${label}: alg ${String(alg)} is not an RSA signature algorithm`);
    } else if (issuer !== undefined && typeof issuer !== "string") {
      skipped.push(`${label}: issuer is not a string`);
    } else if (typeof n !== "string" || typeof e !== "string") {
      skipped.push(`${label}: n/e missing`);
    } else if (keys.has(kid)) {
      // Two keys under one kid would make the choice ambiguous; keep the first, as Microsoft.IdentityModel does.
      skipped.push(`${label}: duplicate kid`);
    } else {
      const fingerprint = `${n}.${e}.${alg ?? ""}.${issuer ?? ""}`;
      const reused = previous?.get(kid);
      if (reused !== undefined && reused.fingerprint === fingerprint) {
        keys.set(kid, reused);
        continue;
      }
      try {
        const key = createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" });
        const modulusBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
        if (modulusBits < minModulusBits) {
          skipped.push(`${label}: ${modulusBits}-bit modulus is below ${minModulusBits}`);
          continue;
        }
        keys.set(kid, {
          kid,
          key,
          alg: typeof alg === "string" ? alg : undefined,
          issuer: typeof issuer === "string" ? issuer : undefined,
          modulusBits,
          fingerprint,
        });
      } catch (err) {
        skipped.push(`${label}: cannot import (${(err as Error).message})`);
      }
    }
  }
  return { ok: true, keys, skipped };
}
