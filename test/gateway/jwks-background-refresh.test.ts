import { describe, expect, it } from "vitest";
import { baseConfigInput, createHarness, jwksUrl, TENANT_A } from "./fixtures.js";

const url = jwksUrl(TENANT_A, 1);

describe("JWKS background refresh", () => {
  it("when an hour passes, then each key set is refreshed once in the background", async () => {
    const h = await createHarness(); // jitter random = 0.5 → exactly the interval
    expect(h.idp.count(url)).toBe(1);
    await h.clock.advance(3_599_000);
    expect(h.idp.count(url)).toBe(1);
    await h.clock.advance(1_000);
    expect(h.idp.count(url)).toBe(2);
    await h.clock.advance(3_600_000);
    expect(h.idp.count(url)).toBe(3);
    expect(h.events.filter((e) => e.reason === "background").length).toBeGreaterThan(0);
  });

  it("when jitter draws its extremes, then the refresh lands within ±10 % of the interval", async () => {
    const early = await createHarness({ random: () => 0 });
    await early.clock.advance(3_240_000); // 0.9 h
    expect(early.idp.count(url)).toBe(2);
    const late = await createHarness({ random: () => 0.999_999 });
    await late.clock.advance(3_900_000);
    expect(late.idp.count(url)).toBe(1);
    await late.clock.advance(60_000); // 1.1 h
    expect(late.idp.count(url)).toBe(2);
  });

  it("when a fetch fails, then retries back off exponentially from retryMinMs", async () => {
    const h = await createHarness({
      idpDown: true,
      config: { ...baseConfigInput(), auth: { jwks: { retryMinMs: 1_000, retryMaxMs: 8_000 } } },
    });
    expect(h.idp.count(url)).toBe(1);
    const at = (ms: number) => h.clock.advance(ms);
    await at(1_000);
    expect(h.idp.count(url)).toBe(2); // +1 s
    await at(2_000);
    expect(h.idp.count(url)).toBe(3); // +2 s
    await at(4_000);
    expect(h.idp.count(url)).toBe(4); // +4 s
    await at(8_000);
    expect(h.idp.count(url)).toBe(5); // +8 s (max)
    await at(8_000);
    expect(h.idp.count(url)).toBe(6); // stays at max
    const status = h.keys.statuses().find((s) => s.url === url);
    expect(status).toMatchObject({ state: "unavailable", consecutiveFailures: 6, lastError: "connect ECONNREFUSED" });
  });

  it("when the store is closed, then no timer fires any more", async () => {
    const h = await createHarness();
    h.keys.close();
    await h.clock.advance(10 * 3_600_000);
    expect(h.idp.count(url)).toBe(1);
  });

  it("when the fetch hangs, then it times out after fetchTimeoutMs and counts as a failure", async () => {
    const h = await createHarness({ settle: false, idpGate: new Promise(() => {}) });
    await h.clock.advance(5_000);
    await h.keys.whenSettled();
    const status = h.keys.statuses().find((s) => s.url === url);
    expect(status?.lastError).toMatch(/timed out after 5000 ms/);
  });
});
