/**
 * One load run with wrk (Debian's `wrk` package), the load generator of choice: it costs about half the CPU
 * per request of autocannon, so on a two-core machine the server under test, not the generator, sets the
 * pace. Tokens come from a file through `bench/wrk-tokens.lua`, starting at the pool's cursor; the cursor
 * moves on by the requests each run sent, so a cold pool stays cold across warm-up and measured windows.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadResult, LoadSpec, TokenPool } from "./load.js";
import { startCpuMeter } from "./processes.js";

/** The Lua script, beside this file in the source tree (from `dist/bench/`: `../../bench/`). */
const SCRIPT = ((here: string) =>
  [join(here, "wrk-tokens.lua"), resolve(here, "..", "..", "bench", "wrk-tokens.lua")].find((f) => existsSync(f)) ??
  join(here, "wrk-tokens.lua"))(dirname(fileURLToPath(import.meta.url)));

/** What to tell someone whose machine has no wrk. */
export const WRK_MISSING =
  "bench: wrk not found — install it (`apt-get install -y wrk` on Debian/Ubuntu, `brew install wrk` on macOS, " +
  "or build github.com/wg/wrk) for figures the load generator does not cap; falling back to autocannon, which " +
  "costs about twice the CPU per request, so on two cores the ratios come out compressed and noisy";

let available: boolean | undefined;
/** Whether `wrk` runs here (checked once). */
export function wrkAvailable(): boolean {
  available ??= spawnSync("wrk", ["-v"], { stdio: "ignore" }).error === undefined;
  return available;
}

let poolDir: string | undefined;
const poolFiles = new WeakMap<readonly string[], string>();

/** Writes a pool once per process to a private temp file (removed at exit); returns its path. */
function poolFile(tokens: readonly string[]): string {
  let file = poolFiles.get(tokens);
  if (file !== undefined) return file;
  if (poolDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "entra-gateway-bench-"));
    poolDir = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  file = join(poolDir, `pool-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, `${tokens.join("\n")}\n`, { mode: 0o600 });
  poolFiles.set(tokens, file);
  return file;
}

/** What `wrk-tokens.lua` prints when done. */
interface WrkReport {
  readonly sent: number;
  readonly wrapped: number;
  readonly responses: number;
  readonly durationUs: number;
  readonly bytes: number;
  readonly socketErrors: number;
  readonly timeouts: number;
  readonly statuses: Record<string, number>;
  readonly quantilesUs: number[];
}

/** Requests a once-only pool hands one run at most: far above any req/s this bench sees. */
const ONCE_LIMIT_PER_SEC = 60_000;

/**
 * Runs wrk once for `durationSec` with one thread (pinned where this process is pinned) and the spec's
 * connections. Latency percentiles come from 1000 quantiles of wrk's own histogram.
 */
export async function runWrk(spec: LoadSpec & { readonly durationSec: number }, pool: TokenPool): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(spec.durationSec));
  // The script cycles a pool from `offset % length`; the raw cursor also numbers the stamped tokens.
  const offset = pool.cursor.value;
  const limit = Math.max(1, Math.min(pool.tokens.length - offset, ONCE_LIMIT_PER_SEC * seconds));
  if (pool.once && offset >= pool.tokens.length) throw new Error("the once-only token pool is used up");
  const args = [
    "-t1",
    `-c${spec.connections}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    "-s",
    SCRIPT,
    `${spec.url}${spec.path}`,
    "--",
    poolFile(pool.tokens),
    String(offset),
    String(limit),
    pool.once ? "1" : "0",
    String(pool.stampAt ?? 0),
  ];
  const spent = startCpuMeter(spec.observe?.server ?? [], spec.observe?.upstream);
  const output = await new Promise<string>((resolveRun, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolveRun(out) : reject(new Error(`wrk exited ${code}:\n${out}`))));
  });
  const line = output.split("\n").find((l) => l.startsWith("BENCH-WRK "));
  if (line === undefined) throw new Error(`wrk printed no report:\n${output.slice(-2_000)}`);
  const report = JSON.parse(line.slice("BENCH-WRK ".length)) as WrkReport;
  pool.cursor.value += report.sent;
  const expected = new Set(spec.expected.map(String));
  let unexpected = 0;
  for (const [status, count] of Object.entries(report.statuses)) if (!expected.has(status)) unexpected += count;
  const latenciesMs = fromQuantiles(report.quantilesUs, report.responses);
  const elapsed = report.durationUs / 1e6;
  return {
    requests: report.responses,
    seconds: elapsed,
    rps: report.responses / elapsed,
    p50Ms: quantile(report.quantilesUs, 50) / 1000,
    p90Ms: quantile(report.quantilesUs, 90) / 1000,
    p99Ms: quantile(report.quantilesUs, 99) / 1000,
    errors: unexpected + report.socketErrors + report.timeouts,
    statuses: report.statuses,
    bytesPerSec: report.bytes / elapsed,
    ...spent(),
    latenciesMs,
    wrapped: report.wrapped === 1,
  };
}

/** The quantile at `p` % of 1000 evenly spaced quantiles ((k + 0.5) / 10 %). */
function quantile(q: readonly number[], p: number): number {
  return q[Math.min(q.length - 1, Math.max(0, Math.ceil(p * 10 - 0.5)))] ?? 0;
}

/**
 * A sorted stand-in for `count` latencies (ms) with the given quantiles, so rounds pool into one
 * distribution the way autocannon's exact latencies do.
 */
function fromQuantiles(quantilesUs: readonly number[], count: number): Float64Array {
  const out = new Float64Array(count);
  const k = quantilesUs.length;
  for (let i = 0; i < count; i++) out[i] = (quantilesUs[Math.min(k - 1, Math.floor((i * k) / count))] ?? 0) / 1000;
  return out;
}
