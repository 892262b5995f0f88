/**
 * The verified cache's byte accounting (what `auth.verifiedCache.maxBytes` bounds) matches the memory its
 * entries really hold: within 25 % of the V8 heap plus array buffers measured per entry, with entries shaped
 * as the authenticator stores them (a digest key, fresh claim strings from JSON.parse, shared scopes, one
 * basis object for the tenant and key).
 * A memory assertion, not a timing one.
 */
import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { type Principal, scopesOf } from "../../gateway/auth/claims.js";
import type { VerificationKey } from "../../gateway/auth/keys/jwk.js";
import { createVerdictCache, tokenDigest, type VerdictBasis } from "../../gateway/auth/verdict-cache.js";
import { FakeClock } from "./fixtures.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The heap and the typed arrays' buffers (the digests and the LRU order live in the latter). */
function memoryAfterGc(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe("verified cache byte accounting", () => {
  it("when 20 000 verdicts are cached, then the accounted bytes are within 25 % of the heap they hold", () => {
    const clock = new FakeClock();
    const cache = createVerdictCache({
      verified: { maxEntries: 50_000, maxBytes: 1 << 30 },
      negative: { maxEntries: 10, ttlMs: 1_000 },
      clock,
    });
    const key = { kid: "k" } as unknown as VerificationKey;
    const basis: VerdictBasis = {
      tenantId: "5e97358c-d99c-4558-af0c-de7774091dda",
      fingerprint: "tenant-fingerprint",
      verdictSettings: "settings",
      setId: "set",
      key,
    };
    const count = 20_000;
    const before = memoryAfterGc();
    for (let i = 0; i < count; i++) {
      // Claims arrive as JSON text (decode.ts parses the payload): every string is fresh, as in the gateway.
      const claims = JSON.parse(
        JSON.stringify({
          oid: randomUUID(),
          appid: randomUUID(),
          upn: `user${i}@contoso.onmicrosoft.com`,
          sub: `${randomUUID()}${randomUUID()}`.slice(0, 43),
          scp: "user_impersonation",
        }),
      ) as Record<string, string>;
      const principal: Principal = {
        kind: "user",
        tenantId: "5e97358c-d99c-4558-af0c-de7774091dda",
        objectId: claims.oid!,
        deviceId: undefined,
        clientAppId: claims.appid,
        userName: claims.upn,
        subject: claims.sub,
        version: 1,
        expiresAtSec: 2_000_000_000 + i,
        service: "cloudManagement",
        scopes: scopesOf(claims.scp),
      };
      cache.setVerified(tokenDigest(`token-${i}-${randomUUID()}`), principal, basis, clock.now() + 3_600_000);
    }
    const perEntryHeap = (memoryAfterGc() - before) / count;
    const perEntryAccounted = cache.sizes().verifiedBytes / count;
    expect(cache.sizes().verifiedEntries).toBe(count);
    expect(
      perEntryAccounted / perEntryHeap,
      `accounted ${perEntryAccounted} B, heap ${perEntryHeap} B`,
    ).toBeGreaterThan(0.75);
    expect(perEntryAccounted / perEntryHeap, `accounted ${perEntryAccounted} B, heap ${perEntryHeap} B`).toBeLessThan(
      1.25,
    );
  });
});
