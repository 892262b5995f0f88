#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [--json] [--scenario a,b] [--duration S] [--connections N] [--rounds N]`
 *
 * Benchmarks the compiled gateway against the bare proxy (`bare-proxy`, fastify + undici, no auth: 1.0), its
 * own path without auth (`proxy-noauth`), the MP itself (`direct`) and its peers, side by side in one run:
 * every server in its own process pinned to core 0, the load generator (wrk, or autocannon where wrk is
 * missing), the Entra emulator and the MP simulator on core 1, scenarios interleaved in
 * rounds so drift hits all alike. Prints a table with ratios; `--json` prints one object (docs/architecture.md § Interfaces).
 * Writes `bench/results/<stamp>.{json,svg}`; a full run also rewrites `bench/RESULTS.md`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  cyclingSource,
  type LoadResult,
  loadGenerator,
  onceSource,
  runLoad,
  runPaced,
  type TokenSource,
} from "./load.js";
import { freePort, haproxyVersion, writeHaproxyConfig } from "./peers/haproxy.js";
import { writeStaticUpstreamConfig } from "./peers/static-upstream.js";
import {
  type BenchProcess,
  installExitHooks,
  pinProcess,
  pinSelf,
  spawnMpSimulator,
  spawnServer,
  stopAll,
  tasksetAvailable,
} from "./processes.js";
import {
  measureUpstreamLegs,
  measureWorkerScaling,
  type ProxyPhaseDeps,
  type UpstreamLeg,
  type WorkerScaling,
} from "./proxy-phases.js";
import { buildJson, formatTable, jsonScenario, round, type ScenarioSummary, summarise, svgChart } from "./report.js";
import { renderResultsMarkdown } from "./results-markdown.js";
import {
  CONTENT_CONNECTIONS,
  LARGE_PATH,
  SCENARIOS,
  type Scenario,
  SMALL_PATH,
  type TargetName,
  type Workload,
} from "./scenarios.js";
import { type BenchStack, startBenchStack, writeGatewayConfig } from "./stack.js";
import { coldPool, forgedTokens, garbagePool, mintMixedPool, mintWarmPool, unknownKidTokens } from "./tokens.js";
import { WRK_MISSING, wrkAvailable } from "./wrk.js";

const USAGE = `usage: npm run bench -- [options]
  --quick              short run (< 3 min): 2 rounds of 2.5 s, no RSS / multi-worker phases
  --json               print one JSON object on stdout (docs/architecture.md § Interfaces); progress goes to stderr
  --scenario a,b       run only these scenarios (baselines are added when a ratio needs them)
  --duration S         seconds per scenario per round (default 8; quick 2.5)
  --rounds N           interleaved rounds (default 3; quick 2)
  --connections N      concurrent connections (default 32)
  --workers N          also run proxy-noauth / warm / cold with an N-worker gateway (default 2 in a full run; 0 = skip)
  --no-proxy-phases    skip the upstream-leg and worker-scaling phases (--proxy-phases: run them in a partial run)
  --no-rss             skip the 100 000-cached-tokens RSS measurement (--rss: run it in a partial run too)
  --tls                serve the client leg over HTTPS on the gateway (peers stay plain HTTP)
  --gateway-entry E    cli (dist/gateway/main.js serve, the default when built) or bench (bench/serve-gateway.ts)
  --profile            write --cpu-prof profiles of the gateway processes and the bare proxy under bench/results/profiles
  --state-dir D        TLS material, keys, configs and the cold-token cache (default .state/bench)
scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(22)} ${s.description}`).join("\n")}
`;

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    scenario: { type: "string" },
    duration: { type: "string" },
    rounds: { type: "string" },
    connections: { type: "string", default: "32" },
    workers: { type: "string" },
    "no-rss": { type: "boolean", default: false },
    "proxy-phases": { type: "boolean", default: false },
    "no-proxy-phases": { type: "boolean", default: false },
    rss: { type: "boolean", default: false },
    tls: { type: "boolean", default: false },
    "gateway-entry": { type: "string" },
    profile: { type: "boolean", default: false },
    "state-dir": { type: "string", default: ".state/bench" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const quick = values.quick;
const durationSec = Number(values.duration ?? (quick ? 2.5 : 8));
const rounds = Number(values.rounds ?? (quick ? 2 : 3));
const connections = Number(values.connections);
const warmupSec = quick ? 1 : 3;
const selected = values.scenario?.split(",").map((s) => s.trim());
const fullRun = !quick && selected === undefined;
const workers = Number(values.workers ?? (fullRun ? 2 : 0));
const measureRss = values.rss || (fullRun && !values["no-rss"]);
const proxyPhases = values["proxy-phases"] || (fullRun && !values["no-proxy-phases"]);
const HAPROXY_MISSING = "install it with `sudo apt-get install haproxy`";
for (const [name, v] of [
  ["duration", durationSec],
  ["rounds", rounds],
  ["connections", connections],
] as const) {
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`bench: --${name} must be a positive number\n`);
    process.exit(2);
  }
}
const unknown = selected?.filter((s) => !SCENARIOS.some((x) => x.name === s)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown scenario(s) ${unknown.join(", ")}\n${USAGE}`);
  process.exit(2);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const here = dirname(fileURLToPath(import.meta.url));
