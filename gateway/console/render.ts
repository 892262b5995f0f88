/**
 * The console's pages, rendered on the server from plain data: the sign-in page and the dashboard with its
 * panels (tenants, live traffic, recent refusals, actions). The panels that change are rendered alone too, for
 * the page's script to swap in when it polls (`/console/live`). Every value goes through `html` (escaped);
 * no inline script or style, so the Content-Security-Policy can forbid both.
 */
import type { AnalyzerReport } from "./analysis.js";
import { html, joinHtml, type SafeHtml } from "./html.js";
import type { Refusal } from "./refusals.js";
import type { Flash } from "./session.js";
import type { TrafficPoint, TrafficView } from "./traffic.js";

/** One key set of a tenant, as the admin API's `GET /tenants` reports it. */
export interface TenantKeySet {
  readonly version: number;
  readonly state: "fresh" | "stale" | "unavailable";
  readonly keyCount: number;
  readonly kids: readonly string[];
  readonly lastFetchAt?: string | undefined;
  readonly lastError?: string | undefined;
  readonly workers?: { readonly fresh: number; readonly stale: number; readonly unavailable: number } | undefined;
}

/** One service of the configuration, as the admin API's `GET /tenants` reports it. */
export interface TenantRow {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly service: string;
  readonly type: string;
  readonly environment: string;
  readonly enabled: boolean;
  readonly origin: { readonly source: "file" | "admin"; readonly by?: string; readonly at?: string };
  readonly keys: readonly TenantKeySet[];
  readonly secret: {
    readonly expiresAt?: string | undefined;
    readonly state?: string | undefined;
    readonly daysLeft?: number | undefined;
  };
}

/** Readiness as the admin API's `GET /readyz` reports it, reduced. */
export interface ReadinessSummary {
  readonly ready: boolean;
  readonly workers: number;
  readonly upstreamReachable: boolean;
}

/** Everything the dashboard shows. */
export interface DashboardData {
  readonly nowMs: number;
  readonly csrf: string;
  /** Undefined when the admin API could not answer (the page says so). */
  readonly tenants: readonly TenantRow[] | undefined;
  readonly readiness: ReadinessSummary | undefined;
  readonly traffic: TrafficView;
  readonly refusals: readonly Refusal[];
  readonly flash: Flash | undefined;
  readonly analyzerAvailable: boolean;
  /** How often the page polls `/console/live`, in ms; default {@link DEFAULT_REFRESH_MS}. */
  readonly refreshMs?: number;
}

/** The page's default poll interval, the same as the traffic sampler's default. */
export const DEFAULT_REFRESH_MS = 5_000;

const CLOUDS: Readonly<Record<string, string>> = {
  AzurePublicCloud: "Public",
  AzureUSGovernmentCloud: "US Government",
};
const SERVICE_TYPES: Readonly<Record<string, string>> = {
  cloudManagement: "Cloud management",
  logAnalytics: "Log Analytics",
  storeForBusiness: "Store for Business",
  adminServiceManagement: "Administration Service Management",
};

