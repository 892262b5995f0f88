/**
 * The verified cache's index (`gateway/auth/digest-table.ts`) against a reference model: a Map for
 * membership and an array for recency. Small limits put many digests in one probe run, so insertion,
 * backward-shift removal, growth and LRU order are all exercised.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DigestTable } from "../../gateway/auth/digest-table.js";

const digest = (n: number) => createHash("sha256").update(`token-${n}`).digest("binary");

/** Deterministic pseudo-random numbers (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("digest table", () => {
  it("when 20 000 random inserts, look-ups and removals run, then it agrees with a map and an LRU list at every step", () => {
    const digests = Array.from({ length: 3 * 3000 }, (_, n) => digest(n));
    for (const limit of [1, 7, 64, 3000]) {
      const table = new DigestTable(limit);
      const slotOf = new Map<number, number>();
      const recency: number[] = []; // least recent first
      const next = random(limit);
      // The first disagreement, if any (one assertion at the end: expect() per step would cost seconds).
      let mismatch: string | undefined;
      for (let step = 0; step < 20_000 && mismatch === undefined; step++) {
        const n = Math.floor(next() * limit * 3);
        const r = next();
        const slot = table.find(digests[n]!);
        if (slot >= 0 !== slotOf.has(n) || (slot >= 0 && slot !== slotOf.get(n))) {
          mismatch = `step ${step}: ${n} found in slot ${slot}, expected ${slotOf.get(n)}`;
          break;
        }
        if (r < 0.5) {
          if (slot < 0) {
            if (table.size >= limit) {
              const victim = recency.shift()!;
              if (table.oldest() !== slotOf.get(victim)) {
                mismatch = `step ${step}: the least recently used is slot ${table.oldest()}, expected ${slotOf.get(victim)}`;
                break;
              }
              table.remove(table.oldest());
              slotOf.delete(victim);
            }
            slotOf.set(n, table.insert(digests[n]!));
          } else {
            table.touch(slot);
            recency.splice(recency.indexOf(n), 1);
          }
          recency.push(n);
        } else if (r < 0.7 && slot >= 0) {
          table.remove(slot);
          slotOf.delete(n);
          recency.splice(recency.indexOf(n), 1);
        }
        if (table.size !== slotOf.size) mismatch = `step ${step}: size ${table.size}, expected ${slotOf.size}`;
      }
      expect(mismatch, `limit ${limit}`).toBeUndefined();
      for (const [n, slot] of slotOf) expect(table.find(digests[n]!)).toBe(slot);
    }
  });

  it("when a digest differs from a held one only in its last byte, then it is not found", () => {
    const table = new DigestTable(8);
    const held = digest(1);
    table.insert(held);
    const other = held.slice(0, 31) + String.fromCharCode(held.charCodeAt(31) ^ 1);
    expect(table.find(other)).toBe(-1);
    expect(table.find(`${held}`)).toBeGreaterThanOrEqual(0);
  });

  it("when it is full, then inserting without making room throws instead of growing past the limit", () => {
    const table = new DigestTable(2);
    table.insert(digest(1));
    table.insert(digest(2));
    expect(() => table.insert(digest(3))).toThrow(RangeError);
    expect(table.insert(digest(2))).toBe(table.find(digest(2)));
  });
});