/** `dist/bench` → the repository root. */
const root = resolve(here, "..", "..");
const dist = resolve(here, "..");
const resultsDir = join(root, "bench", "results");
const stateDir = resolve(root, values["state-dir"]);

const haproxy = haproxyVersion();
// The gateway CLI (`gateway/main.ts serve`) when it is built; the bench's own entry otherwise.
const cliEntry = join(dist, "gateway", "main.js");
const useCli = values["gateway-entry"] === "cli" || (values["gateway-entry"] !== "bench" && existsSync(cliEntry));
// Baselines every ratio needs come along with any selection.
const wanted = new Set(selected ?? SCENARIOS.map((s) => s.name));
if (selected) {
  if ([...wanted].some((n) => SCENARIOS.find((s) => s.name === n)?.group !== "baseline")) {
    wanted.add("bare-proxy");
    wanted.add("proxy-noauth");
  }
  if (wanted.has("content")) wanted.add("content-direct");
  for (const n of [...wanted]) {
    if (n.startsWith("express-") || n.startsWith("fastify-") || n.startsWith("haproxy-"))
      wanted.add(n.endsWith("-cold") ? "cold" : "warm");
  }
}
const scenarios = SCENARIOS.filter((s) => wanted.has(s.name) && (s.target !== "haproxy" || haproxy !== undefined));

const multiCore = cpus().length >= 2 && tasksetAvailable();
const SERVER_CPU = multiCore ? "0" : undefined;
const CLIENT_CPU = multiCore ? "1" : undefined;

const generator = loadGenerator();
const processes: BenchProcess[] = [];
let stack: BenchStack | undefined;
installExitHooks(async () => {
  await stack?.stop();
});

