/** The console's recent refusals: a bounded ring of refused requests, newest first, fingerprints only. */
import { describe, expect, it } from "vitest";
import { createRefusalRing, MAX_ROUTE_CHARS } from "../../gateway/console/refusals.js";

describe("recent refusals", () => {
  it("when more refusals arrive than the ring holds, then the newest are kept, newest first; accepted requests are not kept", () => {
    let clock = 0;
    const ring = createRefusalRing(3, () => clock);
    for (let i = 0; i < 5; i++) {
      clock = i;
      ring.record({ outcome: "rejected", reason: `r${i}`, tenantId: undefined, status: 401, path: `/p${i}` });
      ring.record({ outcome: "proxied", reason: undefined, tenantId: "t", status: 200 });
    }
    expect(ring.list().map((r) => [r.at, r.reason, r.route])).toEqual([
      [4, "r4", "/p4"],
      [3, "r3", "/p3"],
      [2, "r2", "/p2"],
    ]);
  });

  it("when a refusal carries a long route and a fingerprint, then the route is cut and the fingerprint kept", () => {
    const ring = createRefusalRing();
    ring.record({
      outcome: "rejected",
      reason: "signature_invalid",
      tenantId: "t",
      status: 401,
      path: `/${"a".repeat(1000)}`,
      tokenFp: "0123456789ab",
    });
    const [r] = ring.list();
    expect(r!.route).toHaveLength(MAX_ROUTE_CHARS);
    expect(r!.tokenFp).toBe("0123456789ab");
    expect(createRefusalRing().list()).toEqual([]);
  });
});
