import { describe, expect, it } from "vitest";
import { baseConfigInput, createHarness, makeConfig, outcome, signToken, TENANT_A, userClaimsV1 } from "./fixtures.js";

describe("verified-token cache", () => {
  it("when the same token repeats, then the signature is checked once and the same principal is returned", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    const first = await h.check(token);
    const checks = h.auth.counters.signatureChecks;
    const second = await h.check(token);
    expect(h.auth.counters.signatureChecks).toBe(checks);
    expect(h.auth.counters.verifiedHits).toBe(1);
    expect(second.ok && first.ok && second.principal).toBe(first.ok && first.principal);
  });

  it("when a cached token comes with auth-params or a second credential after it, then the header is malformed, not a hit", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    expect(outcome(await h.check(token))).toBe("ok");
    // The character check is skipped only for the cached token itself; these differ from it, so they are checked.
    for (const header of [`${token}, Bearer ${token}`, `${token} realm="x"`, `${token}\u00e9`]) {
      expect(outcome(await h.check(header)), header.slice(-20)).toBe("request_malformed");
    }
    expect(outcome(await h.check(token))).toBe("ok");
    expect(h.auth.counters.signatureChecks).toBe(1);
  });

  it("when a token differs only after the cached one's prefix or in its signature, then it is not a hit (whole-token key)", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    await h.check(token);
    expect(outcome(await h.check(`${token}A`))).not.toBe("ok");
    const dot = token.lastIndexOf(".");
    const otherSig = `${token.slice(0, dot + 1)}${"A".repeat(token.length - dot - 1)}`;
    expect(outcome(await h.check(otherSig))).toBe("signature_invalid");
  });

  it("when the tenant is disabled by a config swap, then the very next request with a cached token is refused", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    expect(outcome(await h.check(token))).toBe("ok");
    const raw = baseConfigInput();
    const services = (raw.azureServices as Record<string, unknown>[]).map((s) =>
      (s.tenant as { id: string }).id === TENANT_A.id ? { ...s, disableAuthentication: true } : s,
    );
    h.auth.setConfig(makeConfig({ ...raw, azureServices: services }));
    expect(outcome(await h.check(token))).toBe("tenant_disabled");
    h.auth.setConfig(makeConfig(raw));
    expect(outcome(await h.check(token))).toBe("ok");
  });

  it("when the tenant is removed from the config, then its cached tokens are refused as tenant_unknown", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    await h.check(token);
    const raw = baseConfigInput();
    const services = (raw.azureServices as Record<string, unknown>[]).filter(
      (s) => (s.tenant as { id: string }).id !== TENANT_A.id,
    );
    h.auth.setConfig(makeConfig({ ...raw, azureServices: services }));
    expect(outcome(await h.check(token))).toBe("tenant_unknown");
  });

  it("when the tenant's client app changes in a reload, then the cached verdict is re-verified and refused", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    await h.check(token);
    const raw = baseConfigInput();
    const services = (raw.azureServices as Record<string, unknown>[]).map((s) =>
      (s.tenant as { id: string }).id === TENANT_A.id
        ? { ...s, nativeApp: { name: "new", clientId: "99999999-9999-4999-8999-999999999999" } }
        : s,
    );
    h.auth.setConfig(makeConfig({ ...raw, azureServices: services }));
    expect(outcome(await h.check(token))).toBe("client_app_invalid");
  });

  it("when a cached token reaches exp, then it is no longer served from the cache and expires after the skew", async () => {
    const h = await createHarness();
    const claims = { ...userClaimsV1(TENANT_A, h.clock.nowSec()), exp: Math.floor(h.clock.nowSec()) + 60 };
    const token = signToken(h.keyOf.get(TENANT_A.id)!, claims);
    expect(outcome(await h.check(token))).toBe("ok");
    await h.clock.advance(61_000);
    const checks = h.auth.counters.signatureChecks;
    expect(outcome(await h.check(token))).toBe("ok"); // within the 300 s skew, re-verified
    expect(h.auth.counters.signatureChecks).toBe(checks + 1);
    await h.clock.advance(300_000);
    expect(outcome(await h.check(token))).toBe("token_expired");
  });

  it("when the route changes between hits, then policy is re-checked for the new route", async () => {
    const h = await createHarness();
    const token = h.tokens().DeviceToken;
    expect(outcome(await h.check(token, "/CCM_STS"))).toBe("ok");
    expect(outcome(await h.check(token, "/AdminService/v1.0/Device"))).toBe("token_kind_not_allowed");
  });

  it("when the cache is bounded to 2 entries, then older tokens are evicted and verified again", async () => {
    const h = await createHarness({
      config: { ...baseConfigInput(), auth: { verifiedCache: { maxEntries: 2 } } },
    });
    const tokens = [h.tokens().GoodToken, h.tokens().GoodToken, h.tokens().GoodToken];
    for (const t of tokens) await h.check(t);
    const checks = h.auth.counters.signatureChecks;
    await h.check(tokens[0]!);
    expect(h.auth.counters.signatureChecks).toBe(checks + 1);
  });

  it("when the cache is bounded by bytes, then verdicts beyond the byte budget are evicted and verified again", async () => {
    // Room for two verdicts of this size (an entry is ~0.5 KB: it keeps a digest, never the token).
    const h = await createHarness({
      config: { ...baseConfigInput(), auth: { verifiedCache: { maxBytes: 1_300 } } },
    });
    const tokens = [h.tokens().GoodToken, h.tokens().GoodToken, h.tokens().GoodToken];
    for (const t of tokens) expect(outcome(await h.check(t))).toBe("ok");
    expect(h.auth.cacheSizes().verifiedEntries).toBe(2);
    expect(h.auth.cacheSizes().verifiedBytes).toBeLessThanOrEqual(1_300);
    const checks = h.auth.counters.signatureChecks;
    await h.check(tokens[0]!);
    expect(h.auth.counters.signatureChecks).toBe(checks + 1);
  });

  it("when a token is large, then its cached verdict costs what a small one's does (the token is not kept)", async () => {
    const h = await createHarness();
    const claims = userClaimsV1(TENANT_A, h.clock.nowSec());
    expect(outcome(await h.check(signToken(h.keyOf.get(TENANT_A.id)!, claims)))).toBe("ok");
    const small = h.auth.cacheSizes().verifiedBytes;
    const padded = signToken(h.keyOf.get(TENANT_A.id)!, { ...claims, pad: "x".repeat(8_000) });
    expect(outcome(await h.check(padded))).toBe("ok");
    expect(h.auth.cacheSizes().verifiedBytes).toBe(2 * small);
  });

  it("when two tokens differ in one byte anywhere, then they never share a verdict", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    expect(outcome(await h.check(token))).toBe("ok");
    const [header, payload] = token.split(".") as [string, string];
    const flip = (at: number) => {
      const c = token[at] === "A" ? "B" : "A";
      return `${token.slice(0, at)}${c}${token.slice(at + 1)}`;
    };
    // First byte, middle of the payload, the signature's first byte and its second to last (the last one
    // carries padding bits): each a distinct token, none answered from the cached verdict.
    const positions = [0, header.length + 1 + Math.floor(payload.length / 2), header.length + payload.length + 2];
    positions.push(token.length - 2);
    for (const at of positions) {
      const hits = h.auth.counters.verifiedHits;
      const result = await h.check(flip(at));
      expect(h.auth.counters.verifiedHits, `byte ${at}`).toBe(hits);
      expect(outcome(result), `byte ${at}`).not.toBe("ok");
    }
    // The original is still a hit.
    const hits = h.auth.counters.verifiedHits;
    expect(outcome(await h.check(token))).toBe("ok");
    expect(h.auth.counters.verifiedHits).toBe(hits + 1);
  });

  it("when deviceTokenRequireClientApp is switched on by a reload, then cached device verdicts without appid are refused", async () => {
    const h = await createHarness();
    const token = h.tokens().DeviceToken;
    expect(outcome(await h.check(token))).toBe("ok");
    h.auth.setConfig(makeConfig({ ...baseConfigInput(), auth: { deviceTokenRequireClientApp: true } }));
    expect(outcome(await h.check(token))).toBe("client_app_invalid");
  });
});

