/**
 * Which processes run, on which core, and how are they stopped? Every server under test is a separate
 * `node dist/…` process, pinned with `taskset` when it exists, registered here so that it is killed on exit,
 * on Ctrl-C and on errors. CPU time and RSS are read from `/proc` so a scenario can report the server's CPU
 * per request and the gateway's memory.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";

/** A server process the bench started. */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  /** The JSON object the process printed when ready (`url`, …), or the match of its ready pattern. */
  readonly ready: Readonly<Record<string, string>>;
  /** User + system CPU seconds so far (all threads, and child processes), from `/proc`; 0 without `/proc`. */
  cpuSeconds(): number;
  /** Resident set size in bytes (with child processes), from `/proc/<pid>/status`. */
  rssBytes(): number;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
}

/** How to start one server process. */
export interface SpawnOptions {
  readonly name: string;
  /** Script (compiled JavaScript) and its arguments; with `program`, that program's arguments. */
  readonly args: readonly string[];
  /** A program other than node (e.g. `haproxy`). */
  readonly program?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** CPU list for `taskset -c` (e.g. `"0"`), or undefined for no pinning. */
  readonly cpus?: string | undefined;
  /**
   * How readiness is announced: `json` — a line `{"ready":true,…}` on stdout; or a RegExp over stdout/stderr
   * whose first capture group is the URL; or a TCP port that accepts connections (servers that print nothing).
   */
  readonly readyWhen: "json" | RegExp | { readonly port: number; readonly url: string };
  readonly timeoutMs?: number;
  /** Extra node flags (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /** Working directory (profiles are written there). */
  readonly cwd?: string;
}

const live = new Set<ChildProcess>();
let exitHooksInstalled = false;

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

/**
 * Installs handlers that kill every registered child on process exit, SIGINT, SIGTERM and uncaught errors.
 * `onSignal` runs first (e.g. to stop the in-process emulator); the process then exits with 130.
 */
export function installExitHooks(onSignal?: () => Promise<void>): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", killAllSync);
  const bail = (code: number) => {
    killAllSync();
    void Promise.race([onSignal?.(), new Promise((r) => setTimeout(r, 1_000))]).finally(() => process.exit(code));
  };
  process.once("SIGINT", () => bail(130));
  process.once("SIGTERM", () => bail(143));
  process.on("uncaughtException", (err) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    bail(1);
  });
}

/** Whether `taskset` can pin processes here (Linux with util-linux). */
export function tasksetAvailable(): boolean {
  const r = spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
  return r.status === 0;
}

/** Pins every thread of a running process to `cpus` (e.g. `"1"`, `"0,1"`); returns whether it worked. */
export function pinProcess(pid: number, cpus: string): boolean {
  const r = spawnSync("taskset", ["-a", "-c", "-p", cpus, String(pid)], { stdio: "ignore" });
  return r.status === 0;
}

/** Pins every thread of this process (the load generator) to `cpus`; returns whether it worked. */
export function pinSelf(cpus: string): boolean {
  return pinProcess(process.pid, cpus);
}

const CLOCK_TICKS = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** CPU seconds (user + system) of a process, from `/proc/<pid>/stat`. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may contain spaces; fields after it start at the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of this process's children that have exited and been waited for (`cutime + cstime` of
 * `/proc/self/stat`): a finished wrk run's CPU time.
 */
