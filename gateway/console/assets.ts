/**
 * The console's two static assets, served by the gateway itself (no CDN: the console works offline and its
 * Content-Security-Policy allows only `'self'`). The script is small on purpose: it asks for confirmation
 * before an action is posted, and polls `/console/live` to swap in the panels the server rendered (escaped
 * there; the script adds no markup of its own).
 */

/** `GET /console/assets/console.js`. */
export const CONSOLE_SCRIPT = `"use strict";
(() => {
  // Every action form carries data-confirm: nothing changes without the operator saying yes.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // Only the signed-in page names a CSRF token; the sign-in page has nothing to poll.
  if (!document.querySelector('meta[name="csrf-token"]')) return;
  let busy = false;
  const poll = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const res = await fetch("/console/live", { headers: { accept: "application/json" }, cache: "no-store" });
      if (res.status === 401) {
        // The session expired or was ended: show the sign-in page.
        window.location.assign("/console");
        return;
      }
      if (!res.ok) return;
      const panels = await res.json();
      for (const [id, markup] of Object.entries(panels)) {
        const element = document.getElementById(id);
        if (element && typeof markup === "string") element.innerHTML = markup;
      }
    } catch {
      // The gateway is restarting or the network is gone: try again at the next tick.
    } finally {
      busy = false;
    }
  };
  // As often as the server samples its traffic (the page says how often; 5 s unless configured otherwise).
  const every = Number(document.querySelector('meta[name="refresh-ms"]')?.getAttribute("content"));
  window.setInterval(poll, Number.isFinite(every) && every >= 100 ? every : 5000);
})();
`;

/** `GET /console/assets/console.css`. */
export const CONSOLE_STYLES = `:root { color-scheme: light; --fg: #1b1f24; --muted: #5c6670; --line: #d7dde3; --ok: #1a7f37;
  --warn: #9a6700; --bad: #cf222e; --bg: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.5rem; padding: .75rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.15rem; margin: 0; }
header .sign-out { margin-left: auto; }
main { padding: 1rem 1.5rem 2rem; max-width: 1400px; }
main.sign-in { max-width: 26rem; margin: 4rem auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1.5rem; }
main.sign-in form { display: grid; gap: .5rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem 1rem; margin-bottom: 1rem; }
h2 { font-size: 1.05rem; margin: .25rem 0 .75rem; }
h3 { font-size: .95rem; margin: 1rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
tr.disabled td { background: #fff8f8; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.muted { color: var(--muted); font-size: .85rem; }
.kids { margin-top: .15rem; color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid; }
.badge.on, .badge.fresh, .badge.pass { color: var(--ok); background: #dafbe1; }
.badge.stale, .badge.skip { color: var(--warn); background: #fff8c5; }
.badge.off, .badge.unavailable, .badge.fail { color: var(--bad); background: #ffebe9; }
.secret.expiring { color: var(--warn); font-weight: 600; background: #fff8c5; padding: 0 .3rem; }
.secret.expired { color: var(--bad); font-weight: 600; background: #ffebe9; padding: 0 .3rem; }
.error-text { color: var(--bad); }
form.action { display: inline-block; margin: 0 .25rem .25rem 0; }
button { font: inherit; padding: .25rem .75rem; border: 1px solid var(--line); border-radius: 6px; background: #f6f8fa; cursor: pointer; }
button:hover { border-color: var(--accent); }
input[type=password] { font: inherit; padding: .4rem; border: 1px solid var(--line); border-radius: 6px; }
.global-actions { margin-top: .75rem; }
.flash { border-radius: 8px; padding: .5rem 1rem; }
.flash.ok { background: #dafbe1; border: 1px solid #aceebb; }
.flash.error { background: #ffebe9; border: 1px solid #ffcecb; }
.hint { color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.chart { margin: 0; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
svg { display: block; background: #fbfcfd; }
svg polyline { fill: none; stroke-width: 1.5; }
svg .axis { stroke: var(--line); }
polyline.s1 { stroke: var(--accent); }
polyline.s2 { stroke: var(--bad); }
circle.s1 { fill: var(--accent); }
circle.s2 { fill: var(--bad); }
.legend { margin-right: .75rem; font-size: .85rem; }
.legend.s1::before, .legend.s2::before { content: ""; display: inline-block; width: .8rem; height: 2px; margin-right: .3rem; vertical-align: middle; }
.legend.s1::before { background: var(--accent); }
.legend.s2::before { background: var(--bad); }
table.reasons { width: auto; }
`;
