/**
 * From the run's request records to numbers: per step count, served, refused as expected, failed (by
 * reason), p50/p99 latency; and the two renderings — the summary table and the JSON object (docs/simulators.md § `--json`).
 */
import { type RequestRecord, STEPS, type StepName } from "./client.js";

/** Figures of one step. */
export interface StepSummary {
  readonly count: number;
  readonly ok: number;
  /** Refused as the scenario expected. */
  readonly refused: number;
  readonly failed: number;
  /** Failures by reason (`401 invalid_token`, `ECONNRESET`, …). */
  readonly failures: Readonly<Record<string, number>>;
  /** Expected refusals by reason (the gateway's own code when observed, else status and error). */
  readonly refusals: Readonly<Record<string, number>>;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Totals of a run. */
export interface Totals {
  readonly requests: number;
  readonly ok: number;
  readonly refused: number;
  readonly failed: number;
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Summarises records per step (steps without requests are left out). */
export function summariseSteps(records: readonly RequestRecord[]): Partial<Record<StepName, StepSummary>> {
  const out: Partial<Record<StepName, StepSummary>> = {};
  for (const step of STEPS) {
    const mine = records.filter((r) => r.step === step);
    if (mine.length === 0) continue;
    const failures: Record<string, number> = {};
    const refusals: Record<string, number> = {};
    let ok = 0;
    for (const r of mine) {
      if (r.result === "ok") ok++;
      else {
        const into = r.result === "failed" ? failures : refusals;
        const key = r.gatewayReason ?? r.reason ?? String(r.status);
        into[key] = (into[key] ?? 0) + 1;
      }
    }
    const ms = mine.map((r) => r.ms).sort((a, b) => a - b);
    const failed = mine.filter((r) => r.result === "failed").length;
    out[step] = {
      count: mine.length,
      ok,
      refused: mine.length - ok - failed,
      failed,
      failures,
      refusals,
      p50Ms: round2(percentile(ms, 50)),
      p99Ms: round2(percentile(ms, 99)),
    };
  }
  return out;
}

/** Totals over all records. */
export function totalsOf(records: readonly RequestRecord[]): Totals {
  let ok = 0;
  let refused = 0;
  let failed = 0;
  for (const r of records) {
    if (r.result === "ok") ok++;
    else if (r.result === "refused") refused++;
    else failed++;
  }
  return { requests: records.length, ok, refused, failed };
}

function pad(value: string, width: number, right = false): string {
  return right ? value.padStart(width) : value.padEnd(width);
}

function describe(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(", ");
}

/** The summary table, one line per step, plus the totals line. */
export function renderStepTable(steps: Partial<Record<StepName, StepSummary>>, totals: Totals): string {
  const header = ["step", "count", "ok", "refused", "failed", "p50 ms", "p99 ms", "refusals / failures by reason"];
  const widths = [14, 7, 7, 8, 7, 8, 8];
  const line = (cells: string[]) => cells.map((c, i) => (i < widths.length ? pad(c, widths[i]!, i > 0) : c)).join("  ");
  const rows = [line(header)];
  for (const step of STEPS) {
    const s = steps[step];
    if (!s) continue;
    const notes = [
      Object.keys(s.refusals).length > 0 ? `expected: ${describe(s.refusals)}` : "",
      Object.keys(s.failures).length > 0 ? `FAILED: ${describe(s.failures)}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    rows.push(
      line([
        step,
        String(s.count),
        String(s.ok),
        String(s.refused),
        String(s.failed),
        s.p50Ms.toFixed(1),
        s.p99Ms.toFixed(1),
        notes,
      ]),
    );
  }
  rows.push(
    line([
      "total",
      String(totals.requests),
      String(totals.ok),
      String(totals.refused),
      String(totals.failed),
      "",
      "",
      "",
    ]),
  );
  return rows.join("\n");
}