export function childrenCpuSeconds(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds spent during one load run, by who spent them. */
export interface CpuSpent {
  /** The server process(es) under test. */
  readonly serverCpuSec: number;
  /** The upstream (the MP simulator). */
  readonly upstreamCpuSec: number;
  /** This process (the load generator's side, emulator included) and its children that ended meanwhile (wrk). */
  readonly clientCpuSec: number;
}

/** Starts a CPU meter over the servers, the upstream and this process; call the result when the run ends. */
export function startCpuMeter(servers: readonly BenchProcess[], upstream: BenchProcess | undefined): () => CpuSpent {
  const cpu = () => servers.reduce((s, p) => s + p.cpuSeconds(), 0);
  const server0 = cpu();
  const up0 = upstream?.cpuSeconds() ?? 0;
  const self0 = process.cpuUsage();
  const children0 = childrenCpuSeconds();
  return () => {
    const self = process.cpuUsage(self0);
    return {
      serverCpuSec: cpu() - server0,
      upstreamCpuSec: (upstream?.cpuSeconds() ?? 0) - up0,
      clientCpuSec: (self.user + self.system) / 1e6 + (childrenCpuSeconds() - children0),
    };
  };
}

/** Direct children of a process (cluster workers), from `/proc/<pid>/task/<pid>/children`. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((s) => s.length > 0)
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a process and its children (a cluster primary and its workers). */
export function treeCpuSeconds(pid: number): number {
  return childPids(pid).reduce((sum, child) => sum + processCpuSeconds(child), processCpuSeconds(pid));
}

/** Resident set size of a process in bytes, from `/proc/<pid>/status`. */
export function processRssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Starts the compiled MP simulator for a bench run (no client certificate asked: the gateway under test and
 * the bare proxy reach it alike), pinned to `cpus`, and waits for its URL.
 */
export function spawnMpSimulator(dist: string, stateDir: string, cpus: string | undefined): Promise<BenchProcess> {
  return spawnServer({
    name: "mp-simulator",
    args: [
      join(dist, "mp-simulator", "main.js"),
      "--state-dir",
      stateDir,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--client-cert",
      "off",
      "--log-level",
      "warn",
    ],
    env: { NODE_ENV: "production" },
    cpus,
    readyWhen: /listening on (https:\/\/[^\s]+)/,
  });
}

/** Starts a server process and waits until it says it is ready. */
export function spawnServer(options: SpawnOptions): Promise<BenchProcess> {
  const program = options.program ?? process.execPath;
  const programArgv = options.program ? [...options.args] : [...(options.nodeArgs ?? []), ...options.args];
  const [command, argv] =
    options.cpus === undefined ? [program, programArgv] : ["taskset", ["-c", options.cpus, program, ...programArgv]];
  const child = spawn(command, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  live.add(child);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let output = "";
  return new Promise<BenchProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.name} not ready after ${timeoutMs} ms:\n${output.slice(-2_000)}`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      live.delete(child);
      clearTimeout(timer);
      reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${output.slice(-2_000)}`));
    };
    child.once("exit", onExit);
    const settle = (ready: Record<string, string>) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.once("exit", () => live.delete(child));
      // Keep draining the pipes so a chatty child never blocks on a full pipe.
      child.stdout?.removeAllListeners("data");
      child.stderr?.removeAllListeners("data");
      child.stdout?.on("data", () => undefined);
      child.stderr?.on("data", (chunk: Buffer) => {
        if (process.env.BENCH_DEBUG) process.stderr.write(`[${options.name}] ${chunk}`);
      });
      const pid = child.pid!;
      resolve({
        name: options.name,
        pid,
        ready,
        cpuSeconds: () => treeCpuSeconds(pid),
        rssBytes: () => childPids(pid).reduce((sum, c) => sum + processRssBytes(c), processRssBytes(pid)),
        stop: () => stopChild(child),
      });
    };
    const readyWhen = options.readyWhen;
    if (typeof readyWhen === "object" && !(readyWhen instanceof RegExp)) {
      const probe = () => {
        const socket = connect(readyWhen.port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          settle({ url: readyWhen.url });
        });
        socket.once("error", () => {
          socket.destroy();
          if (live.has(child)) setTimeout(probe, 100);
        });
      };
      setTimeout(probe, 100);
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (readyWhen === "json") {
        for (const line of output.split("\n")) {
          if (!line.startsWith("{")) continue;
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (parsed.ready === true) {
              settle(Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)])));
              return;
            }
          } catch {
            // A partial line; wait for more.
          }
        }
      } else if (readyWhen instanceof RegExp) {
        const m = readyWhen.exec(output);
        if (m) settle({ url: m[1] ?? m[0] });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(kill);
      live.delete(child);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Stops every process still registered (normal end of a run). */
export async function stopAll(processes: readonly BenchProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
}
