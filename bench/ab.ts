#!/usr/bin/env node
/**
 * `node dist/bench/ab.js --a DIST_A --b DIST_B [--scenario warm,cold] [--rounds 5] [--duration 5]`
 *
 * A/B of two builds of the gateway, back to back: both gateways (`DIST/gateway/main.js serve`) run at once
 * against one MP simulator, both pinned to core 0 (only one is loaded at a time), the load generator (wrk
 * when installed) and the MP on core 1, rounds interleaved A B, B A… so drift hits both alike. Reports per
 * scenario the server CPU µs per request (from `/proc`: the figure that holds on a shared machine) and req/s,
 * median [min..max] over the rounds, and the B/A ratio of each pair. Build A from another commit with e.g.
 * `git archive REV | tar -x -C /tmp/a && ln -s $PWD/node_modules /tmp/a/ && (cd /tmp/a && npx tsc -p tsconfig.build.json)`.
 * `--a-node-args "--max-semi-space-size=32"` (and `--b-node-args`) try a V8 flag on one side; `--fill N` first
 * sends N distinct valid tokens to each side, so the warm and cold rounds run with a full verified cache.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { cyclingSource, type LoadResult, onceSource, runLoad, type TokenSource } from "./load.js";
import { freePort } from "./peers/haproxy.js";
import { type BenchProcess, installExitHooks, pinSelf, spawnMpSimulator, spawnServer, stopAll } from "./processes.js";
import { SMALL_PATH } from "./scenarios.js";
import { type BenchStack, startBenchStack, writeGatewayConfig } from "./stack.js";
import { coldPool, mintWarmPool } from "./tokens.js";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    scenario: { type: "string", default: "warm,cold" },
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    "state-dir": { type: "string", default: ".state/bench" },
    "a-node-args": { type: "string", default: "" },
    "b-node-args": { type: "string", default: "" },
    fill: { type: "string", default: "0" },
  },
});
if (!values.a || !values.b) {
  process.stderr.write("usage: node dist/bench/ab.js --a DIST_A --b DIST_B [--scenario warm,cold,noauth]\n");
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${line}\n`);
const root = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
const stateDir = resolve(root, values["state-dir"]);
const rounds = Number(values.rounds);
const durationSec = Number(values.duration);
const scenarios = values.scenario.split(",").map((s) => s.trim());

const processes: BenchProcess[] = [];
let stack: BenchStack | undefined;
installExitHooks(async () => {
  await stack?.stop();
});

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (xs: readonly number[], digits = 0) =>
  `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}]`;

async function main(): Promise<void> {
  pinSelf("1");
  stack = await startBenchStack(stateDir);
  const s = stack;
  const warm = mintWarmPool(s, 1000);
  const fill = Number(values.fill);
  const cold = scenarios.includes("cold") || fill > 0 ? (await coldPool(s, 150_000, log)).tokens : [];
  const mp = await spawnMpSimulator(join(root, "dist"), stateDir, "1");
  processes.push(mp);
  const start = async (label: string, dist: string, auth: boolean, nodeArgs: string) => {
    const ports = { listen: await freePort(), admin: await freePort(), metrics: await freePort() };
    const file = join(stateDir, `ab-${label}.yaml`);
    await writeGatewayConfig(s, { file, mpUrl: mp.ready.url!, auth, listenTls: false, ports });
    const p = await spawnServer({
      name: `gateway-${label}`,
      nodeArgs: nodeArgs.split(" ").filter((x) => x !== ""),
      args: [
        join(resolve(dist), "gateway", "main.js"),
        "serve",
        "--config",
        file,
        "--workers",
        "1",
        "--state-dir",
        stateDir,
        "--log-level",
        "warn",
      ],
      env: { NODE_ENV: "production" },
      cpus: "0",
      readyWhen: { port: ports.listen, url: `http://127.0.0.1:${ports.listen}` },
    });
    processes.push(p);
    return p;
  };
  const auth = !scenarios.every((x) => x === "noauth");
  const gateways = {
    A: await start("a", values.a!, auth, values["a-node-args"]),
    B: await start("b", values.b!, auth, values["b-node-args"]),
  };
  const coldCursors = { A: { value: 0 }, B: { value: 0 } };
  if (fill > 0) {
    for (const side of ["A", "B"] as const) {
      const x = await runLoad({
        url: gateways[side].ready.url!,
        path: SMALL_PATH,
        connections: Number(values.connections),
        amount: fill,
        tokens: onceSource(cold, coldCursors[side]),
        expected: [200],
        observe: { server: [gateways[side]], upstream: mp },
      });
      log(`fill ${side}: ${fill} distinct tokens at ${x.rps.toFixed(0)} req/s, errors ${x.errors}`);
    }
  }
  const source = (scenario: string, side: "A" | "B"): TokenSource =>
    scenario === "cold" ? onceSource(cold, coldCursors[side]) : cyclingSource(warm);
  const run = (scenario: string, side: "A" | "B", seconds: number): Promise<LoadResult> =>
    runLoad({
      url: gateways[side].ready.url!,
      path: SMALL_PATH,
      connections: Number(values.connections),
      durationSec: seconds,
      tokens: source(scenario, side),
      expected: [200],
      observe: { server: [gateways[side]], upstream: mp },
    });
  for (const scenario of scenarios) for (const side of ["A", "B"] as const) await run(scenario, side, 3);
  const results: Record<string, { A: LoadResult[]; B: LoadResult[] }> = {};
  for (let r = 0; r < rounds; r++) {
    for (const scenario of scenarios) {
      results[scenario] ??= { A: [], B: [] };
      // Alternate which side goes first, so neither always follows the other.
      const order = r % 2 === 0 ? (["A", "B"] as const) : (["B", "A"] as const);
      for (const side of order) {
        const x = await run(scenario, side, durationSec);
        results[scenario]![side].push(x);
        log(
          `round ${r + 1} ${scenario} ${side}: ${x.rps.toFixed(0)} req/s, ${usPerReq(x).toFixed(1)} µs/req, errors ${x.errors}`,
        );
      }
    }
  }
  const out: string[] = [];
  for (const [scenario, { A, B }] of Object.entries(results)) {
    const ratios = A.map((a, i) => usPerReq(B[i]!) / usPerReq(a));
    out.push(
      `${scenario}: A ${fmt(A.map(usPerReq), 1)} µs/req, ${fmt(A.map((x) => x.rps))} req/s | ` +
        `B ${fmt(B.map(usPerReq), 1)} µs/req, ${fmt(B.map((x) => x.rps))} req/s | B/A CPU per request ${fmt(ratios, 3)}`,
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

function usPerReq(x: LoadResult): number {
  return x.requests > 0 ? (x.serverCpuSec / x.requests) * 1e6 : 0;
}

try {
  await main();
  await stopAll(processes);
  await stack?.stop();
  process.exit(0);
} catch (err) {
  log(`ab: ${(err as Error).stack ?? String(err)}`);
  await stopAll(processes);
  await stack?.stop();
  process.exit(1);
}