/** "12 s", "4 min", "3 h", "2 d". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A duration in seconds as milliseconds with sensible precision. */
function formatMs(seconds: number | undefined): string {
  if (seconds === undefined) return "–";
  const ms = seconds * 1000;
  return ms < 1 ? `${ms.toFixed(3)} ms` : ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function formatRate(perSec: number | undefined): string {
  if (perSec === undefined) return "–";
  return perSec < 10 ? `${perSec.toFixed(1)}/s` : `${Math.round(perSec)}/s`;
}

function timeOfDay(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** A form that posts one action with the session's CSRF token, confirmed in the browser first. */
function actionForm(action: string, label: string, csrf: string, confirm: string, fields: Record<string, string> = {}) {
  return html`<form method="post" action="${action}" class="action" data-confirm="${confirm}"><input type="hidden" name="csrf" value="${csrf}">${Object.entries(
    fields,
  ).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
  )}<button type="submit">${label}</button></form>`;
}

/**
 * The page frame: one stylesheet, one script, both from the gateway. A signed-in page names its CSRF token
 * and how often its script polls `/console/live` (`refreshMs`).
 */
export function page(title: string, body: SafeHtml, csrf?: string, refreshMs = DEFAULT_REFRESH_MS): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
${csrf === undefined ? "" : html`<meta name="csrf-token" content="${csrf}">`}
${csrf === undefined ? "" : html`<meta name="refresh-ms" content="${String(refreshMs)}">`}
<title>${title}</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
${body}
</body>
</html>
`.text;
}

/**
 * The sign-in page.
 *
 * @param message shown above the form (a refused key, an expired session)
 */
export function signInPage(message?: string): string {
  return page(
    "entra-gateway console: sign in",
    html`<main class="sign-in">
<h1>entra-gateway console</h1>
${message === undefined ? "" : html`<p class="flash error" role="alert">${message}</p>`}
<form method="post" action="/console/session">
<label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p class="hint">The admin key is <code>admin.key</code> in the configuration, or the <code>admin.key</code> file in the state directory.</p>
</main>`,
  );
}

function keyCell(sets: readonly TenantKeySet[], nowMs: number): SafeHtml {
  if (sets.length === 0) return html`<span class="muted">not fetched (tenant not served)</span>`;
  return joinHtml(
    sets.map((k) => {
      const age = k.lastFetchAt === undefined ? undefined : nowMs - Date.parse(k.lastFetchAt);
      const workers =
        k.workers === undefined || k.workers.fresh + k.workers.stale + k.workers.unavailable <= 1
          ? ""
          : ` (${k.workers.fresh} fresh, ${k.workers.stale} stale, ${k.workers.unavailable} unavailable workers)`;
      return html`<div class="keyset"><span class="badge ${k.state}">v${k.version} ${k.state}</span> ${k.keyCount} ${k.keyCount === 1 ? "key" : "keys"}${
        age === undefined || Number.isNaN(age) ? "" : html`, fetched ${formatAge(age)} ago`
      }${workers}${k.lastError === undefined ? "" : html` <span class="error-text">${k.lastError}</span>`}<div class="kids">${k.kids.map(
        (kid) => html`<code>${kid}</code> `,
      )}</div></div>`;
    }),
  );
}

function secretCell(secret: TenantRow["secret"]): SafeHtml {
  if (secret.expiresAt === undefined || secret.daysLeft === undefined)
    return html`<span class="muted">not given</span>`;
  const days = secret.daysLeft;
  const cls = days < 0 ? "expired" : days <= 30 ? "expiring" : "ok";
  const left =
    days < 0 ? `expired ${-days} ${-days === 1 ? "day" : "days"} ago` : `${days} ${days === 1 ? "day" : "days"} left`;
  return html`<span class="secret ${cls}">${secret.expiresAt.slice(0, 10)} · ${left}</span>`;
}

function originCell(t: TenantRow): SafeHtml {
  if (t.origin.source === "file") return html`<span class="muted">from the file</span>`;
  return html`<span>by admin</span> <span class="muted">${t.origin.by ?? ""}${t.origin.at === undefined ? "" : `, ${t.origin.at}`}</span>`;
}

/**
 * The tenants panel: one row per service of the configuration in force.
 *
 * @param rows from the admin API, or undefined when it did not answer
 */
export function tenantsPanel(
  rows: readonly TenantRow[] | undefined,
  nowMs: number,
  csrf: string,
  analyzerAvailable: boolean,
): SafeHtml {
  if (rows === undefined) return html`<p class="flash error">The tenant list is unavailable right now.</p>`;
  const body = rows.map((t) => {
    const cm = t.type === "cloudManagement";
    const name = t.tenantName === "" ? t.tenantId : t.tenantName;
    const actions = cm
      ? [
          t.enabled
            ? actionForm(
                `/console/tenants/${t.tenantId}/disable`,
                "Disable",
                csrf,
                `Disable Entra authentication for ${name}? Its clients' tokens are refused at once.`,
              )
            : actionForm(
                `/console/tenants/${t.tenantId}/enable`,
                "Enable",
                csrf,
                `Enable Entra authentication for ${name} again?`,
              ),
          analyzerAvailable
            ? actionForm("/console/analyze", "Analyze", csrf, `Run the connection analyzer for ${name}?`, {
                tenantId: t.tenantId,
              })
            : html``,
        ]
      : [];
    return html`<tr data-tenant="${t.tenantId}" class="${t.enabled ? "enabled" : "disabled"}">
<td><strong>${t.service}</strong><div class="muted">${SERVICE_TYPES[t.type] ?? t.type}</div></td>
<td>${t.tenantName}<div class="muted"><code>${t.tenantId}</code></div></td>
<td>${CLOUDS[t.environment] ?? t.environment}</td>
<td><span class="badge ${t.enabled ? "on" : "off"}">${t.enabled ? "enabled" : "disabled"}</span><div>${originCell(t)}</div></td>
<td>${keyCell(t.keys, nowMs)}</td>
<td>${secretCell(t.secret)}</td>
<td class="actions">${actions}</td>
</tr>`;
  });
  return html`<table class="tenants">
<thead><tr><th>Service</th><th>Tenant</th><th>Cloud</th><th>Entra authentication</th><th>Signing keys</th><th>Web app secret</th><th></th></tr></thead>
<tbody>${body}</tbody>
</table>`;
}

