/**
 * Every value the console renders is escaped: tenant and service names come from the configuration and from
 * Entra, routes and reasons from what clients sent. A hostile name renders as text, never as markup.
 */
import { describe, expect, it } from "vitest";
import { escapeHtml, html } from "../../gateway/console/html.js";
import type { Refusal } from "../../gateway/console/refusals.js";
import {
  dashboardPage,
  REFUSALS_SHOWN,
  refusalsPanel,
  signInPage,
  type TenantRow,
} from "../../gateway/console/render.js";

const HOSTILE = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'`;

const tenant = (overrides: Partial<TenantRow> = {}): TenantRow => ({
  tenantId: "11111111-2222-3333-4444-555555555555",
  tenantName: HOSTILE,
  service: HOSTILE,
  type: "cloudManagement",
  environment: "AzurePublicCloud",
  enabled: true,
  origin: { source: "admin", by: HOSTILE, at: "2026-01-01T00:00:00.000Z" },
  keys: [{ version: 1, state: "stale", keyCount: 1, kids: [HOSTILE], lastError: HOSTILE }],
  secret: { expiresAt: "2026-01-10T00:00:00.000Z", state: "expiring", daysLeft: 9 },
  ...overrides,
});

const refusal: Refusal = {
  at: Date.UTC(2026, 0, 1, 12, 0, 0),
  reason: HOSTILE,
  tenantId: HOSTILE,
  route: `/CCM_STS/${HOSTILE}`,
  tokenFp: "0123456789ab",
  status: 401,
};

const page = (rows: readonly TenantRow[]) =>
  dashboardPage({
    nowMs: Date.UTC(2026, 0, 1, 12, 0, 5),
    csrf: `csrf${HOSTILE}`,
    tenants: rows,
    readiness: { ready: true, workers: 1, upstreamReachable: true },
    traffic: { windowMs: 300_000, points: [], refusalsByReason: [{ reason: HOSTILE, count: 3 }] },
    refusals: [refusal],
    flash: {
      ok: false,
      text: HOSTILE,
      details: [HOSTILE],
      analysis: {
        tenantId: HOSTILE,
        ok: false,
        stages: [{ stage: 2, name: HOSTILE, status: "fail", detail: HOSTILE, hint: HOSTILE }],
      },
    },
    analyzerAvailable: true,
  });

describe("console rendering", () => {
  it("when names, reasons, routes and messages hold markup, then the page holds them only escaped", () => {
    const out = page([tenant()]);
    expect(out).not.toContain("<script>alert");
    expect(out).not.toContain("<img");
    expect(out).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;");
    // The only script is the gateway's own file.
    expect(out.match(/<script\b/g)).toHaveLength(1);
    expect(out).toContain('<script src="/console/assets/console.js" defer></script>');
    expect(out).not.toMatch(/\sstyle=/);
  });

  it("when the sign-in page shows a message, then it is escaped too", () => {
    expect(signInPage(HOSTILE)).not.toContain("<script>alert");
  });

  it("when a secret expires within 30 days or has expired, then its cell is highlighted with the days left", () => {
    const soon = page([tenant({ tenantName: "A", secret: { expiresAt: "2026-01-10T00:00:00Z", daysLeft: 9 } })]);
    expect(soon).toContain('<span class="secret expiring">2026-01-10 · 9 days left</span>');
    const past = page([tenant({ tenantName: "A", secret: { expiresAt: "2025-12-29T00:00:00Z", daysLeft: -3 } })]);
    expect(past).toContain('<span class="secret expired">2025-12-29 · expired 3 days ago</span>');
    const far = page([tenant({ tenantName: "A", secret: { expiresAt: "2026-06-01T00:00:00Z", daysLeft: 151 } })]);
    expect(far).toContain('<span class="secret ok">');
  });

  it("when a tenant is disabled, then its row offers Enable and says who disabled it", () => {
    const out = page([tenant({ tenantName: "Contoso", service: "Contoso CMG", enabled: false })]);
    expect(out).toContain('action="/console/tenants/11111111-2222-3333-4444-555555555555/enable"');
    expect(out).not.toContain("/disable");
    expect(out).toContain('<span class="badge off">disabled</span>');
    expect(out).toContain("by admin");
  });

  it("when more refusals are kept than the page lists, then it lists the newest and says how many it holds", () => {
    const many = Array.from({ length: REFUSALS_SHOWN + 5 }, (_, i) => ({ ...refusal, reason: `reason_${i}` }));
    const out = refusalsPanel(many).text;
    expect(out.match(/<tr><td/g)).toHaveLength(REFUSALS_SHOWN);
    expect(out).toContain("reason_0");
    expect(out).not.toContain(`reason_${REFUSALS_SHOWN}<`);
    expect(out).toContain(`The newest ${REFUSALS_SHOWN} of the last ${REFUSALS_SHOWN + 5}.`);
  });

  it("when html`` gets a nested fragment, then it is kept; a string is escaped", () => {
    expect(html`<p>${html`<b>${"<i>"}</b>`}</p>`.text).toBe("<p><b>&lt;i&gt;</b></p>");
    expect(escapeHtml("`&")).toBe("&#96;&amp;");
  });
});
