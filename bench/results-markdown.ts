/**
 * `bench/RESULTS.md`: the latest full run as Markdown — table, ratios against the project's targets,
 * latency added by authentication, memory, the JWKS flood, versions, date and machine.
 */
import { markdownTable, type ScenarioSummary } from "./report.js";

/** What the page is written from. */
export interface ResultsPage {
  readonly output: {
    readonly ratios: Readonly<Record<string, number>>;
    readonly details: {
      readonly date: string;
      readonly machine: Readonly<Record<string, unknown>>;
      readonly versions: Readonly<Record<string, string>>;
      readonly settings: Readonly<Record<string, unknown>>;
      readonly halfLoad: Readonly<Record<string, unknown>>;
      readonly jwksFlood?: Readonly<Record<string, unknown>>;
      readonly rss?: Readonly<Record<string, unknown>>;
      readonly multiWorkerScaling?: Readonly<Record<string, number>>;
      readonly multiWorkerGatewayCores?: Readonly<Record<string, number>>;
      readonly upstreamLegs?: Readonly<Record<string, { readonly extraCpuUsPerReq: number; readonly ratio: number }>>;
      readonly elapsedSec: number;
    };
  };
  readonly summaries: readonly ScenarioSummary[];
  readonly multi: readonly ScenarioSummary[] | undefined;
  /** The upstream-leg phase's rows (bare proxy and warm gateway over a plain and a TLS static upstream). */
  readonly legs?: readonly ScenarioSummary[];
  readonly ratioTo: (s: ScenarioSummary) => string | undefined;
  readonly title: string;
}

/** The project's targets (issue 7), as `ratio key → minimum`. */
export const RATIO_TARGETS: Readonly<Record<string, number>> = {
  "warm/bare-proxy": 0.95,
  "cold/bare-proxy": 0.65,
  "warm/proxy-noauth": 0.95,
  "cold/proxy-noauth": 0.75,
  "cold/fastify-cold": 1.3,
  "cold/express-cold": 2.5,
  "warm/fastify-warm": 1.1,
};

/** The cold-p99 target line: cold p99 ≤ 2 × warm p99, from the same run's table. */
function coldP99Line(summaries: readonly ScenarioSummary[]): string[] {
  const warm = summaries.find((x) => x.name === "warm");
  const cold = summaries.find((x) => x.name === "cold");
  if (!warm || !cold || warm.p99Ms <= 0) return [];
  const r = cold.p99Ms / warm.p99Ms;
  return [
    "",
    `Cold p99 / warm p99: ${r.toFixed(2)} (target ≤ 2 ${r <= 2 ? "(met)" : "(missed)"}; closed loop, same connections).`,
  ];
}

