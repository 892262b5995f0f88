import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { adminClient, metricValue } from "./helpers.js";

const DAY = 86_400_000;
const soon = new Date(Date.now() + 10 * DAY).toISOString().slice(0, 10);
const past = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);

let h: StackHarness;
let expiring: { name: string; tenant: { id: string } };
let expired: { name: string; tenant: { id: string } };
beforeAll(async () => {
  h = await startStackHarness({
    editGatewayConfig: (raw) => {
      const services = raw.azureServices as any[];
      services[0].webApp.secretExpiry = soon;
      services[0].webApp.origin = "imported";
      services[1].webApp.secretExpiry = past;
      expiring = services[0];
      expired = services[1];
    },
  });
});
afterAll(() => h?.close());

describe("secret expiry notifications", () => {
  it("when secrets expire within 30 days or have expired, then a warning is logged at start for each, imported or created", () => {
    const warnings = h.logLines
      .map((l) => JSON.parse(l))
      .filter((l) => l.level === 40 && String(l.msg).startsWith("web app secret"));
    const about = (name: string) => warnings.find((w) => w.service === name);
    expect(about(expiring.name)?.msg).toContain("expires in");
    expect(about(expiring.name)?.origin).toBe("imported");
    expect(about(expired.name)?.msg).toContain("has expired");
  });

  it("when the admin /readyz, /metrics and GET /tenants are asked, then each shows the expiry", async () => {
    const admin = adminClient(h.stack.description.gateway.adminUrl, h.stack.description.gateway.adminKey, h.dispatcher);
    const ready = await admin("GET", "/readyz");
    expect(ready.body.workers[0].checks.secrets[expiring.name]).toBe(`expiring ${soon}`);
    expect(ready.body.workers[0].checks.secrets[expired.name]).toBe(`expired ${past}`);

    const text = await (await request(h.stack.description.gateway.metricsUrl)).body.text();
    expect(metricValue(text, "entra_gateway_secret_expiry_timestamp_seconds", { tenant: expiring.tenant.id })).toBe(
      Date.parse(soon) / 1000,
    );
    expect(metricValue(text, "entra_gateway_secrets_expiring", { state: "expired" })).toBe(1);

    const tenants = await admin("GET", "/tenants");
    expect(tenants.status).toBe(200);
    const entry = tenants.body.tenants.find((t: { service: string }) => t.service === expiring.name);
    expect(entry.secret).toMatchObject({ expiresAt: soon, state: "expiring", origin: "imported" });
    // The same view carries key state per token version, key ids and the last fetch.
    expect(entry.keys.map((k: { version: number }) => k.version)).toEqual([1, 2]);
    expect(entry.keys[0]).toMatchObject({ state: "fresh", workers: { fresh: 1, stale: 0, unavailable: 0 } });
    expect(entry.keys[0].kids.length).toBeGreaterThan(0);
    expect(Date.parse(entry.keys[0].lastFetchAt)).toBeGreaterThan(0);
  });
});
