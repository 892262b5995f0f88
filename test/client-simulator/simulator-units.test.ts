import { describe, expect, it } from "vitest";
import { judge } from "../../client-simulator/client.js";
import { parseRejections } from "../../client-simulator/controls.js";
import { planFleet } from "../../client-simulator/fleet.js";
import type { HttpAnswer } from "../../client-simulator/http.js";
import { percentile, summariseSteps } from "../../client-simulator/report.js";
import type { StackFileTenant } from "../../client-simulator/stack-file.js";

const answer = (status: number, headers: Record<string, string> = {}, text = ""): HttpAnswer => ({
  status,
  headers,
  text,
  bytes: text.length,
  ms: 1,
});

const tenant = (name: string, extra: Partial<StackFileTenant> = {}): StackFileTenant => ({
  id: `${name}-id`,
  name: `${name}.onmicrosoft.com`,
  cloud: "AzurePublicCloud",
  disabled: false,
  clientApp: { clientId: "c" },
  serverApp: { appIdUri: "api://x/ConfigMgrService" },
  users: Array.from({ length: 11 }, (_, i) => ({ upn: `u${i}@${name}`, password: "p" })),
  devices: Array.from({ length: 5 }, (_, i) => ({ deviceId: `${name}-d${i}` })),
  ...extra,
});

describe("judging answers", () => {
  it("when a refusal is expected, then status and challenge must both match", () => {
    const expect401 = { status: 401, challenge: "invalid_token" };
    const bearer = { "www-authenticate": 'Bearer realm="entra-gateway", error="invalid_token"' };
    expect(judge(answer(401, bearer), expect401).result).toBe("refused");
    expect(judge(answer(401, { "www-authenticate": 'Bearer realm="x"' }), expect401).result).toBe("failed");
    expect(judge(answer(403, bearer), expect401).result).toBe("failed");
    expect(judge(answer(200), expect401).result).toBe("failed");
  });

  it("when no challenge is expected, then any WWW-Authenticate header fails the check", () => {
    const none = { status: 403, challenge: null };
    expect(judge(answer(403, {}, '{"error":"forbidden"}'), none)).toEqual({
      result: "refused",
      reason: "403 forbidden",
    });
    expect(judge(answer(403, { "www-authenticate": 'Bearer error="insufficient_scope"' }), none).result).toBe("failed");
  });

  it("when service is expected, then only 2xx passes and the reason names the refusal", () => {
    expect(judge(answer(204), "ok").result).toBe("ok");
    expect(judge(answer(401, { "www-authenticate": 'Bearer error="invalid_token"' }), "ok")).toEqual({
      result: "failed",
      reason: "401 invalid_token",
    });
  });
});

describe("planning the fleet", () => {
  it("when N clients are planned, then they are spread round-robin over enabled tenants and disabled empty tenants get a probe", () => {
    const fleet = planFleet(
      [
        tenant("a"),
        tenant("b", { adminServiceManagement: true }),
        tenant("n", { disabled: true, users: [], devices: [] }),
      ],
      20,
    );
    const managed = fleet.filter((c) => c.profile !== "probe");
    expect(managed).toHaveLength(20);
    expect(managed.filter((c) => c.tenant.name.startsWith("a"))).toHaveLength(10);
    // Administration Service Management: every fourth user signs in to AdminService with its apps; the
    // rest stay clients of cloud management (the seed: clients keep authenticating).
    const b = managed.filter((c) => c.tenant.name.startsWith("b"));
    expect(b.filter((c) => c.profile === "admin").length).toBe(Math.ceil(b.length / 4));
    expect(b.some((c) => c.profile === "device" || c.profile === "device+user")).toBe(true);
    expect(fleet.filter((c) => c.profile === "probe").map((c) => c.id)).toEqual(["probe-n"]);
    const a = managed.filter((c) => c.tenant.name.startsWith("a"));
    expect(new Set(a.map((c) => c.profile))).toEqual(new Set(["device", "device+user", "user-only"]));
    expect(a.every((c) => (c.profile === "device") === (c.user === undefined))).toBe(true);
    expect(a.every((c) => (c.profile === "user-only") === (c.deviceId === undefined))).toBe(true);
    expect(new Set(fleet.map((c) => c.hostname)).size).toBe(fleet.length);
  });
});

describe("reading the gateway's metrics", () => {
  it("when the exposition has rejected and proxied samples, then only rejected ones are summed per reason", () => {
    const text = [
      "# HELP entra_gateway_requests_total Requests by outcome",
      'entra_gateway_requests_total{outcome="proxied",reason="",tenant="t1"} 40',
      'entra_gateway_requests_total{outcome="rejected",reason="token_expired",tenant="t1"} 2',
      'entra_gateway_requests_total{outcome="rejected",reason="token_expired",tenant="t2"} 3',
      'entra_gateway_requests_total{outcome="rejected",reason="tenant_unknown",tenant=""} 1',
    ].join("\n");
    expect(parseRejections(text)).toEqual(
      new Map([
        ["token_expired", 5],
        ["tenant_unknown", 1],
      ]),
    );
  });
});

describe("summarising", () => {
  it("when latencies are summarised, then p50/p99 are nearest-rank and failures are grouped by reason", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([], 50)).toBe(0);
    const base = { round: "r", client: "c", tenantId: "t", step: "content" as const, ms: 5 };
    const steps = summariseSteps([
      { ...base, status: 200, result: "ok" },
      { ...base, status: 502, result: "failed", reason: "502 bad_gateway" },
      { ...base, status: 502, result: "failed", reason: "502 bad_gateway" },
    ]);
    expect(steps.content).toMatchObject({ count: 3, ok: 1, failed: 2, failures: { "502 bad_gateway": 2 } });
  });
});
