import { describe, expect, it } from "vitest";
import { baseConfigInput, createHarness, makeConfig, outcome, TENANT_A, tamperSignature } from "./fixtures.js";

describe("negative cache", () => {
  it("when a forged token repeats, then it is refused again without crypto", async () => {
    const h = await createHarness();
    const forged = tamperSignature(h.tokens().GoodToken);
    expect(outcome(await h.check(forged))).toBe("signature_invalid");
    const checks = h.auth.counters.signatureChecks;
    for (let i = 0; i < 10; i++) expect(outcome(await h.check(forged))).toBe("signature_invalid");
    expect(h.auth.counters.signatureChecks).toBe(checks);
    expect(h.auth.counters.negativeHits).toBe(10);
  });

  it("when the negative TTL passes, then the token is checked again", async () => {
    const h = await createHarness();
    const forged = tamperSignature(h.tokens().GoodToken);
    await h.check(forged);
    const checks = h.auth.counters.signatureChecks;
    await h.clock.advance(30_001);
    await h.check(forged);
    expect(h.auth.counters.signatureChecks).toBe(checks + 1);
  });

  it("when the config changes, then cached audience refusals are re-evaluated", async () => {
    const h = await createHarness();
    const token = h.tokens().WrongAudienceToken;
    expect(outcome(await h.check(token))).toBe("audience_invalid");
    const raw = baseConfigInput();
    const services = (raw.azureServices as Record<string, unknown>[]).map((s) =>
      (s.tenant as { id: string }).id === TENANT_A.id
        ? { ...s, webApp: { ...(s.webApp as object), appIdUri: "https://contoso.onmicrosoft.com/some-other-app" } }
        : s,
    );
    h.auth.setConfig(makeConfig({ ...raw, azureServices: services }));
    const checks = h.auth.counters.signatureChecks;
    await h.check(token);
    expect(h.auth.counters.signatureChecks).toBe(checks + 1);
  });

  it("when a token was refused for a reason that can change (unknown kid), then it is not remembered", async () => {
    const h = await createHarness();
    const token = h.tokens().NonExistKidToken;
    await h.check(token);
    await h.check(token);
    expect(h.auth.counters.negativeHits).toBe(0);
  });
});
