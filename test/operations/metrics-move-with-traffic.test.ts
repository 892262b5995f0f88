import { randomUUID } from "node:crypto";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { adminClient, metricValue } from "./helpers.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

const scrape = async () => {
  const res = await request(h.stack.description.gateway.metricsUrl);
  expect(res.statusCode).toBe(200);
  return res.body.text();
};

describe("metrics", () => {
  it("when metrics are scraped, then every documented series family is exposed on the metrics listener", async () => {
    const token = await h.userToken(h.tenant("contoso"), 1);
    await h.gw("POST", "/CCM_STS", { token, headers: { "content-type": "application/json" }, body: "{}" });
    const text = await scrape();
    for (const name of [
      "entra_gateway_requests_total",
      "entra_gateway_auth_duration_seconds_bucket",
      "entra_gateway_upstream_duration_seconds_bucket",
      "entra_gateway_upstream_responses_total",
      "entra_gateway_jwks_fetches_total",
      "entra_gateway_jwks_keys",
      "entra_gateway_jwks_key_state",
      "entra_gateway_jwks_key_age_seconds",
      "entra_gateway_cache_hits_total",
      "entra_gateway_cache_misses_total",
      "entra_gateway_cache_entries",
      "entra_gateway_cache_bytes",
      "entra_gateway_signature_checks_total",
      "entra_gateway_upstream_pool",
      "entra_gateway_token_issued_age_seconds_bucket",
      "entra_gateway_secret_expiry_timestamp_seconds",
      "entra_gateway_secrets_expiring",
      "entra_gateway_tenant_enabled",
      "entra_gateway_config_reloads_total",
      "entra_gateway_workers",
      "entra_gateway_process_cpu_seconds_total",
      "entra_gateway_process_resident_memory_bytes",
      "entra_gateway_nodejs_eventloop_lag_seconds",
      "entra_gateway_nodejs_eventloop_lag_p99_seconds",
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}[{ ]`, "m"));
    }
    const tenant = h.tenant("contoso").id;
    expect(metricValue(text, "entra_gateway_jwks_key_state", { tenant, version: "v1", state: "fresh" })).toBe(1);
    expect(metricValue(text, "entra_gateway_jwks_keys", { tenant, version: "v1" })).toBeGreaterThan(0);
    expect(metricValue(text, "entra_gateway_token_issued_age_seconds_count")).toBeGreaterThanOrEqual(1);
  });

  it("when a request is rejected, then its reason and tenant counter moves by one", async () => {
    const contoso = h.tenant("contoso");
    const token = await h.userToken(contoso, 2);
    const [head, payload, sig] = token.split(".");
    const forged = `${head}.${payload}.${sig!.slice(0, -4)}AAAA`;
    const labels = { outcome: "rejected", reason: "signature_invalid", tenant: contoso.id };
    const before = metricValue(await scrape(), "entra_gateway_requests_total", labels) ?? 0;
    const res = await h.gw("POST", "/CCM_STS", {
      token: forged,
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(401);
    expect(metricValue(await scrape(), "entra_gateway_requests_total", labels)).toBe(before + 1);
  });

  it("when AADAuthInfo is asked, then each answer is counted by outcome and logged with the tenant asked, no token", async () => {
    const contoso = h.tenant("contoso").id;
    const stranger = randomUUID();
    const count = async (outcome: string) =>
      metricValue(await scrape(), "entra_gateway_aadauthinfo_requests_total", { outcome }) ?? 0;
    const found = await count("found");
    const missing = await count("not_onboarded");
    const requests = metricValue(await scrape(), "entra_gateway_requests_total", {}) ?? 0;
    const lines = () =>
      h.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request" && l.outcome === "aadauthinfo");
    const logged = lines().length;
    const token = await h.userToken(h.tenant("contoso"), 1);
    const ok = await h.gw("GET", `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${contoso.toUpperCase()}`, { token });
    expect(ok.status).toBe(200);
    const no = await h.gw("GET", `/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${stranger}`);
    expect(no.status).toBe(404);
    const junk = await h.gw("GET", "/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=%3Cscript%3E");
    expect(junk.status).toBe(404);
    expect(await count("found")).toBe(found + 1);
    expect(await count("not_onboarded")).toBe(missing + 2);
    // Answered by the gateway: not a proxied or rejected request.
    expect(metricValue(await scrape(), "entra_gateway_requests_total", {}) ?? 0).toBe(requests);
    const mine = lines().slice(logged);
    expect(mine.map((l) => [l.level, l.reason, l.tenantId, l.status, l.tokenFp])).toEqual([
      [30, "found", contoso, 200, undefined],
      [30, "not_onboarded", stranger, 404, undefined],
      [30, "not_onboarded", undefined, 404, undefined],
    ]);
    expect(JSON.stringify(mine)).not.toContain("script");
  });

  it("when the admin API forces a JWKS refresh, then the fetch counter moves for every key set", async () => {
    const text = await scrape();
    const sets = h.stack.gateway.keys.statuses().length;
    const before = metricValue(text, "entra_gateway_jwks_fetches_total", { reason: "manual", result: "ok" }) ?? 0;
    const admin = adminClient(h.stack.description.gateway.adminUrl, h.stack.description.gateway.adminKey, h.dispatcher);
    const res = await admin("POST", "/jwks/refresh");
    expect(res.status, res.text).toBe(200);
    expect(metricValue(await scrape(), "entra_gateway_jwks_fetches_total", { reason: "manual", result: "ok" })).toBe(
      before + sets,
    );
  });

  it("when verified tokens repeat, then cache hits move", async () => {
    const token = await h.userToken(h.tenant("contoso"), 3);
    const hits = async () => metricValue(await scrape(), "entra_gateway_cache_hits_total", { cache: "verified" }) ?? 0;
    const before = await hits();
    for (let i = 0; i < 3; i += 1) {
      const res = await h.gw("POST", "/CCM_STS", {
        token,
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      expect(res.status).toBe(200);
    }
    expect(await hits()).toBe(before + 2);
  });
});
