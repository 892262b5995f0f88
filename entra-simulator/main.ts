#!/usr/bin/env node
/**
 * `npm run entra-sim -- [--port N] [--host H] [--state-dir D] [--seed FILE] [--no-control]`
 *
 * Runs the Entra ID emulator standalone over HTTPS with TLS material and signing keys under the state
 * directory (`.state/` by default), prints its URL and tenants, and serves until SIGINT/SIGTERM.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureTlsMaterial } from "../lib/pki.js";
import { loadSeedFile } from "./seed.js";
import { startEntraSimulator } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "state-dir": { type: "string", default: ".state" },
    seed: { type: "string" },
    "no-control": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: entra-sim [--port N] [--host H] [--state-dir D] [--seed FILE] [--no-control]\n" +
      "Offline Entra ID emulator: discovery, JWKS, token endpoints, Microsoft Graph, /_sim/ control API.\n",
  );
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`entra-sim: --port must be 0..65535, got ${values.port}\n`);
  process.exit(2);
}

const stateDir = resolve(values["state-dir"]);
try {
  const tls = await ensureTlsMaterial(stateDir);
  const sim = await startEntraSimulator({
    tls: tls.server,
    host: values.host,
    port,
    signingKeysFile: join(stateDir, "entra", "signing-keys.json"),
    controlApi: !values["no-control"],
    ...(values.seed ? { seed: await loadSeedFile(values.seed) } : {}),
  });
  process.stdout.write(`entra-simulator listening on ${sim.url}\n`);
  process.stdout.write(`  CA certificate: ${join(stateDir, "tls", "ca.crt")}\n`);
  process.stdout.write(`  signing keys:   ${join(stateDir, "entra", "signing-keys.json")}\n`);
  for (const t of sim.directory.tenants) {
    process.stdout.write(
      `  tenant ${t.id}  ${t.cloud.padEnd(22)} ${t.name} (${t.users.length} users, ${t.devices.length} devices)\n`,
    );
  }
  const shutdown = async (signal: string) => {
    process.stdout.write(`entra-simulator: ${signal}, stopping\n`);
    await sim.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
} catch (err) {
  process.stderr.write(`entra-sim: ${(err as Error).message}\n`);
  process.exit(1);
}