/** One line chart over the window: each series a polyline, scaled to the largest value shown. */
function chart(
  title: string,
  view: TrafficView,
  nowMs: number,
  series: readonly {
    readonly name: string;
    readonly cls: string;
    readonly value: (p: TrafficPoint) => number | undefined;
  }[],
  format: (v: number | undefined) => string,
): SafeHtml {
  const W = 280;
  const H = 80;
  const start = nowMs - view.windowMs;
  const x = (at: number) => (((at - start) / view.windowMs) * W).toFixed(1);
  let max = 0;
  for (const s of series) for (const p of view.points) max = Math.max(max, s.value(p) ?? 0);
  const y = (v: number) => (max === 0 ? H - 1 : H - 1 - (v / max) * (H - 6)).toFixed(1);
  const lines = series.map((s) => {
    const pts = view.points
      .filter((p) => p.at >= start && s.value(p) !== undefined)
      .map((p) => [x(p.at), y(s.value(p)!)]);
    const now = pts.at(-1);
    // The newest value also as a dot: a line needs two points, and the newest is the one an operator looks for.
    return now === undefined
      ? html``
      : html`<polyline class="${s.cls}" points="${pts.map((p) => p.join(",")).join(" ")}"/><circle class="${s.cls}" cx="${now[0]}" cy="${now[1]}" r="2.5"/>`;
  });
  const last = view.points.at(-1);
  const legend = series.map(
    (s) =>
      html`<span class="legend ${s.cls}">${s.name} ${format(last === undefined ? undefined : s.value(last))}</span>`,
  );
  return html`<figure class="chart">
<figcaption>${title} <span class="muted">max ${format(max)}</span></figcaption>
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}"><line class="axis" x1="0" y1="${H - 1}" x2="${W}" y2="${H - 1}"/>${lines}</svg>
<div>${legend}</div>
</figure>`;
}

/** The live traffic panel: four charts and the refusals by reason of the window. */
export function trafficPanel(view: TrafficView, nowMs: number): SafeHtml {
  const minutes = Math.round(view.windowMs / 60_000);
  const reasons =
    view.refusalsByReason.length === 0
      ? html`<p class="muted">No refusals in the last ${minutes} minutes.</p>`
      : html`<table class="reasons"><thead><tr><th>Reason</th><th>Refusals</th></tr></thead><tbody>${view.refusalsByReason.map(
          (r) => html`<tr><td><code>${r.reason}</code></td><td>${r.count}</td></tr>`,
        )}</tbody></table>`;
  const rate = (title: string, cls: string, value: (p: TrafficPoint) => number) =>
    chart(title, view, nowMs, [{ name: "now", cls, value }], formatRate);
  const latency = (title: string, p50: (p: TrafficPoint) => number | undefined, p99: typeof p50) =>
    chart(
      title,
      view,
      nowMs,
      [
        { name: "p50", cls: "s1", value: p50 },
        { name: "p99", cls: "s2", value: p99 },
      ],
      formatMs,
    );
  return html`<div class="charts">
${rate("Requests", "s1", (p) => p.requestsPerSec)}
${rate("Refusals", "s2", (p) => p.refusalsPerSec)}
${latency(
  "Authentication",
  (p) => p.authP50,
  (p) => p.authP99,
)}
${latency(
  "Upstream",
  (p) => p.upstreamP50,
  (p) => p.upstreamP99,
)}
</div>
<h3>Refusals by reason, last ${minutes} minutes</h3>
${reasons}`;
}

/** Refusals listed on the page (the newest of those kept). */
export const REFUSALS_SHOWN = 25;