function json(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

/** Renders the page. */
export function renderResultsMarkdown(page: ResultsPage): string {
  const { output, summaries, multi, legs, ratioTo } = page;
  const d = output.details;
  const lines: string[] = [
    "# Benchmark results",
    "",
    `Latest full run of \`npm run bench\` (${d.date}, ${d.elapsedSec} s). How to run and what each scenario`,
    "measures: [README.md](README.md). Absolute numbers drift on a shared machine; the ratios between rows",
    "of the same run are the figures to compare.",
    "",
    "## Machine",
    "",
    ...Object.entries(d.machine).map(([k, v]) => `- ${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`),
    "",
    "## Settings",
    "",
    ...Object.entries(d.settings).map(([k, v]) => `- ${k}: ${typeof v === "object" ? json(v) : String(v)}`),
    "",
    "## Single worker (primary comparison)",
    "",
    markdownTable(summaries, ratioTo),
    "",
    "`server CPU µs/req`: CPU time of the server process per request; `server core` / `gen+MP core`: share of",
    "core 0 (the server) and core 1 (the load generator, the emulator and the MP simulator) in use. A server core",
    "near 100 % means the server is the limit; a generator core near 100 % means the figure is a floor.",
    "`hit rate`: verified-cache hits / look-ups the gateway counted (its metrics); `RSS MB`: the server's",
    "resident set at the end of its rounds.",
    "",
    "## Ratios",
    "",
    "| ratio | value | target |",
    "|---|---:|---|",
    ...Object.entries(output.ratios).map(([k, v]) => {
      const target = RATIO_TARGETS[k];
      const verdict = target === undefined ? "" : `≥ ${target} ${v >= target ? "(met)" : "(missed)"}`;
      return `| \`${k}\` | ${v.toFixed(3)} | ${verdict} |`;
    }),
    ...coldP99Line(summaries),
    "",
    "## Latency added by authentication at half of peak load",
    "",
  ];
  for (const [name, v] of Object.entries(d.halfLoad)) {
    const h = v as {
      rate: number;
      p50AddedMs: number;
      p99AddedMs: number;
      proxyNoauth: { p99Ms: number };
    } & Record<string, { p99Ms: number }>;
    lines.push(
      `- \`${name}\` at ${h.rate} req/s: p99 ${h[name]!.p99Ms.toFixed(3)} ms vs ${h.proxyNoauth.p99Ms.toFixed(3)} ms without auth → **+${h.p99AddedMs.toFixed(3)} ms** (p50 +${h.p50AddedMs.toFixed(3)} ms); target ≤ 1 ms`,
    );
  }
  if (d.rss) {
    lines.push(
      "",
      "## Memory",
      "",
      `- gateway RSS idle (after warm-up): ${String(d.rss.idleMB)} MB`,
      `- gateway RSS after 100 000 distinct tokens and a warm pass over them: **${String(d.rss.with100kMB)} MB** with ${String(d.rss.verifiedCacheEntries)} verified-cache entries (target ≤ 200 MB)`,
      `- details: ${json(d.rss)}`,
    );
  }
  if (d.jwksFlood) {
    lines.push(
      "",
      "## Unknown-kid flood",
      "",
      `- ${String(d.jwksFlood.floodRequests)} requests with random kids; JWKS fetches the emulator saw during them: **${String(d.jwksFlood.jwksFetchesDuringFlood)}** (all rounds: ${String(d.jwksFlood.jwksFetchesAllRounds)}; allowed: one per key set per ${String(d.jwksFlood.cooldownSec)} s cooldown → ${String(d.jwksFlood.allowedPerKeySet)} over ${String(d.jwksFlood.roundsSpanSec)} s)`,
      `- emulator \`/_sim/stats\` keys counters at the end (every process, since start): ${json(d.jwksFlood.emulatorKeysStats)}`,
    );
  }
  if (legs && legs.length > 0 && d.upstreamLegs) {
    const http = d.upstreamLegs.http;
    const https = d.upstreamLegs.https;
    lines.push(
      "",
      "## Upstream over HTTP and over HTTPS (static HAProxy upstream; one pinned process each)",
      "",
      markdownTable(legs, () => undefined),
      "",
      ...Object.entries(d.upstreamLegs).map(
        ([leg, v]) =>
          `- ${leg} upstream: gateway warm **${v.ratio.toFixed(2)} ×** the bare proxy, **+${v.extraCpuUsPerReq} µs** CPU per request over it`,
      ),
      ...(http && https
        ? [
            `- the gateway's extra cost with TLS to the upstream minus without: ${(https.extraCpuUsPerReq - http.extraCpuUsPerReq).toFixed(1)} µs/req (target ≤ 0 within noise)`,
          ]
        : []),
    );
  }
  if (multi && multi.length > 0) {
    lines.push(
      "",
      "## Workers (static TLS upstream: one worker pinned to core 0, then N workers unpinned)",
      "",
      markdownTable(multi, () => undefined),
      "",
      ...Object.entries((d.multiWorkerScaling ?? {}) as Record<string, number>).map(
        ([k, v]) => `- \`${k}\`: **${v.toFixed(2)} ×** req/s (target ≥ 1.7 ×)`,
      ),
      ...Object.entries(d.multiWorkerGatewayCores ?? {}).map(
        ([k, v]) =>
          `- \`${k}\` with N workers: the gateway used ${v.toFixed(2)} cores; the load generator and the upstream used the rest of the two`,
      ),
    );
  }
  lines.push(
    "",
    "## Versions",
    "",
    ...Object.entries(d.versions).map(([k, v]) => `- ${k} ${v}`),
    "",
    "Envoy and oauth2-proxy are not installable on this machine (no Debian package; `apt-cache policy envoy`",
    "finds none), so they have no row. The chart of this run is written to `bench/results/` (not committed).",
    "",
  );
  return lines.join("\n");
}