function versionOf(pkg: string): string {
  try {
    const text = readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8");
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return "?";
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = loadavg();
  if (generator === "autocannon" && !wrkAvailable()) log(WRK_MISSING);
  if (multiCore) pinSelf(CLIENT_CPU!);
  else log("bench: taskset or a second core is missing: processes are not pinned (figures are less comparable)");
  await mkdir(resultsDir, { recursive: true });

  // --- shared stack and tokens --------------------------------------------------------------------
  stack = await startBenchStack(stateDir);
  const s = stack;
  log(`emulator ${s.entra.url}; bench tenant ${s.benchTenant.name} (${s.benchTenant.id})`);
  const warm = mintWarmPool(s, 1000);
  const mixed = mintMixedPool(s, 600).tokens;
  const garbage = garbagePool(warm[0]!, 1000);
  const coldTargets = new Set(scenarios.filter((x) => x.workload === "cold").map((x) => x.target));
  const coldNeeded = Math.max(coldTargets.size > 0 ? (quick ? 40_000 : 150_000) : 0, measureRss ? 100_000 : 0);
  const cold = coldNeeded > 0 ? await coldPool(s, coldNeeded, log) : { tokens: [], minted: 0, seconds: 0 };
  if (cold.minted > 0) log(`minted ${cold.minted} cold tokens in ${cold.seconds.toFixed(0)} s`);
  const coldCursors = new Map<TargetName, { value: number }>();
  let coldWrapped = false;
  // wrk reads pools from files: forged tokens are 1000 templates whose signature wrk stamps with the request
  // number (never the same twice, so never a negative-cache hit); unknown kids cycle through 10 000 (the key
  // store keeps no memory per kid, so a repeat costs what a new one does).
  const forgedNext = forgedTokens(warm[0]!);
  const forgedPool = Array.from({ length: 1000 }, forgedNext);
  const [forgedHead, forgedPayload] = warm[0]!.split(".") as [string, string];
  const forgedCursor = { value: 0 };
  const unknownKidNext = unknownKidTokens(warm[0]!);
  const unknownKidPool = Array.from({ length: 10_000 }, unknownKidNext);
  const sources = (workload: Workload, target: TargetName): TokenSource => {
    switch (workload) {
      case "warm":
        return cyclingSource(warm);
      case "mixed":
        return cyclingSource(mixed);
      case "garbage":
        return cyclingSource(garbage);
      case "forged":
        return {
          next: forgedNext,
          pool: {
            tokens: forgedPool,
            cursor: forgedCursor,
            once: false,
            stampAt: forgedHead.length + forgedPayload.length + 3,
          },
        };
      case "unknown-kid":
        return { next: unknownKidNext, pool: cyclingSource(unknownKidPool).pool! };
      case "cold": {
        let cursor = coldCursors.get(target);
        if (!cursor) {
          cursor = { value: 0 };
          coldCursors.set(target, cursor);
        }
        const source = onceSource(cold.tokens, cursor);
        return {
          next() {
            const token = source.next();
            if (source.wrapped()) coldWrapped = true;
            return token;
          },
          pool: source.pool,
        };
      }
    }
  };

  // --- processes ----------------------------------------------------------------------------------
  const mp = await spawnMpSimulator(dist, stateDir, CLIENT_CPU);
  processes.push(mp);
  const mpUrl = mp.ready.url!;
  log(`mp-simulator ${mpUrl} (pid ${mp.pid}, cpu ${CLIENT_CPU ?? "any"})`);

  const profileDir = join(resultsDir, "profiles");
  if (values.profile) await mkdir(profileDir, { recursive: true });
  const startGateway = async (
    name: string,
    auth: boolean,
    workerCount: number,
    { cacheEntries, upstreamUrl = mpUrl }: { cacheEntries?: number; upstreamUrl?: string } = {},
  ) => {
    const file = join(stateDir, `${name}.yaml`);
    const ports = useCli ? { listen: await freePort(), admin: await freePort(), metrics: await freePort() } : undefined;
    await writeGatewayConfig(s, {
      file,
      mpUrl: upstreamUrl,
      auth,
      listenTls: values.tls,
      ...(cacheEntries ? { verifiedCacheEntries: cacheEntries } : {}),
      ...(ports ? { ports } : {}),
    });
    const common = {
      name,
      env: { NODE_ENV: "production" },
      cpus: workerCount > 1 ? undefined : SERVER_CPU,
      ...(values.profile
        ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${name}.cpuprofile`] }
        : {}),
    };
    const p = ports
      ? // The gateway CLI logs "gateway ready" at info; at warn it prints nothing, so its port is probed.
        await spawnServer({
          ...common,
          args: [
            cliEntry,
            "serve",
            "--config",
            file,
            "--workers",
            String(workerCount),
            "--state-dir",
            stateDir,
            "--log-level",
            "warn",
          ],
          readyWhen: { port: ports.listen, url: `${values.tls ? "https" : "http"}://127.0.0.1:${ports.listen}` },
        })
      : await spawnServer({
          ...common,
          args: [
            join(dist, "bench", "serve-gateway.js"),
            "--config",
            file,
            "--state-dir",
            stateDir,
            "--workers",
            String(workerCount),
          ],
          readyWhen: "json",
        });
    const metricsUrl = ports ? `http://127.0.0.1:${ports.metrics}` : p.ready.metricsUrl;
    const withMetrics: BenchProcess = { ...p, ready: { ...p.ready, ...(metricsUrl ? { metricsUrl } : {}) } };
    processes.push(withMetrics);
    return withMetrics;
  };
  const peerArgs = [
    "--mp",
    mpUrl,
    "--jwks",
    s.benchJwksUri,
    "--issuer",
    s.benchTenant.issuerV1,
    "--audience",
    s.benchTenant.appIdUri,
    "--client-app",
    s.benchTenant.clientAppId,
    "--ca",
    s.caFile,
  ];
  const targets = new Map<TargetName, BenchProcess>([["mp", mp]]);
  const needed = new Set(scenarios.map((x) => x.target));
  if (needed.has("gateway")) targets.set("gateway", await startGateway("gateway", true, 1));
  if (needed.has("gateway-noauth")) targets.set("gateway-noauth", await startGateway("gateway-noauth", false, 1));
  const peerEnv = { NODE_ENV: "production", NODE_EXTRA_CA_CERTS: s.caFile };
  const startBare = async (upstreamUrl: string) => {
    const p = await spawnServer({
      name: `bare-proxy ${upstreamUrl}`,
      args: [join(dist, "bench", "peers", "bare-proxy.js"), "--mp", upstreamUrl, "--ca", s.caFile],
      env: peerEnv,
      ...(values.profile && upstreamUrl === mpUrl
        ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", "bare-proxy.cpuprofile"] }
        : {}),
      cpus: SERVER_CPU,
      readyWhen: "json",
    });
    processes.push(p);
    return p;
  };
  if (needed.has("bare")) targets.set("bare", await startBare(mpUrl));
  if (needed.has("express")) {
    const p = await spawnServer({
      name: "express",
      args: [join(dist, "bench", "peers", "express-peer.js"), ...peerArgs],
      env: peerEnv,
      cpus: SERVER_CPU,
      readyWhen: "json",
    });
    processes.push(p);
    targets.set("express", p);
  }
  for (const [target, cache] of [
    ["fastify", "on"],
    ["fastify-nocache", "off"],
  ] as const) {
    if (!needed.has(target)) continue;
    const p = await spawnServer({
      name: target,
      args: [join(dist, "bench", "peers", "fastify-peer.js"), ...peerArgs, "--cache", cache],
      env: peerEnv,
      cpus: SERVER_CPU,
      readyWhen: "json",
    });
    processes.push(p);
    targets.set(target, p);
  }
  if (needed.has("haproxy")) {
    const port = await freePort();
    const file = join(stateDir, "haproxy.cfg");
    const publicKeyFile = join(stateDir, "haproxy-key.pem");
    const key = s.entra.keys.current(s.benchTenant.id);
    const { createPublicKey } = await import("node:crypto");
    await writeFile(publicKeyFile, createPublicKey(key.privateKey).export({ type: "spki", format: "pem" }).toString());
    await writeHaproxyConfig({
      file,
      port,
      mpUrl,
      caFile: s.caFile,
      publicKeyFile,
      issuer: s.benchTenant.issuerV1,
      audience: s.benchTenant.appIdUri,
      clientAppId: s.benchTenant.clientAppId,
    });
    const p = await spawnServer({
      name: "haproxy",
      program: "haproxy",
      args: ["-db", "-f", file],
      cpus: SERVER_CPU,
      readyWhen: { port, url: `http://127.0.0.1:${port}` },
    });
    processes.push(p);
    targets.set("haproxy", p);
  }
  for (const [name, p] of targets) log(`${name.padEnd(16)} ${p.ready.url} (pid ${p.pid})`);

  const urlOf = (target: TargetName) => targets.get(target)!.ready.url!;
  /** One load run, with the server's RSS after it and the verified-cache hits and misses it counted. */
  const runScenario = async (
    sc: Scenario,
    opts: { durationSec?: number; rate?: number; amount?: number } = {},
  ): Promise<LoadResult> => {
    const server = targets.get(sc.target)!;
    const metricsUrl = sc.target === "gateway" ? server.ready.metricsUrl : undefined;
    const before = await scrapeVerifiedCache(metricsUrl);
    const result = await runLoad({
      url: urlOf(sc.target),
      path: sc.body === "small" ? SMALL_PATH : LARGE_PATH,
      connections: sc.body === "small" ? connections : CONTENT_CONNECTIONS,
      ...(opts.amount !== undefined ? { amount: opts.amount } : { durationSec: opts.durationSec ?? durationSec }),
      ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
      tokens: sources(sc.workload, sc.target),
      expected: sc.expected,
      observe: { server: sc.target === "mp" ? [] : [server], upstream: mp },
    });
    const after = await scrapeVerifiedCache(metricsUrl);
    if (result.wrapped && sc.workload === "cold") coldWrapped = true;
    const counted = before.hits !== undefined && after.hits !== undefined;
    return {
      ...result,
      ...(sc.target === "mp" ? {} : { serverRssBytes: server.rssBytes() }),
      ...(counted
        ? { cacheHits: after.hits! - before.hits!, cacheMisses: (after.misses ?? 0) - (before.misses ?? 0) }
        : {}),
    };
  };

  // --- warm-up: every server, valid tokens (JIT, connections, JWKS fetched) -----------------------
  for (const target of targets.keys()) {
    if (!needed.has(target)) continue;
    const sc: Scenario = { ...SCENARIOS.find((x) => x.name === "warm")!, name: `warm-up ${target}`, target };
    const r = await runScenario(sc, { durationSec: warmupSec });
    log(`warm-up ${target.padEnd(16)} ${r.rps.toFixed(0)} req/s, errors ${r.errors} ${JSON.stringify(r.statuses)}`);
    // A cold warm-up too: it takes its tokens from the same cursor as the measured rounds (never repeated).
    const coldScenario = scenarios.find((x) => x.workload === "cold" && x.target === target);
    if (coldScenario) {
      const c = await runScenario({ ...coldScenario, name: `warm-up ${target} cold` }, { durationSec: warmupSec });
      log(`warm-up ${target.padEnd(16)} cold ${c.rps.toFixed(0)} req/s, errors ${c.errors}`);
    }
  }

  // --- interleaved rounds -------------------------------------------------------------------------
  const runs = new Map<string, LoadResult[]>(scenarios.map((x) => [x.name, []]));
  const jwksBefore = sumKeys(s);
  let floodFetches = 0;
  let floodSeconds = 0;
  const floodStart = performance.now();
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no scenario always follows the same one.
    const order = scenarios.map((_, i) => scenarios[(i + r * 3) % scenarios.length]!);
    for (const sc of order) {
      const keys0 = sumKeys(s);
      const result = await runScenario(sc);
      if (sc.name === "unknown-kid-flood") {
        floodFetches += sumKeys(s) - keys0;
        floodSeconds += result.seconds;
      }
      runs.get(sc.name)!.push(result);
      log(
        `round ${r + 1}/${rounds} ${sc.name.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} req/s  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}`,
      );
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  }
  const floodSpanSec = (performance.now() - floodStart) / 1000;
  const summaries = scenarios.map((sc) => summarise(sc.name, sc.group, sc.target, runs.get(sc.name)!));
  const byName = new Map(summaries.map((x) => [x.name, x]));

  // --- p99 added by authentication at half of peak load -------------------------------------------
  const halfLoad: Record<string, unknown> = {};
  const noauth = scenarios.find((x) => x.name === "proxy-noauth");
  for (const name of ["warm", "cold"] as const) {
    const sc = scenarios.find((x) => x.name === name);
    const peak = byName.get(name)?.rps;
    if (!sc || !noauth || !peak) continue;
    const rate = Math.max(1, Math.round(peak / 2));
    const a: LoadResult[] = [];
    const b: LoadResult[] = [];
    const paced = (x: Scenario) =>
      runPaced({
        url: urlOf(x.target),
        path: SMALL_PATH,
        rate,
        durationSec,
        tokens: sources(x.workload, x.target),
        expected: x.expected,
      });
    for (let r = 0; r < (quick ? 1 : 2); r++) {
      a.push(await paced(noauth));
      b.push(await paced(sc));
    }
    const base = summarise("proxy-noauth", "baseline", noauth.target, a);
    const withAuth = summarise(name, "gateway", sc.target, b);
    halfLoad[name] = {
      rate,
      proxyNoauth: { rps: round(base.rps, 1), p50Ms: round(base.p50Ms, 3), p99Ms: round(base.p99Ms, 3) },
      [name]: { rps: round(withAuth.rps, 1), p50Ms: round(withAuth.p50Ms, 3), p99Ms: round(withAuth.p99Ms, 3) },
      p50AddedMs: round(withAuth.p50Ms - base.p50Ms, 3),
      p99AddedMs: round(withAuth.p99Ms - base.p99Ms, 3),
    };
    log(
      `half load ${name}: ${rate} req/s → p99 ${base.p99Ms.toFixed(2)} ms (noauth) vs ${withAuth.p99Ms.toFixed(2)} ms (+${(withAuth.p99Ms - base.p99Ms).toFixed(2)} ms)`,
    );
  }

  // --- JWKS fetches during the unknown-kid flood ---------------------------------------------------
  const cooldownSec = 300;
  const jwksFlood = byName.has("unknown-kid-flood")
    ? {
        floodRequests: byName.get("unknown-kid-flood")!.requests,
        floodSeconds: round(floodSeconds, 1),
        roundsSpanSec: round(floodSpanSec, 1),
        jwksFetchesDuringFlood: floodFetches,
        jwksFetchesAllRounds: sumKeys(s) - jwksBefore,
        emulatorKeysStats: { ...s.entra.stats.keys },
        cooldownSec,
        allowedPerKeySet: Math.ceil(floodSpanSec / cooldownSec),
      }
    : undefined;
  if (jwksFlood) log(`unknown-kid flood: ${floodFetches} JWKS fetches for ${jwksFlood.floodRequests} requests`);

  // --- stop the single-worker servers before the phases that need the cores -----------------------
  await stopAll([...targets.entries()].filter(([t]) => t !== "mp").map(([, p]) => p));

  // --- RSS with 100 000 distinct cached tokens ----------------------------------------------------
  let rss: Record<string, unknown> | undefined;
  if (measureRss && cold.tokens.length >= 100_000) {
    log("RSS: a gateway with a 150 000-entry cache, 100 000 distinct tokens once, then a warm pass over them");
    const g = await startGateway("gateway-rss", true, 1, { cacheEntries: 150_000 });
    const sc: Scenario = { ...SCENARIOS.find((x) => x.name === "warm")!, target: "gateway" };
    const hundredK = cold.tokens.slice(0, 100_000);
    const url = g.ready.url!;
    const load = (tokens: TokenSource, opts: { amount?: number; durationSec?: number }) =>
      runLoad({
        url,
        path: SMALL_PATH,
        connections,
        tokens,
        expected: sc.expected,
        ...opts,
        observe: { server: [g], upstream: mp },
      });
    await load(cyclingSource(warm), { durationSec: warmupSec });
    const idleRss = g.rssBytes();
    const fill = await load(cyclingSource(hundredK), { amount: 100_000 });
    const pass = await load(cyclingSource(hundredK), { durationSec: Math.min(durationSec, 5) });
    const rssBytes = g.rssBytes();
    const cache = await scrapeVerifiedCache(g.ready.metricsUrl);
    const entries = cache.entries;
    rss = {
      idleMB: round(idleRss / 1_048_576, 1),
      with100kMB: round(rssBytes / 1_048_576, 1),
      verifiedCacheEntries: entries,
      verifiedCacheAccountedMB: cache.bytes === undefined ? undefined : round(cache.bytes / 1_048_576, 1),
      rssPerEntryBytes: entries ? Math.round((rssBytes - idleRss) / entries) : undefined,
      fillRps: round(fill.rps, 0),
      fillErrors: fill.errors,
      warmPassRps: round(pass.rps, 0),
      warmPassErrors: pass.errors,
      tokenBytes: warm[0]!.length,
    };
    log(`RSS: ${rss.idleMB} MB idle → ${rss.with100kMB} MB with ${entries} cached tokens`);
    await g.stop();
  }

  // --- the proxy alone: upstream legs and worker scaling over a near-free upstream ------------------
  let legs: UpstreamLeg[] | undefined;
  let scaling: WorkerScaling | undefined;
  if (proxyPhases) {
    if (haproxy === undefined) {
      log(`upstream-leg and ${workers}-worker phases skipped: they need Debian's haproxy (${HAPROXY_MISSING})`);
    } else {
      const upstream = await writeStaticUpstreamConfig(stateDir, s.tls.server);
      const upstreamProcess = await spawnServer({
        name: "static-upstream",
        program: "haproxy",
        args: ["-db", "-f", upstream.file],
        cpus: CLIENT_CPU,
        readyWhen: { port: upstream.httpPort, url: upstream.httpUrl },
      });
      processes.push(upstreamProcess);
      const cursors = new Map<string, { value: number }>();
      const deps: ProxyPhaseDeps = {
        upstream,
        upstreamProcess,
        rounds: Math.min(rounds, 3),
        warmupSec,
        workers: Math.max(2, workers),
        log,
        startGateway: (name, count, url) => startGateway(name, true, count, { upstreamUrl: url }),
        startBare: (url) => startBare(url),
        load: (server, workload, upstreamOf, seconds) => {
          let cursor = cursors.get(server.name);
          if (!cursor) {
            cursor = { value: 0 };
            cursors.set(server.name, cursor);
          }
          return runLoad({
            url: server.ready.url!,
            path: SMALL_PATH,
            connections,
            durationSec: seconds ?? durationSec,
            tokens: workload === "warm" ? cyclingSource(warm) : onceSource(cold.tokens, cursor),
            expected: [200],
            observe: { server: [server], upstream: upstreamOf },
          });
        },
        spread: (where) => {
          if (!multiCore) return;
          const cpuList =
            where === "client"
              ? CLIENT_CPU!
              : cpus()
                  .map((_, i) => i)
                  .join(",");
          pinSelf(cpuList);
          pinProcess(upstreamProcess.pid, cpuList);
        },
      };
      log("upstream legs: bare proxy and warm gateway over a plain and a TLS static upstream (HAProxy)");
      legs = await measureUpstreamLegs(deps);
      for (const l of legs)
        log(`${l.leg} upstream: gateway ${l.ratio} × bare proxy, +${l.extraCpuUsPerReq} µs CPU/req`);
      if (workers > 1 && cold.tokens.length > 0) {
        log(`worker scaling: 1 pinned worker, then ${deps.workers} unpinned, over the TLS static upstream`);
        scaling = await measureWorkerScaling(deps);
        log(
          `worker scaling: ${JSON.stringify(scaling.rpsScaling)} (gateway cores ${JSON.stringify(scaling.gatewayCores)})`,
        );
      }
      await upstreamProcess.stop();
    }
  }
  const multi = scaling ? [...scaling.one, ...scaling.many] : undefined;

  await stopAll(processes);
  const profiles = values.profile ? profileDir : undefined;

  // --- report -------------------------------------------------------------------------------------
  const loadAfter = loadavg();
  const machine = {
    cpu: cpus()[0]?.model ?? "?",
    cores: cpus().length,
    memoryGiB: round(totalmem() / 1_073_741_824, 1),
    kernel: release(),
    node: process.version,
    loadAverageBefore: loadBefore.map((x) => round(x, 2)),
    loadAverageAfter: loadAfter.map((x) => round(x, 2)),
    pinning: multiCore
      ? `servers on core ${SERVER_CPU}; load generator, emulator and MP simulator on core ${CLIENT_CPU}`
      : "none",
  };
  const versions: Record<string, string> = {
    "entra-gateway": versionOf("../"),
    fastify: versionOf("fastify"),
    undici: versionOf("undici"),
    jose: versionOf("jose"),
    autocannon: versionOf("autocannon"),
    ...(generator === "wrk" ? { wrk: wrkVersion() } : {}),
    express: versionOf("express"),
    "express-jwt": versionOf("express-jwt"),
    "jwks-rsa": versionOf("jwks-rsa"),
    "http-proxy-middleware": versionOf("http-proxy-middleware"),
    "@fastify/jwt": versionOf("@fastify/jwt"),
    "fast-jwt": versionOf("fast-jwt"),
    "get-jwks": versionOf("get-jwks"),
    "@fastify/reply-from": versionOf("@fastify/reply-from"),
    ...(haproxy ? { haproxy } : {}),
  };
  const settings = {
    quick,
    durationSec,
    rounds,
    connections,
    warmupSec,
    clientLeg: values.tls ? "https (gateway)" : "http",
    upstreamLeg: "https (MP simulator, client certificates off)",
    smallPath: SMALL_PATH,
    largePath: LARGE_PATH,
    contentConnections: CONTENT_CONNECTIONS,
    coldTokensAvailable: cold.tokens.length,
    coldTokensUsed: Object.fromEntries([...coldCursors].map(([t, c]) => [t, c.value])),
    coldPoolWrapped: coldWrapped,
    gatewayWorkers: 1,
    loadGenerator: generator === "wrk" ? "wrk -t1 (bench/wrk-tokens.lua)" : "autocannon (wrk not installed)",
    gatewayEntry: useCli
      ? "dist/gateway/main.js serve --log-level warn"
      : "dist/bench/serve-gateway.js (--log-level warn)",
  };
  const date = new Date().toISOString();
  const output = buildJson(summaries, {
    date,
    machine,
    versions,
    settings,
    scenarios: Object.fromEntries(
      summaries.map((x) => [
        x.name,
        {
          target: x.target,
          rounds: x.rounds,
          rpsMin: round(x.rpsMin, 1),
          rpsMax: round(x.rpsMax, 1),
          p90Ms: round(x.p90Ms, 3),
          requests: x.requests,
          serverCpuUsPerReq: round(x.serverCpuUsPerReq, 1),
          serverCore: round(x.serverCore, 2),
          generatorAndMpCore: round(x.clientCore, 2),
          mbPerSec: round(x.mbPerSec, 1),
          statuses: x.statuses,
        },
      ]),
    ),
    halfLoad,
    ...(jwksFlood ? { jwksFlood } : {}),
    ...(rss ? { rss } : {}),
    ...(legs
      ? {
          upstreamLegs: Object.fromEntries(
            legs.map((l) => [
              l.leg,
              {
                bare: jsonScenario(l.bare),
                warm: jsonScenario(l.warm),
                extraCpuUsPerReq: l.extraCpuUsPerReq,
                ratio: l.ratio,
              },
            ]),
          ),
        }
      : {}),
    ...(scaling && multi
      ? {
          // One pinned worker (core 0; wrk and the upstream on core 1) against N unpinned, over the static upstream.
          multiWorker: Object.fromEntries(
            multi.map((x) => [x.name, { ...jsonScenario(x), serverCore: round(x.serverCore, 2) }]),
          ),
          multiWorkerScaling: Object.fromEntries(
            Object.entries(scaling.rpsScaling).map(([w, v]) => [`${w} ×${scaling!.workers}/${w} ×1`, v]),
          ),
          multiWorkerGatewayCores: scaling.gatewayCores,
        }
      : {}),
    ...(profiles ? { profiles } : {}),
    elapsedSec: round((performance.now() - started) / 1000, 1),
  });
  const stamp = date.replace(/[:.]/g, "-");
  // Every row against the bare proxy (= 1.0); the bare proxy against the MP itself.
  const baseline = byName.has("bare-proxy") ? "bare-proxy" : "proxy-noauth";
  const ratioTo = (x: ScenarioSummary) =>
    x.name === "direct" || x.group === "content" ? undefined : x.name === baseline ? "direct" : baseline;
  const title = `entra-gateway bench — ${date.slice(0, 16)}Z, ${machine.cores} × ${machine.cpu}`;
  await writeFile(join(resultsDir, `${stamp}.json`), `${JSON.stringify(output, null, 2)}\n`);
  await writeFile(join(resultsDir, `${stamp}.svg`), svgChart(summaries, title));
  await writeFile(join(resultsDir, "latest.json"), `${JSON.stringify(output, null, 2)}\n`);
  await writeFile(join(resultsDir, "latest.svg"), svgChart(summaries, title));
  if (fullRun) {
    await writeFile(
      join(root, "bench", "RESULTS.md"),
      renderResultsMarkdown({
        output,
        summaries,
        multi,
        ...(legs ? { legs: legs.flatMap((l) => [l.bare, l.warm]) } : {}),
        ratioTo,
        title,
      }),
    );
    log("bench/RESULTS.md updated");
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(output)}\n`);
  } else {
    const out: string[] = [];
    out.push("", title, "", formatTable(summaries, ratioTo), "", "ratios (median req/s; content: MB/s):");
    for (const [k, v] of Object.entries(output.ratios)) out.push(`  ${k.padEnd(36)} ${v.toFixed(3)}`);
    for (const [k, v] of Object.entries(halfLoad)) {
      const h = v as { rate: number; p99AddedMs: number; p50AddedMs: number };
      out.push(
        `p99 added by authentication (${k}) at ${h.rate} req/s: ${h.p99AddedMs.toFixed(3)} ms (p50 ${h.p50AddedMs.toFixed(3)} ms)`,
      );
    }
    if (jwksFlood) {
      out.push(
        `unknown-kid flood: ${jwksFlood.jwksFetchesDuringFlood} JWKS fetches for ${jwksFlood.floodRequests} requests over ${jwksFlood.roundsSpanSec} s (cooldown ${cooldownSec} s)`,
      );
    }
    if (rss)
      out.push(
        `gateway RSS: ${rss.idleMB} MB idle, ${rss.with100kMB} MB with ${rss.verifiedCacheEntries} cached tokens`,
      );
    for (const l of legs ?? [])
      out.push(
        `${l.leg} static upstream: gateway warm ${l.ratio.toFixed(2)} × bare proxy, +${l.extraCpuUsPerReq} µs CPU/req`,
      );
    if (scaling && multi) {
      out.push(
        "",
        `workers (1 pinned vs ${scaling.workers} unpinned, static TLS upstream):`,
        formatTable(multi, () => undefined),
      );
      for (const [w, v] of Object.entries(scaling.rpsScaling))
        out.push(`  ${w} ×${scaling.workers} / ${w} ×1: ${v.toFixed(2)} (gateway cores ${scaling.gatewayCores[w]})`);
    }
    out.push(
      "",
      `load average before ${machine.loadAverageBefore.join(" ")}, after ${machine.loadAverageAfter.join(" ")}; ${machine.pinning}`,
      `results: ${join(resultsDir, `${stamp}.json`)} and .svg; elapsed ${output.details.elapsedSec} s`,
    );
    if (coldWrapped) out.push("warning: the cold token pool wrapped around: some cold requests were cache hits");
    process.stdout.write(`${out.join("\n")}\n`);
  }
}

function wrkVersion(): string {
  const r = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  return /wrk (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? "?";
}

function sumKeys(s: BenchStack): number {
  return Object.values(s.entra.stats.keys).reduce((a, b) => a + b, 0);
}

/** What the gateway's metrics listener says of its verified-token cache. */
interface VerifiedCacheView {
  readonly entries?: number;
  /** The cache's own byte accounting. */
  readonly bytes?: number;
  readonly hits?: number;
  readonly misses?: number;
}

/** Scrapes the verified cache's entries, bytes, hits and misses (nothing when there is no metrics URL). */
async function scrapeVerifiedCache(metricsUrl: string | undefined): Promise<VerifiedCacheView> {
  if (!metricsUrl) return {};
  try {
    const text = await (await fetch(`${metricsUrl.replace(/\/$/, "")}/metrics`)).text();
    const read = (metric: string) => {
      const m = new RegExp(`^entra_gateway_${metric}\\{cache="verified"\\} (\\d+)`, "m").exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const view = {
      entries: read("cache_entries"),
      bytes: read("cache_bytes"),
      hits: read("cache_hits_total"),
      misses: read("cache_misses_total"),
    };
    return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined));
  } catch {
    return {};
  }
}

try {
  if (!existsSync(join(dist, "bench", "serve-gateway.js"))) throw new Error("run `npm run build` first");
  await main();
  await stack?.stop();
  process.exit(0);
} catch (err) {
  log(`bench: ${(err as Error).stack ?? String(err)}`);
  await stopAll(processes);
  await stack?.stop();
  process.exit(1);
}