/** The recent refusals panel, newest first. */
export function refusalsPanel(all: readonly Refusal[]): SafeHtml {
  if (all.length === 0) return html`<p class="muted">No refusals since the gateway started.</p>`;
  const refusals = all.slice(0, REFUSALS_SHOWN);
  return html`${all.length > refusals.length ? html`<p class="muted">The newest ${refusals.length} of the last ${all.length}.</p>` : ""}<table class="refusals">
<thead><tr><th>Time (UTC)</th><th>Reason</th><th>Status</th><th>Tenant</th><th>Route</th><th>Token fingerprint</th></tr></thead>
<tbody>${refusals.map(
    (r) =>
      html`<tr><td title="${new Date(r.at).toISOString()}">${timeOfDay(r.at)}</td><td><code>${r.reason}</code></td><td>${r.status}</td><td>${
        r.tenantId === undefined ? html`<span class="muted">–</span>` : html`<code>${r.tenantId}</code>`
      }</td><td><code>${r.route}</code></td><td>${
        r.tokenFp === undefined ? html`<span class="muted">no token</span>` : html`<code>sha256:${r.tokenFp}</code>`
      }</td></tr>`,
  )}</tbody>
</table>`;
}

function analysisBlock(report: AnalyzerReport): SafeHtml {
  return html`<table class="analysis">
<caption>Connection analyzer, tenant <code>${report.tenantId}</code>: ${report.ok ? "every stage passed" : "a stage failed"}</caption>
<thead><tr><th>#</th><th>Stage</th><th>Result</th><th>Detail</th></tr></thead>
<tbody>${report.stages.map(
    (s) =>
      html`<tr class="${s.status}"><td>${s.stage}</td><td>${s.name}</td><td><span class="badge ${s.status}">${s.status}</span></td><td>${s.detail}${
        s.hint === undefined ? "" : html`<div class="hint">${s.hint}</div>`
      }</td></tr>`,
  )}</tbody>
</table>`;
}

function flashBlock(flash: Flash | undefined): SafeHtml {
  if (flash === undefined) return html``;
  return html`<section class="flash ${flash.ok ? "ok" : "error"}" role="status"><p>${flash.text}</p>${
    flash.details === undefined || flash.details.length === 0
      ? ""
      : html`<ul>${flash.details.map((d) => html`<li>${d}</li>`)}</ul>`
  }${flash.analysis === undefined ? "" : analysisBlock(flash.analysis)}</section>`;
}

function readinessLine(r: ReadinessSummary | undefined): SafeHtml {
  if (r === undefined) return html`<span class="badge unavailable">readiness unknown</span>`;
  return html`<span class="badge ${r.ready ? "fresh" : "unavailable"}">${r.ready ? "ready" : "not ready"}</span> ${r.workers} ${
    r.workers === 1 ? "serving process" : "serving processes"
  } · management point ${r.upstreamReachable ? "reachable" : "unreachable"}`;
}

/** The signed-in dashboard. */
export function dashboardPage(data: DashboardData): string {
  const { csrf, nowMs } = data;
  return page(
    "entra-gateway console",
    html`<header>
<h1>entra-gateway console</h1>
<div class="status" id="readiness">${readinessLine(data.readiness)}</div>
<form method="post" action="/console/sign-out" class="sign-out"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Sign out</button></form>
</header>
<main>
${flashBlock(data.flash)}
<section>
<h2>Tenants</h2>
<div id="tenants">${tenantsPanel(data.tenants, nowMs, csrf, data.analyzerAvailable)}</div>
<div class="global-actions">
${actionForm("/console/keys/refresh", "Refresh signing keys", csrf, "Fetch every tenant's signing keys from Entra now?")}
${actionForm("/console/config/reload", "Reload configuration", csrf, "Re-read the configuration file now?")}
</div>
</section>
<section>
<h2>Live traffic <span class="muted" id="updated">at ${timeOfDay(nowMs)} UTC</span></h2>
<div id="traffic">${trafficPanel(data.traffic, nowMs)}</div>
</section>
<section>
<h2>Recent refusals</h2>
<div id="refusals">${refusalsPanel(data.refusals)}</div>
</section>
</main>`,
    csrf,
    data.refreshMs,
  );
}

/** The panels the page's script swaps in when it polls. */
export function livePanels(data: Omit<DashboardData, "flash">): Record<string, string> {
  return {
    readiness: readinessLine(data.readiness).text,
    tenants: tenantsPanel(data.tenants, data.nowMs, data.csrf, data.analyzerAvailable).text,
    traffic: trafficPanel(data.traffic, data.nowMs).text,
    refusals: refusalsPanel(data.refusals).text,
    updated: `at ${timeOfDay(data.nowMs)} UTC`,
  };
}
