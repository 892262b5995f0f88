import { readFile } from "node:fs/promises";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { StackHarness } from "../gateway-http/stack-harness.js";
import { adminClient, eventually, metricValue, postOnNewConnection, type ServedGateway } from "./helpers.js";
import { type StackGateway, serveStackGateway } from "./stack-gateway.js";

let s: StackGateway;
let h: StackHarness;
let gw: ServedGateway;
let configFile: string;
let adminKey: string;
let token: string;
let tenantId: string;

beforeAll(async () => {
  // The stack's own configuration (emulator keys, MP with mTLS), served by a 2-worker cluster.
  s = await serveStackGateway({ workers: 2 });
  ({ h, gw, configFile } = s);
  adminKey = await s.adminKey();
  const contoso = h.tenant("contoso");
  tenantId = contoso.id;
  token = await h.userToken(contoso, 1);
}, 120_000);
afterAll(() => s?.close());

/** One request on a new connection, so the cluster's round-robin spreads them over the workers. */
const fresh = () => postOnNewConnection(gw.url, h.stack.tls.ca.cert, token);

const workerPids = () => new Set(gw.lines.filter((l) => l.msg === "gateway listening").map((l) => l.pid as number));
const pidsWith = (reason: string | undefined, status: number) =>
  new Set(gw.lines.filter((l) => l.msg === "request" && l.reason === reason && l.status === status).map((l) => l.pid));

async function serviceFlag(): Promise<boolean> {
  const doc = parse(await readFile(configFile, "utf8")) as { azureServices: any[] };
  return doc.azureServices.find((s) => s.tenant.id === tenantId).disableAuthentication;
}

describe("admin API with --workers 2", () => {
  it("when a call carries no key or a wrong key, then it is refused with 401 and changes nothing", async () => {
    const anonymous = adminClient(gw.adminUrl, undefined, h.dispatcher);
    const wrong = adminClient(gw.adminUrl, `${adminKey}x`, h.dispatcher);
    expect((await anonymous("POST", `/tenants/${tenantId}/disable`)).status).toBe(401);
    expect((await wrong("POST", `/tenants/${tenantId}/disable`)).status).toBe(401);
    expect((await wrong("GET", "/tenants")).status).toBe(401);
    expect(await serviceFlag()).toBe(false);
    expect(await fresh()).toBe(200);
  });

  it("when a tenant is disabled, then its next request is refused on every worker and the file is left alone; enabling restores it", async () => {
    const admin = adminClient(gw.adminUrl, adminKey, h.dispatcher);
    expect(workerPids().size).toBe(2);
    const fileBefore = await readFile(configFile, "utf8");

    const disabled = await admin("POST", `/tenants/${tenantId}/disable`);
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toMatchObject({ tenantId, enabled: false, inForce: true, origin: { source: "admin" } });
    // Every worker acknowledged before the call returned.
    expect(disabled.body.workers).toHaveLength(2);
    expect(disabled.body.workers.every((w: { ok: boolean }) => w.ok)).toBe(true);
    // Runtime state, not a file edit.
    expect(await readFile(configFile, "utf8")).toBe(fileBefore);

    // No waiting: the very next requests, on whichever worker, are refused.
    await eventually(async () => {
      expect(await fresh()).toBe(403);
      return pidsWith("tenant_disabled", 403).size === 2;
    }, "refusals from both workers");

    const view = await admin("GET", "/tenants");
    const entry = view.body.tenants.find((t: { tenantId: string }) => t.tenantId === tenantId);
    expect(entry.enabled).toBe(false);
    expect(entry.origin).toMatchObject({ source: "admin", fileSays: { enabled: true } });
    expect(entry.origin.by).toMatch(/^admin key [0-9a-f]{12} from 127\.0\.0\.1$/);
    expect(Date.parse(entry.origin.at)).toBeGreaterThan(0);

    const enabled = await admin("POST", `/tenants/${tenantId}/enable`);
    expect(enabled.status, enabled.text).toBe(200);
    expect(enabled.body.workers).toHaveLength(2);
    expect(await serviceFlag()).toBe(false);
    const before = pidsWith(undefined, 200).size;
    expect(before).toBeGreaterThanOrEqual(1);
    await eventually(async () => {
      expect(await fresh()).toBe(200);
      return (
        gw.lines.filter((l) => l.msg === "request" && l.status === 200 && l.outcome === "proxied").length >= 4 &&
        pidsWith(undefined, 200).size === 2
      );
    }, "proxied requests from both workers");

    // Audit lines: who (key fingerprint, address), what, when.
    const audits = gw.lines.filter((l) => l.msg === "admin action" && l.audit?.target === tenantId);
    expect(audits.map((l) => l.audit.action)).toEqual(["tenant.disable", "tenant.enable"]);
    expect(audits[0]?.audit.who.key).toMatch(/^[0-9a-f]{12}$/);
    expect(audits[0]?.audit.who.address).toBe("127.0.0.1");
    expect(JSON.stringify(gw.lines)).not.toContain(adminKey);
  });

  it("when metrics are scraped, then the workers' counters are aggregated", async () => {
    const text = await (await request(gw.metricsUrl)).body.text();
    const refused = gw.lines.filter((l) => l.msg === "request" && l.reason === "tenant_disabled").length;
    expect(metricValue(text, "entra_gateway_requests_total", { reason: "tenant_disabled", tenant: tenantId })).toBe(
      refused,
    );
    expect(metricValue(text, "entra_gateway_workers")).toBe(2);
    expect(metricValue(text, "entra_gateway_admin_requests_total", { action: "tenant.disable", result: "ok" })).toBe(1);
    // Process and event-loop metrics come from the workers, aggregated once (not one series per worker).
    expect(text.match(/^entra_gateway_nodejs_eventloop_lag_seconds /gm)).toHaveLength(1);
    expect(metricValue(text, "entra_gateway_process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});
