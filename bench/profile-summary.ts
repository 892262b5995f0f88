#!/usr/bin/env node
/**
 * Where does the time go? Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`, or any
 * `node --cpu-prof` run): self time by function and by area (gateway module, npm package, Node internals,
 * GC, idle), so a profile can be quoted without a flame-graph viewer.
 *
 * `node dist/bench/profile-summary.js FILE.cpuprofile [--top N]`
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** The parts of a V8 CPU profile this reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One row of the summary. */
export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** Which area a script URL belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (url === "") {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(idle)") return "idle";
    if (functionName === "(program)") return "(program: native, outside JS)";
    return `native: ${functionName || "(anonymous)"}`;
  }
  if (url.startsWith("node:"))
    return url
      .replace(/^node:internal\//, "node:")
      .split("/")
      .slice(0, 2)
      .join("/");
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/dist\/(.+)$/.exec(url);
  if (own) return own[1]!;
  return url;
}

/** Self time by function and by area, largest first. */
export function summariseProfile(profile: CpuProfile): { total: number; functions: ProfileRow[]; areas: ProfileRow[] } {
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    const fn = `${functionName || "(anonymous)"} ${url ? `${area}:${lineNumber + 1}` : ""}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    total += us;
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return { total: total / 1000, functions: rows(byFunction), areas: rows(byArea) };
}

/** Renders the summary as text (busy time only: idle excluded from the shares). */
export function formatProfileSummary(profile: CpuProfile, top = 25): string {
  const { functions, areas } = summariseProfile(profile);
  const busy = areas.filter((a) => a.name !== "idle").reduce((s, a) => s + a.ms, 0);
  const line = (r: ProfileRow) =>
    `${((r.ms / busy) * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`;
  return [
    `busy ${busy.toFixed(0)} ms (idle excluded)`,
    "",
    "self time by area:",
    ...areas
      .filter((a) => a.name !== "idle")
      .slice(0, top)
      .map(line),
    "",
    "self time by function:",
    ...functions
      .filter((f) => !f.name.startsWith("(idle)"))
      .slice(0, top)
      .map(line),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  if (positionals.length === 0) {
    process.stderr.write("usage: profile-summary FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  for (const file of positionals) {
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    process.stdout.write(`== ${file}\n${formatProfileSummary(profile, Number(values.top))}\n\n`);
  }
}
