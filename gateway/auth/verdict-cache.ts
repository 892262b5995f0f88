/**
 * Which verdicts are remembered, and under which key? Two bounded caches beside the composer:
 *
 * - **verified**: a token that passed every step, so a repeat skips key look-up, signature and claims. The
 *   composer still re-checks tenant, policy, `exp` and the key on every hit. Entry lifetime ≤ the token's
 *   `exp`; bounded by entries and by bytes. Least recently used goes first.
 * - **negative**: a token refused after crypto (bad signature, expired, wrong audience…), so a repeated bad
 *   token costs no crypto. Short TTL; a configuration change invalidates it (`generation`).
 *
 * Both are keyed by the SHA-256 digest of the **whole** token, compared in full (all 32 bytes): two tokens
 * that differ in any byte never share a verdict. The verified cache is laid out for 100 000 entries: the
 * digests and the LRU order live in typed arrays (`digest-table.ts`), and an entry's values in arrays
 * indexed by its slot, so what an entry puts on the heap is its principal and the principal's strings. What
 * it shares with other entries (tenant, settings, key) is one object per tenant, key set and key.
 */
import { hash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { isSharedScopes, type Principal } from "./claims.js";
import type { Clock } from "./clock.js";
import { DigestTable } from "./digest-table.js";
import type { VerificationKey } from "./keys/jwk.js";
import type { Rejection, RejectionReason } from "./rejection.js";
import type { AuthSuccess } from "./result.js";

/** A cache key: the SHA-256 of the whole token, one character per byte (32 bytes, compared in full). */
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
  // characters: extract.ts lets only token68 characters (ASCII) through. `binary` (latin1) output: a 32-character
  // string, one byte each, cheaper to make than a Buffer (measured: ~1 µs a request, docs/benchmarks.md).
  return hash("sha256", token, "binary") as TokenDigest;
}

/**
 * What a verified entry was decided under, shared by every entry verified for the same tenant inputs,
 * settings, key set and key (one object for thousands of entries).
 */
export interface VerdictBasis {
  /** The tenant and its verification inputs when verified (a reload that changes them re-verifies). */
  readonly tenantId: string;
  readonly fingerprint: string;
  /** Settings besides the tenant the verdict depends on (shared string of the snapshot). */
  readonly verdictSettings: string;
  /** Key set and key that verified it: a hit is refused once the set no longer publishes this very key. */
  readonly setId: string;
  readonly key: VerificationKey;
}

/** A verified entry as the composer reads it on a hit: a slot of the cache, valid until the next change. */
export type VerifiedSlot = number & { readonly __verifiedSlot: unique symbol };

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
 * Bytes one verified entry costs besides its principal's own strings: its share of the typed arrays (digest,
 * links, index), its slots in the value arrays, and the principal object. Measured on Node 20 x64
 * (test/gateway/verdict-cache-accounting.test.ts: heap plus array buffers per entry), and the RSS an entry
 * costs in the bench's 100 000-token phase (docs/benchmarks.md).
 */
export const VERIFIED_ENTRY_BASE_BYTES = 240;

/** V8 heap bytes of a one-byte string of `length` characters (header, rounded up to 8). */
function stringBytes(value: string | undefined): number {
  return value === undefined ? 0 : (16 + value.length + 7) & ~7;
}

/** Estimated bytes of one verified entry (what `maxBytes` counts). Shared scope lists cost nothing. */
export function verifiedEntryBytes(principal: Principal): number {
  let scopes = 0;
  if (!isSharedScopes(principal.scopes)) {
    scopes = 32 + 8 * principal.scopes.length;
    for (const s of principal.scopes) scopes += stringBytes(s);
  }
  return (
    VERIFIED_ENTRY_BASE_BYTES +
    stringBytes(principal.objectId) +
    stringBytes(principal.deviceId) +
    stringBytes(principal.clientAppId) +
    stringBytes(principal.userName) +
    stringBytes(principal.subject) +
    scopes
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
  /** The slot of a cached verdict for `key`, or undefined. The slot's values are read with the getters below. */
  findVerified(key: TokenDigest): VerifiedSlot | undefined;
  principalAt(slot: VerifiedSlot): Principal;
  basisAt(slot: VerifiedSlot): VerdictBasis;
  /** When the verdict ends (the token's `exp`, ms). */
  expiresAt(slot: VerifiedSlot): number;
  /** The last success answered from this slot (reused while the route is the same: no allocation per hit). */
  lastSuccessAt(slot: VerifiedSlot): AuthSuccess | undefined;
  rememberSuccess(slot: VerifiedSlot, success: AuthSuccess): void;
  deleteVerified(slot: VerifiedSlot): void;
  /** Remembers a verified token until `expMs` (nothing when that has passed), evicting the least recently used. */
  setVerified(key: TokenDigest, principal: Principal, basis: VerdictBasis, expMs: number): void;
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
 * const slot = cache.findVerified(key);
 */
export function createVerdictCache(options: VerdictCacheOptions): VerdictCache {
  const perf = { now: () => options.clock.now() };
  const { verified: vc, negative: nc } = options;
  const table = new DigestTable(vc.maxEntries);
  // Values by slot: plain arrays, dense from 0 (the table hands out slots in order).
  const principals: (Principal | undefined)[] = [];
  const bases: (VerdictBasis | undefined)[] = [];
  const successes: (AuthSuccess | undefined)[] = [];
  const expiries: number[] = [];
  const sizes: number[] = [];
  let bytes = 0;
  const release = (slot: number) => {
    bytes -= sizes[slot]!;
    principals[slot] = undefined;
    bases[slot] = undefined;
    successes[slot] = undefined;
    table.remove(slot);
  };
  // lru-cache keys the negative cache: it is small, short-lived and seen only after a verified miss.
  const negative = new LRUCache<TokenDigest, NegativeEntry>({ max: nc.maxEntries, ttl: nc.ttlMs, perf });
  return {
    findVerified(key) {
      const slot = table.find(key);
      if (slot < 0) return undefined;
      table.touch(slot);
      return slot as VerifiedSlot;
    },
    principalAt: (slot) => principals[slot]!,
    basisAt: (slot) => bases[slot]!,
    expiresAt: (slot) => expiries[slot]!,
    lastSuccessAt: (slot) => successes[slot],
    rememberSuccess(slot, success) {
      successes[slot] = success;
    },
    deleteVerified(slot) {
      release(slot);
    },
    setVerified(key, principal, basis, expMs) {
      if (expMs <= options.clock.now()) return;
      const size = verifiedEntryBytes(principal);
      if (size > vc.maxBytes) return;
      const existing = table.find(key);
      if (existing >= 0) release(existing);
      while (table.size >= table.limit || bytes + size > vc.maxBytes) release(table.oldest());
      const slot = table.insert(key);
      principals[slot] = principal;
      bases[slot] = basis;
      successes[slot] = undefined;
      expiries[slot] = expMs;
      sizes[slot] = size;
      bytes += size;
    },
    getNegative(key, generation) {
      if (negative.size === 0) return undefined;
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
      verifiedEntries: table.size,
      verifiedBytes: bytes,
      negativeEntries: negative.size,
    }),
    clear() {
      table.clear();
      principals.length = 0;
      bases.length = 0;
      successes.length = 0;
      expiries.length = 0;
      sizes.length = 0;
      bytes = 0;
      negative.clear();
    },
  };
}
