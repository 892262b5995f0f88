#!/usr/bin/env node
/**
 * `npm start` (docs/architecture.md § Interfaces): the whole local stack on loopback — Entra ID emulator, management point simulator
 * and the gateway with the built-in default configuration — in a freshly generated `.state/` (the local CA
 * is kept between runs so a trusted `ca.crt` stays valid), then a short happy-path client simulation, its
 * summary, the URLs and a ready-to-paste `curl` with a fresh token. Serves until Ctrl-C / SIGTERM, then stops
 * every listener and exits.
 *
 * Options: `--state-dir D` (default `.state`), `--clients N` (default 30; 0 skips the simulation),
 * `--keep-state` (reuse everything in the state directory).
 */
import { readdir, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createHttpClient, jsonOf } from "../client-simulator/http.js";
import { createProgressLine } from "../client-simulator/progress.js";
import { renderSummary, runSimulation } from "../client-simulator/simulation.js";
import type { StackFile } from "../client-simulator/stack-file.js";
import { type AuthInfo, createTokenSource, loadDeviceKeys } from "../client-simulator/tokens.js";
import { startStack } from "./start-stack.js";

const startedAt = performance.now();
const { values } = parseArgs({
  options: {
    "state-dir": { type: "string", default: ".state" },
    clients: { type: "string", default: "30" },
    "keep-state": { type: "boolean", default: false },
  },
});
const stateDir = resolve(values["state-dir"]);
const clients = Number(values.clients);
if (!Number.isInteger(clients) || clients < 0) {
  process.stderr.write("npm start: --clients must be a non-negative integer\n");
  process.exit(2);
}

/** Everything but the local CA and the certificates issued by it goes: state is fresh on every start. */
async function freshState(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) {
    if (entry !== "tls") await rm(join(dir, entry), { recursive: true, force: true });
  }
}

/** A device token for the first device of the first tenant that has one, for the printed `curl`. */
async function sampleToken(stack: StackFile, caPem: string): Promise<{ token: string; tenant: string } | undefined> {
  const tenant = stack.tenants.find((t) => !t.disabled && t.adminServiceManagement !== true && t.devices.length > 0);
  if (!tenant) return undefined;
  const http = createHttpClient({ ca: caPem, connections: 2 });
  const tokens = createTokenSource({ http, caPem, deviceKeys: await loadDeviceKeys(http, stack.entra.url) });
  try {
    const res = await http.send({
      method: "GET",
      url: `${stack.gateway.url}/CCM_Proxy_ServerAuth/AADAuthInfo?TenantID=${tenant.id}`,
    });
    const info = jsonOf(res) as AuthInfo;
    const held = await tokens.deviceToken(info, tenant.cloud, tenant.devices[0]!.deviceId);
    return { token: held.token, tenant: tenant.name };
  } finally {
    await tokens.close();
    await http.close();
  }
}

if (!values["keep-state"]) await freshState(stateDir);
const logFile = join(stateDir, "stack.log");
const logger = pino({ level: "info" }, pino.destination({ dest: logFile, mkdir: true, sync: false }));
const stack = await startStack({ stateDir, logger });
const description = stack.description as unknown as StackFile;
const rel = (p: string) => relative(process.cwd(), p) || ".";

let verdictHolds = true;
if (clients > 0) {
  const progress = createProgressLine();
  const result = await runSimulation({
    stack: description,
    clients,
    scenario: "happy",
    hooks: { onProgress: (p) => progress.update(p) },
  });
  progress.done();
  verdictHolds = result.verdict.holds;
  process.stdout.write(`\n${renderSummary(result)}\n`);
}

const sample = await sampleToken(description, stack.tls.ca.cert).catch(() => undefined);
const ca = rel(description.caCert);
const g = description.gateway;
const firstEnabled = description.tenants.find((t) => !t.disabled);
const mps = description.mp.mps ?? [];
const mpSummary = `${mps
  .filter((m) => m.kind === "mp")
  .map((m) => `${m.url} (CMG ID ${m.id})`)
  .join(", ")}; site ID ${mps.find((m) => m.kind === "site")?.id ?? "-"}`;
const lines = [
  "",
  `entra-gateway local stack ${verdictHolds ? "ready" : "up, but the simulation's verdict does NOT hold"} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`,
  "",
  `  gateway        ${g.url}`,
  `  admin API      ${g.adminUrl || "(not configured)"}   key: ${rel(join(stateDir, "stack.json"))} → gateway.adminKey`,
  ...(g.adminUrl
    ? [`  console        ${g.adminUrl}/console   (sign in with the admin key; the browser will not know the local CA)`]
    : []),
  `  metrics        ${g.metricsUrl || "(not configured)"}`,
  `  Entra emulator ${description.entra.url}`,
  `  MP simulators  ${mpSummary} (mTLS: only the gateway gets in)`,
  "",
  `  files          ${rel(join(stateDir, "stack.json"))} (the stack), ${rel(stack.gatewayConfigFile)} (gateway config), ${ca} (CA), ${rel(logFile)} (logs)`,
  `  tenants        ${description.tenants.map((t) => `${t.name}${t.disabled ? " [auth disabled]" : ""}${t.adminServiceManagement ? " [Administration Service Management]" : ""}`).join(", ")}`,
  "",
];
if (sample) {
  lines.push(
    `Try it (a device token of ${sample.tenant}, valid for about an hour):`,
    "",
    `  curl --cacert ${ca} -X POST -H 'content-type: application/json' -d '{}' \\`,
    `    -H 'Authorization: Bearer ${sample.token}' \\`,
    `    ${g.url}${description.mp.mps?.[0] ? `/CCM_Proxy_MutualAuth/${description.mp.mps[0].id}` : ""}/CCM_STS`,
    "",
  );
}
if (g.adminUrl && firstEnabled) {
  lines.push(
    "Turn a tenant's Entra authentication off (and on again with /enable):",
    "",
    `  curl --cacert ${ca} -X POST -H 'Authorization: Bearer ${g.adminKey ?? ""}' \\`,
    `    ${g.adminUrl}/tenants/${firstEnabled.id}/disable`,
    "",
  );
}
lines.push(
  "More clients: npm run client-sim -- --clients 200   (scenarios: --scenario happy|disabled-tenant|key-rotation|idp-outage|bad-tokens)",
  "Ctrl-C stops the stack.",
  "",
);
process.stdout.write(lines.join("\n"));

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) {
    process.stderr.write(`\n${signal} again: exiting now\n`);
    process.exit(130);
  }
  stopping = true;
  process.stderr.write(`\n${signal}: stopping the stack…\n`);
  // Whatever still holds the event loop after a clean stop must not keep the process alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 5_000).unref();
  try {
    await stack.stop();
    logger.flush();
    process.stderr.write("stopped.\n");
    process.exitCode = 0;
  } catch (err) {
    process.stderr.write(`stop failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
