/**
 * The phases of a full run that measure the proxy itself against a near-free upstream (HAProxy answering a
 * fixed body, `peers/static-upstream.ts`) instead of the MP simulator:
 *
 * - **upstream legs**: the bare proxy and the warm gateway, one pinned worker each, over a plain HTTP and an
 *   HTTPS upstream. The figure is the gateway's extra CPU per request over the bare proxy on each leg: TLS
 *   to the upstream should cost the gateway no more than it costs a generic proxy.
 * - **two-worker scaling**: the warm and cold gateway with one worker pinned to core 0 (load generator and
 *   upstream on core 1), then with N workers and nothing pinned. On two cores the load generator and the
 *   upstream take their share of the same CPUs, so the phase also reports how much of the machine the
 *   gateway got and its CPU per request in both runs: equal CPU per request means the workers scale with
 *   the cores they are given.
 */
import type { LoadResult } from "./load.js";
import type { StaticUpstream } from "./peers/static-upstream.js";
import type { BenchProcess } from "./processes.js";
import { round, type ScenarioSummary, summarise } from "./report.js";

/** What the phases need from the bench's main loop. */
export interface ProxyPhaseDeps {
  readonly upstream: StaticUpstream;
  /** The HAProxy process serving both legs (re-pinned for the scaling phase). */
  readonly upstreamProcess: BenchProcess;
  readonly rounds: number;
  readonly warmupSec: number;
  readonly workers: number;
  readonly log: (line: string) => void;
  startGateway(name: string, workers: number, upstreamUrl: string): Promise<BenchProcess>;
  startBare(upstreamUrl: string): Promise<BenchProcess>;
  /** One load run against `server` (`warm` or `cold` tokens), CPU of `upstream` attributed to the client side. */
  load(
    server: BenchProcess,
    workload: "warm" | "cold",
    upstream: BenchProcess,
    durationSec?: number,
  ): Promise<LoadResult>;
  /** Pins (or unpins, with every core) the load generator and the upstream; no-op without taskset. */
  spread(cpus: "client" | "all"): void;
}

/** One upstream leg: the bare proxy and the warm gateway over the same upstream. */
export interface UpstreamLeg {
  readonly leg: "http" | "https";
  readonly bare: ScenarioSummary;
  readonly warm: ScenarioSummary;
  /** Gateway CPU µs per request minus the bare proxy's. */
  readonly extraCpuUsPerReq: number;
  /** warm req/s over bare req/s. */
  readonly ratio: number;
}

/** One worker pinned against N workers unpinned. */
export interface WorkerScaling {
  readonly workers: number;
  readonly one: readonly ScenarioSummary[];
  readonly many: readonly ScenarioSummary[];
  /** Per workload: N-worker req/s over one-worker req/s. */
  readonly rpsScaling: Readonly<Record<string, number>>;
  /** Per workload: cores the N workers used (1.0 = one full core). */
  readonly gatewayCores: Readonly<Record<string, number>>;
}

async function interleaved(
  deps: ProxyPhaseDeps,
  runs: readonly { readonly name: string; readonly server: BenchProcess; readonly workload: "warm" | "cold" }[],
  target: (name: string) => string,
): Promise<ScenarioSummary[]> {
  const results = new Map<string, LoadResult[]>(runs.map((r) => [r.name, []]));
  for (const r of runs) await deps.load(r.server, "warm", deps.upstreamProcess, deps.warmupSec);
  for (let round = 0; round < deps.rounds; round++) {
    for (const r of round % 2 === 0 ? runs : [...runs].reverse()) {
      const result = await deps.load(r.server, r.workload, deps.upstreamProcess);
      results.get(r.name)!.push(result);
      deps.log(
        `${r.name.padEnd(24)} round ${round + 1}/${deps.rounds} ${result.rps.toFixed(0).padStart(6)} req/s  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}`,
      );
    }
  }
  return runs.map((r) => summarise(r.name, "gateway", target(r.name), results.get(r.name)!));
}

/** Bare proxy vs warm gateway over a plain and a TLS upstream, one pinned process each. */
export async function measureUpstreamLegs(deps: ProxyPhaseDeps): Promise<UpstreamLeg[]> {
  const legs: UpstreamLeg[] = [];
  deps.spread("client");
  for (const leg of ["http", "https"] as const) {
    const url = leg === "http" ? deps.upstream.httpUrl : deps.upstream.httpsUrl;
    const bare = await deps.startBare(url);
    const gateway = await deps.startGateway(`gateway-static-${leg}`, 1, url);
    try {
      const [b, w] = await interleaved(
        deps,
        [
          { name: `bare-proxy (${leg} upstream)`, server: bare, workload: "warm" },
          { name: `warm (${leg} upstream)`, server: gateway, workload: "warm" },
        ],
        (name) => (name.startsWith("bare") ? "bare" : "gateway"),
      );
      legs.push({
        leg,
        bare: b!,
        warm: w!,
        extraCpuUsPerReq: round(w!.serverCpuUsPerReq - b!.serverCpuUsPerReq, 1),
        ratio: b!.rps > 0 ? round(w!.rps / b!.rps, 3) : 0,
      });
    } finally {
      await bare.stop();
      await gateway.stop();
    }
  }
  return legs;
}

/** Warm and cold with one pinned worker, then with N unpinned workers, over the TLS static upstream. */
export async function measureWorkerScaling(deps: ProxyPhaseDeps): Promise<WorkerScaling> {
  const url = deps.upstream.httpsUrl;
  deps.spread("client");
  const single = await deps.startGateway("gateway-static-1w", 1, url);
  let one: ScenarioSummary[];
  try {
    one = await interleaved(
      deps,
      [
        { name: "warm ×1", server: single, workload: "warm" },
        { name: "cold ×1", server: single, workload: "cold" },
      ],
      () => "gateway (1 worker, core 0)",
    );
  } finally {
    await single.stop();
  }
  deps.spread("all");
  const multi = await deps.startGateway(`gateway-static-${deps.workers}w`, deps.workers, url);
  let many: ScenarioSummary[];
  try {
    many = await interleaved(
      deps,
      [
        { name: `warm ×${deps.workers}`, server: multi, workload: "warm" },
        { name: `cold ×${deps.workers}`, server: multi, workload: "cold" },
      ],
      () => `gateway (${deps.workers} workers, unpinned)`,
    );
  } finally {
    await multi.stop();
    deps.spread("client");
  }
  const rpsScaling: Record<string, number> = {};
  const gatewayCores: Record<string, number> = {};
  for (const [i, workload] of (["warm", "cold"] as const).entries()) {
    const a = one[i]!;
    const b = many[i]!;
    rpsScaling[workload] = a.rps > 0 ? round(b.rps / a.rps, 3) : 0;
    gatewayCores[workload] = round(b.serverCore, 2);
  }
  return { workers: deps.workers, one, many, rpsScaling, gatewayCores };
}
