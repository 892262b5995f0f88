/**
 * How are results summarised? Rounds are combined per scenario (median req/s, latency percentiles over
 * every response of every round, errors summed), ratios are taken between medians of the same run, and
 * the result is printed as a table, as the `--json` object of docs/architecture.md § Interfaces, as an SVG bar chart and as the
 * Markdown of `bench/RESULTS.md`.
 */
import { type LoadResult, percentile } from "./load.js";

/** What kind of row a scenario is. */
export type ScenarioGroup = "baseline" | "gateway" | "peer" | "content" | "reference";

/** A scenario's combined rounds. */
export interface ScenarioSummary {
  readonly name: string;
  readonly group: ScenarioGroup;
  readonly target: string;
  readonly rounds: number;
  /** Median of the rounds' req/s. */
  readonly rps: number;
  /** Lowest and highest round req/s (drift indicator). */
  readonly rpsMin: number;
  readonly rpsMax: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly requests: number;
  /** Server CPU per request (µs), over all rounds. */
  readonly serverCpuUsPerReq: number;
  /** Server process CPU use, as a share of one core. */
  readonly serverCore: number;
  /** Load generator + MP CPU use, as a share of one core (they share the other core). */
  readonly clientCore: number;
  /** Response bytes per second (median round), MB/s = 1e6 bytes. */
  readonly mbPerSec: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Largest server RSS seen at the end of a round (MiB); null when not observed. */
  readonly rssMb: number | null;
  /** Verified-cache hits / lookups the gateway counted over the rounds; null when it looked nothing up. */
  readonly cacheHitRate: number | null;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Combines the rounds of one scenario. */
export function summarise(
  name: string,
  group: ScenarioGroup,
  target: string,
  runs: readonly LoadResult[],
): ScenarioSummary {
  const total = runs.reduce((n, r) => n + r.latenciesMs.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const r of runs) {
    all.set(r.latenciesMs, at);
    at += r.latenciesMs.length;
  }
  all.sort();
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const serverCpu = runs.reduce((n, r) => n + r.serverCpuSec, 0);
  const clientCpu = runs.reduce((n, r) => n + r.clientCpuSec + r.upstreamCpuSec, 0);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  const rpsList = runs.map((r) => r.rps);
  const rss = runs.map((r) => r.serverRssBytes).filter((x): x is number => x !== undefined && x > 0);
  const hits = runs.reduce((n, r) => n + (r.cacheHits ?? 0), 0);
  const lookups = hits + runs.reduce((n, r) => n + (r.cacheMisses ?? 0), 0);
  return {
    name,
    group,
    target,
    rounds: runs.length,
    rps: median(rpsList),
    rpsMin: Math.min(...rpsList),
    rpsMax: Math.max(...rpsList),
    p50Ms: percentile(all, 50),
    p90Ms: percentile(all, 90),
    p99Ms: percentile(all, 99),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    requests,
    serverCpuUsPerReq: requests > 0 ? (serverCpu / requests) * 1e6 : 0,
    serverCore: seconds > 0 ? serverCpu / seconds : 0,
    clientCore: seconds > 0 ? clientCpu / seconds : 0,
    mbPerSec: median(runs.map((r) => r.bytesPerSec)) / 1e6,
    statuses,
    rssMb: rss.length > 0 ? Math.max(...rss) / 1_048_576 : null,
    cacheHitRate: lookups > 0 ? hits / lookups : null,
  };
}

/** The ratios of the `--json` object (docs/architecture.md § Interfaces): numerator and denominator scenario names. */
export const RATIO_PAIRS: readonly (readonly [string, string])[] = [
  ["warm", "bare-proxy"],
  ["cold", "bare-proxy"],
  ["mixed-tenants", "bare-proxy"],
  ["proxy-noauth", "bare-proxy"],
  ["warm", "proxy-noauth"],
  ["cold", "proxy-noauth"],
  ["mixed-tenants", "proxy-noauth"],
  ["reject-garbage", "proxy-noauth"],
  ["reject-forged", "proxy-noauth"],
  ["unknown-kid-flood", "proxy-noauth"],
  ["proxy-noauth", "direct"],
  ["warm", "fastify-warm"],
  ["cold", "fastify-cold"],
  ["warm", "fastify-nocache-warm"],
  ["cold", "fastify-nocache-cold"],
  ["warm", "express-warm"],
  ["cold", "express-cold"],
  ["warm", "haproxy-warm"],
  ["cold", "haproxy-cold"],
];

/** Ratios of median req/s (and `content/content-direct` of MB/s) for the scenarios that ran. */
export function computeRatios(byName: ReadonlyMap<string, ScenarioSummary>): Record<string, number> {
  const ratios: Record<string, number> = {};
  for (const [a, b] of RATIO_PAIRS) {
    const x = byName.get(a);
    const y = byName.get(b);
    if (x && y && y.rps > 0) ratios[`${a}/${b}`] = round(x.rps / y.rps, 3);
  }
  const c = byName.get("content");
  const d = byName.get("content-direct");
  if (c && d && d.mbPerSec > 0) ratios["content/content-direct"] = round(c.mbPerSec / d.mbPerSec, 3);
  return ratios;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One scenario of the `--json` object (the shape other tools rely on: fields may be added, never renamed). */
export interface JsonScenario {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Server CPU µs per request (from `/proc`); 0 when the server was not observed. */
  cpuUsPerReq: number;
  /** Server RSS (MiB) at the end of its rounds; null when not observed. */
  rssMb: number | null;
  /** Verified-cache hit rate the gateway counted; null for servers without it and runs without look-ups. */
  cacheHitRate: number | null;
}

/** The `--json` object's scenario entry (docs/architecture.md § Interfaces). */
export function jsonScenario(s: ScenarioSummary): JsonScenario {
  return {
    rps: round(s.rps, 1),
    p50Ms: round(s.p50Ms, 3),
    p99Ms: round(s.p99Ms, 3),
    errors: s.errors,
    cpuUsPerReq: round(s.serverCpuUsPerReq, 1),
    rssMb: s.rssMb === null ? null : round(s.rssMb, 1),
    cacheHitRate: s.cacheHitRate === null ? null : round(s.cacheHitRate, 4),
  };
}

/** The `--json` object: `scenarios` and `ratios` first, everything else under `details`. */
export interface BenchJson<D> {
  readonly scenarios: Record<string, JsonScenario>;
  readonly ratios: Record<string, number>;
  readonly details: D;
}

/**
 * Builds the `--json` object from the scenario summaries of one run.
 *
 * @example
 * const out = buildJson(summaries, { date: new Date().toISOString() });
 * out.ratios["warm/proxy-noauth"]; // e.g. 0.93
 */
export function buildJson<D>(summaries: readonly ScenarioSummary[], details: D): BenchJson<D> {
  return {
    scenarios: Object.fromEntries(summaries.map((x) => [x.name, jsonScenario(x)])),
    ratios: computeRatios(new Map(summaries.map((x) => [x.name, x]))),
    details,
  };
}

/** The verified-cache hit rate as a percentage, or "–" where the server has none. */
function hitRate(r: ScenarioSummary): string {
  return r.cacheHitRate === null ? "–" : `${(r.cacheHitRate * 100).toFixed(1)}%`;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The results table, one row per scenario. `ratioTo` names each row's reference for the last column. */
export function formatTable(
  rows: readonly ScenarioSummary[],
  ratioTo: (s: ScenarioSummary) => string | undefined,
): string {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const header = [
    "scenario",
    "req/s",
    "(min–max)",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "errors",
    "srv µs/req",
    "srv core",
    "gen+mp core",
    "hit rate",
    "MB/s",
    "ratio",
  ];
  const lines = rows.map((r) => {
    const ref = ratioTo(r);
    const base = ref ? byName.get(ref) : undefined;
    const ratio = base && base.rps > 0 ? `${(r.rps / base.rps).toFixed(2)} × ${ref}` : "";
    return [
      r.name,
      r.rps.toFixed(0),
      `${r.rpsMin.toFixed(0)}–${r.rpsMax.toFixed(0)}`,
      r.p50Ms.toFixed(2),
      r.p90Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      String(r.errors),
      r.serverCpuUsPerReq.toFixed(0),
      `${(r.serverCore * 100).toFixed(0)}%`,
      `${(r.clientCore * 100).toFixed(0)}%`,
      hitRate(r),
      r.mbPerSec >= 10 ? r.mbPerSec.toFixed(0) : r.mbPerSec.toFixed(2),
      ratio,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: readonly string[]) =>
    cells.map((c, i) => pad(c, widths[i]!, i > 0 && i < cells.length - 1)).join("  ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n");
}

/** The same table in Markdown. */
export function markdownTable(
  rows: readonly ScenarioSummary[],
  ratioTo: (s: ScenarioSummary) => string | undefined,
): string {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const out = [
    "| scenario | server | req/s (median) | min–max | p50 ms | p90 ms | p99 ms | errors | server CPU µs/req | server core | gen+MP core | hit rate | RSS MB | MB/s | ratio |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    const ref = ratioTo(r);
    const base = ref ? byName.get(ref) : undefined;
    const ratio = base && base.rps > 0 ? `${(r.rps / base.rps).toFixed(2)} × ${ref}` : "";
    out.push(
      `| \`${r.name}\` | ${r.target} | ${r.rps.toFixed(0)} | ${r.rpsMin.toFixed(0)}–${r.rpsMax.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p90Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} | ${r.serverCpuUsPerReq.toFixed(0)} | ${(r.serverCore * 100).toFixed(0)}% | ${(r.clientCore * 100).toFixed(0)}% | ${hitRate(r)} | ${r.rssMb === null ? "–" : r.rssMb.toFixed(0)} | ${r.mbPerSec >= 10 ? r.mbPerSec.toFixed(0) : r.mbPerSec.toFixed(2)} | ${ratio} |`,
    );
  }
  return out.join("\n");
}

const GROUP_COLOURS: Readonly<Record<ScenarioGroup, string>> = {
  baseline: "#7f8c8d",
  gateway: "#2e86de",
  peer: "#e67e22",
  content: "#27ae60",
  reference: "#8e44ad",
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

/** A horizontal bar chart of median req/s (content rows: MB/s), with p99 and the min–max of the rounds. */
export function svgChart(rows: readonly ScenarioSummary[], title: string): string {
  const barRows = rows.filter((r) => r.group !== "content");
  const contentRows = rows.filter((r) => r.group === "content");
  const left = 190;
  const width = 900;
  const barMax = width - left - 230;
  const rowH = 24;
  const top = 50;
  const max = Math.max(1, ...barRows.map((r) => r.rpsMax));
  const parts: string[] = [];
  let y = top;
  const drawRow = (r: ScenarioSummary, value: number, lo: number, hi: number, scale: number, label: string) => {
    const w = (value / scale) * barMax;
    parts.push(
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${escapeXml(r.name)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${GROUP_COLOURS[r.group]}"/>`,
      `<line x1="${(left + (lo / scale) * barMax).toFixed(1)}" x2="${(left + (hi / scale) * barMax).toFixed(1)}" y1="${y + 12}" y2="${y + 12}" stroke="#222" stroke-width="1.5"/>`,
      `<text x="${left + Math.max(w, (hi / scale) * barMax) + 6}" y="${y + 16}">${escapeXml(label)}</text>`,
    );
    y += rowH;
  };
  for (const r of barRows) {
    drawRow(r, r.rps, r.rpsMin, r.rpsMax, max, `${r.rps.toFixed(0)} req/s · p99 ${r.p99Ms.toFixed(2)} ms`);
  }
  if (contentRows.length > 0) {
    y += 10;
    parts.push(`<text x="${left}" y="${y + 12}" font-weight="bold">content (MB/s)</text>`);
    y += rowH;
    const maxMb = Math.max(1, ...contentRows.map((r) => r.mbPerSec));
    for (const r of contentRows) drawRow(r, r.mbPerSec, r.mbPerSec, r.mbPerSec, maxMb, `${r.mbPerSec.toFixed(0)} MB/s`);
  }
  const legend = (Object.keys(GROUP_COLOURS) as ScenarioGroup[])
    .map(
      (g, i) =>
        `<rect x="${left + i * 120}" y="${y + 14}" width="12" height="12" fill="${GROUP_COLOURS[g]}"/><text x="${left + i * 120 + 18}" y="${y + 25}">${g}</text>`,
    )
    .join("");
  const height = y + 50;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left}" y="40" fill="#555">median of interleaved rounds; whiskers: slowest–fastest round</text>`,
    ...parts,
    legend,
    "</svg>",
    "",
  ].join("\n");
}