describe("trace", () => {
  it("when a trace is passed, then it is told every step in pipeline order, and a cached verdict is reported as a cache hit", async () => {
    const h = await createHarness();
    const token = h.tokens().GoodToken;
    const steps: string[] = [];
    const traced = (authorization: string) =>
      h.run({ url: "/CCM_STS", authorization, trace: (e) => steps.push(`${e.step}:${e.refused?.reason ?? "ok"}`) });
    expect(outcome(await traced(`Bearer ${token}`))).toBe("ok");
    expect(steps).toEqual([
      "route:ok",
      "extract:ok",
      "decode:ok",
      "tenant:ok",
      "policy:ok",
      "issuer:ok",
      "keys:ok",
      "signature:ok",
      "claims:ok",
      "grant:ok",
    ]);
    steps.length = 0;
    expect(outcome(await traced(`Bearer ${token}`))).toBe("ok");
    expect(steps).toEqual(["route:ok", "extract:ok", "cache:ok"]);
    steps.length = 0;
    const dot = token.lastIndexOf(".");
    const forged = `${token.slice(0, dot + 1)}${"A".repeat(token.length - dot - 1)}`;
    expect(outcome(await traced(`Bearer ${forged}`))).toBe("signature_invalid");
    expect(outcome(await traced(`Bearer ${forged}`))).toBe("signature_invalid");
    expect(steps.slice(-3)).toEqual(["route:ok", "extract:ok", "cache:signature_invalid"]);
  });
});
