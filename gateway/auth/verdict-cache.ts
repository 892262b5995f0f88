/**
 * Which verdicts are remembered, and under which key? Two bounded LRU caches beside the composer:
 *
 * - **verified**: a token that passed every step, so a repeat skips key look-up, signature and claims. The
 *   composer still re-checks tenant, policy, `exp` and the key on every hit. Entry lifetime ≤ the token's
 *   `exp`; bounded by entries and by bytes.
 * - **negative**: a token refused after crypto (bad signature, expired, wrong audience…), so a repeated bad
 *   token costs no crypto. Short TTL; a configuration change invalidates it (`generation`).
 *
 * Both are keyed by the SHA-256 digest of the **whole** token, compared in full (a map key of all 32
 * bytes): two tokens that differ in any byte never share a verdict, and an entry holds 44 bytes of key
 * instead of a 1–2 KB token, which keeps the old generation small and 100 000 verdicts well under 100 MB.
 */
import { hash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Principal } from "./claims.js";
import type { Clock } from "./clock.js";
import type { VerificationKey } from "./keys/jwk.js";
import type { Rejection, RejectionReason } from "./rejection.js";
import type { AuthSuccess } from "./result.js";

/** A cache key: the SHA-256 of the whole token, base64 (44 characters, every bit of the digest). */
export type TokenDigest = string & { readonly __tokenDigest: unique symbol };

/**
 * The cache key of a token: SHA-256 over all of it (header, payload and signature).
 *
 * @example
 * tokenDigest("a.b.c") === tokenDigest("a.b.c"); // true
 * tokenDigest("a.b.c") === tokenDigest("a.b.d"); // false
 */
export function tokenDigest(token: string): TokenDigest {
  // One-shot hash: no Hash object per request. The bytes hashed are the token's UTF-8, which is exactly its
  // characters: extract.ts lets only token68 characters (ASCII) through.
  return hash("sha256", token, "base64") as TokenDigest;
}

/** What a verified token leaves behind: only what a hit re-checks and answers with. */
export interface VerifiedEntry {
  /** The tenant and its verification inputs when verified (a reload that changes them re-verifies). */
  readonly tenantId: string;
  readonly fingerprint: string;
  /** Settings besides the tenant the verdict depends on (shared string of the snapshot). */
  readonly verdictSettings: string;
  /** Key set and key that verified it: a hit is refused once the set no longer publishes this very key. */
  readonly setId: string;
  readonly key: VerificationKey;
  readonly principal: Principal;
  readonly expMs: number;
  /** The last success built from this entry, reused while the route is the same (no allocation per hit). */
  last: AuthSuccess | undefined;
}

/** A remembered refusal. */
export interface NegativeEntry {
  readonly rejection: Rejection;
  /** The authenticator's configuration generation it was reached under. */
  readonly generation: number;
}

/** Verdicts reached after the signature check; remembered so a repeated bad token costs no crypto. */
const NEGATIVE_CACHEABLE: ReadonlySet<RejectionReason> = new Set<RejectionReason>([
  "signature_invalid",
  "token_expired",
  "token_not_yet_valid",
  "audience_invalid",
  "client_app_invalid",
  "claim_invalid",
  "token_lifetime_too_long",
]);

/**
 * Bytes one verified entry costs besides its principal's strings: the digest key (a 44-character string),
 * the entry, principal and cached-success objects, and lru-cache's slot (map entry, key/value lists, links,
 * TTL start and length). Measured on Node 20 x64: ~400 B of heap; set a little above, towards the RSS an
 * entry costs once the old generation has grown (test/gateway/verdict-cache-accounting.test.ts, and the
 * bench's 100 000-token RSS phase).
 */
export const VERIFIED_ENTRY_BASE_BYTES = 480;

/** V8 heap bytes of a one-byte string of `length` characters (header, rounded up to 8). */
function stringBytes(value: string | undefined): number {
  return value === undefined ? 0 : (16 + value.length + 7) & ~7;
}

/** Estimated heap bytes of one verified entry (what `maxBytes` counts). */
export function verifiedEntryBytes(entry: VerifiedEntry): number {
  const p = entry.principal;
  return (
    VERIFIED_ENTRY_BASE_BYTES +
    stringBytes(p.objectId) +
    stringBytes(p.deviceId) +
    stringBytes(p.clientAppId) +
    stringBytes(p.userName) +
    stringBytes(p.subject)
  );
}

/** Options of {@link createVerdictCache}. */
export interface VerdictCacheOptions {
  readonly verified: { readonly maxEntries: number; readonly maxBytes: number };
  readonly negative: { readonly maxEntries: number; readonly ttlMs: number };
  readonly clock: Clock;
}

/** The two caches. */
export interface VerdictCache {
  getVerified(key: TokenDigest): VerifiedEntry | undefined;
  /** Remembers a verdict for `ttlMs` (≤ the token's `exp`); nothing when `ttlMs` ≤ 0. */
  setVerified(key: TokenDigest, entry: VerifiedEntry, ttlMs: number): void;
  deleteVerified(key: TokenDigest): void;
  /** A refusal remembered under the current generation, if any. */
  getNegative(key: TokenDigest, generation: number): Rejection | undefined;
  /**
   * Remembers `rejection` when its reason is one reached after crypto; `ttlMs` shortens the default TTL (a
   * token not yet valid is remembered only until it becomes valid). Returns `rejection`.
   */
  rememberRefusal(key: TokenDigest, rejection: Rejection, generation: number, ttlMs?: number): Rejection;
  sizes(): { verifiedEntries: number; verifiedBytes: number; negativeEntries: number };
  clear(): void;
}

/**
 * Creates both caches with fixed bounds.
 *
 * @example
 * const cache = createVerdictCache({ verified: { maxEntries: 50_000, maxBytes: 64 << 20 },
 *   negative: { maxEntries: 10_000, ttlMs: 30_000 }, clock: systemClock });
 * const key = tokenDigest(token);
 * const entry = cache.getVerified(key);
 */
export function createVerdictCache(options: VerdictCacheOptions): VerdictCache {
  const perf = { now: () => options.clock.now() };
  const { verified: vc, negative: nc } = options;
  const verified = new LRUCache<TokenDigest, VerifiedEntry>({
    max: vc.maxEntries,
    maxSize: vc.maxBytes,
    sizeCalculation: verifiedEntryBytes,
    perf,
  });
  const negative = new LRUCache<TokenDigest, NegativeEntry>({ max: nc.maxEntries, ttl: nc.ttlMs, perf });
  return {
    getVerified: (key) => verified.get(key),
    setVerified(key, entry, ttlMs) {
      if (ttlMs > 0) verified.set(key, entry, { ttl: ttlMs });
    },
    deleteVerified(key) {
      verified.delete(key);
    },
    getNegative(key, generation) {
      const entry = negative.get(key);
      return entry !== undefined && entry.generation === generation ? entry.rejection : undefined;
    },
    rememberRefusal(key, rejection, generation, ttlMs) {
      if (NEGATIVE_CACHEABLE.has(rejection.reason)) {
        const entry = { rejection, generation };
        if (ttlMs === undefined) negative.set(key, entry);
        else if (ttlMs > 0) negative.set(key, entry, { ttl: Math.min(ttlMs, nc.ttlMs) });
      }
      return rejection;
    },
    sizes: () => ({
      verifiedEntries: verified.size,
      verifiedBytes: verified.calculatedSize,
      negativeEntries: negative.size,
    }),
    clear() {
      verified.clear();
      negative.clear();
    },
  };
}
