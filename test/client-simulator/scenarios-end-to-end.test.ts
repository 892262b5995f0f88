/**
 * Every scenario at 20 clients over real HTTPS, back to back against ONE in-process stack — as `npm run
 * client-sim` runs them against one `npm start` stack, so each scenario must also leave the stack as it found
 * it (tenant re-enabled, outage over). The order keeps the bad-tokens cross-tenant forgery (tailspin) away
 * from the key rotation's tenant (contoso): both make the gateway refetch keys on an unknown `kid`, which it
 * does at most once per cooldown per tenant.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BAD_TOKEN_CASES } from "../../client-simulator/bad-tokens.js";
import { STEPS } from "../../client-simulator/client.js";
import { runSimulation } from "../../client-simulator/simulation.js";
import { explain, type SimHarness, startSimHarness } from "./harness.js";

let h: SimHarness;
beforeAll(async () => {
  h = await startSimHarness();
});
afterAll(() => h?.close());

const EXPECTED: Record<(typeof BAD_TOKEN_CASES)[number], string> = {
  expired: "401 token_expired",
  "not-yet-valid": "401 token_not_yet_valid",
  "wrong-audience": "401 audience_invalid",
  "wrong-client-app": "401 client_app_invalid",
  "other-tenant": "401 key_not_found",
  "unknown-tenant": "401 tenant_unknown",
  "forged-signature": "401 signature_invalid",
  "alg-none": "401 alg_not_allowed",
  "alg-none-unsigned": "401 token_malformed",
  "app-token": "403 token_kind_not_allowed",
};

describe("scenario happy", () => {
  it("when 20 clients run their flow twice through the gateway, then no request fails and every step was exercised", async () => {
    const result = await h.run("happy", 20);
    expect(result.verdict.holds, explain(result)).toBe(true);
    expect(result.failed).toBe(0);
    expect(result.clients).toBe(20);
    for (const step of STEPS.filter((s) => s !== "bad-token")) {
      expect(result.steps[step]?.ok, step).toBeGreaterThan(0);
    }
  });
});

describe("scenario bad-tokens", () => {
  it("when bad tokens are sent alongside a valid fleet, then each is refused for its exact reason, none reaches the MP, and the fleet is served", async () => {
    const auditBefore = h.stack.mp.audit.counts().requests;
    const result = await h.run("bad-tokens", 20);
    expect(result.verdict.holds, explain(result)).toBe(true);
    const bad = result.records.filter((r) => r.step === "bad-token");
    expect(bad).toHaveLength(BAD_TOKEN_CASES.length * 2);
    for (const r of bad)
      expect(`${r.status} ${r.gatewayReason}`, r.client).toBe(EXPECTED[r.client.slice(4) as keyof typeof EXPECTED]);
    // Independently of the simulator's own audit check: the MP saw only the fleet's served requests.
    const fleetServed = result.records.filter(
      (r) => r.result === "ok" && !["aad-auth-info", "device-token", "user-token"].includes(r.step),
    ).length;
    expect(h.stack.mp.audit.counts().requests - auditBefore).toBe(fleetServed);
  });
});

describe("scenario disabled-tenant", () => {
  it("when a tenant is disabled between two rounds, then exactly its clients are refused (403 tenant_disabled, AADAuthInfo 404) and the others are served", async () => {
    const result = await h.run("disabled-tenant", 20);
    expect(result.verdict.holds, explain(result)).toBe(true);
    const target = h.stack.description.tenants.find((t) => t.name.startsWith("contoso"))!;
    const refused = new Set(
      result.records
        .filter((r) => r.round === "disabled" && r.result === "refused" && !r.client.startsWith("probe-"))
        .map((r) => r.client),
    );
    const expected = new Set(
      result.records.filter((r) => r.round === "before" && r.tenantId === target.id).map((r) => r.client),
    );
    expect(refused).toEqual(expected);
    expect(refused.size).toBeGreaterThan(0);
    // Their very next request after the flip was refused, for the gateway's reason.
    const sts = result.records.filter(
      (r) => r.round === "disabled" && r.step === "ccm-sts" && r.tenantId === target.id,
    );
    expect(sts.map((r) => [r.status, r.gatewayReason])).toEqual(sts.map(() => [403, "tenant_disabled"]));
    // And the tenant is served again once re-enabled.
    expect(result.rounds.find((r) => r.name === "re-enabled")).toMatchObject({ failed: 0, ok: 20 });
  });
});

describe("scenario key-rotation", () => {
  it("when the emulator rotates a key mid-run, then no client fails; when the old key is revoked, then exactly the old-key tokens of that cloud's tenants are refused (key_not_found) and their holders recover", async () => {
    const result = await h.run("key-rotation", 20);
    expect(result.verdict.holds, explain(result)).toBe(true);
    expect(result.rounds.map((r) => [r.name, r.failed])).toEqual([
      ["before", 0],
      ["rotated", 0],
      ["revoked", 0],
    ]);
    const refused = result.records.filter(
      (r) => r.round === "revoked" && r.result === "refused" && r.step !== "aad-auth-info",
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((r) => `${r.status} ${r.gatewayReason}`))).toEqual(new Set(["401 key_not_found"]));
    // One key set per cloud (as Entra): the rotation through Contoso reaches every public-cloud tenant, and
    // only those; the US Government tenant's tokens are untouched.
    const target = h.stack.description.tenants.find((t) => t.name.startsWith("contoso"))!;
    const sameCloud = new Set(h.stack.description.tenants.filter((t) => t.cloud === target.cloud).map((t) => t.id));
    const refusedTenants = new Set(refused.map((r) => r.tenantId));
    expect(refusedTenants.has(target.id)).toBe(true);
    expect([...refusedTenants].filter((id) => !sameCloud.has(id))).toEqual([]);
  });
});

describe("scenario idp-outage", () => {
  it("when the emulator's JWKS answers 503 and the gateway refetches, then clients with held and with new tokens keep being served", async () => {
    const result = await h.run("idp-outage", 20);
    expect(result.verdict.holds, explain(result)).toBe(true);
    expect(result.failed).toBe(0);
    expect(result.rounds.map((r) => [r.name, r.ok])).toEqual([
      ["before", 20],
      ["outage, held tokens", 20],
      ["outage, new tokens", 20],
    ]);
    // The gateway really met the outage: its key sets went stale and it kept the last good keys.
    const met = result.verdict.checks.find((c) => c.name.startsWith("outage: the gateway really met"))!;
    expect(met.holds, met.detail).toBe(true);
    expect(met.skipped).toBeUndefined();
  });
});

describe("through the stack's public interfaces only (what the CLI uses)", () => {
  it("when bad-tokens runs from stack.json alone, then reasons come from the gateway's metrics and the audit from the MP over mTLS", async () => {
    const d = h.stack.description as unknown as { gateway: { metricsUrl?: string; adminUrl?: string } };
    expect(d.gateway.metricsUrl, "stack.json carries gateway.metricsUrl").toBeTruthy();
    const result = await runSimulation({ stack: h.stack.description, clients: 10, scenario: "bad-tokens" });
    expect(result.verdict.holds, explain(result)).toBe(true);
    const reasons = result.verdict.checks.find((c) => c.name.includes("exact reason"))!;
    expect(reasons.skipped).toBeUndefined();
    expect(reasons.detail).toMatch(/^gateway metrics: /);
    const audit = result.verdict.checks.find((c) => c.name.includes("MP (its audit)"))!;
    expect(audit.skipped).toBeUndefined();
    expect(audit.holds, audit.detail).toBe(true);
  });
});
