#!/usr/bin/env node
/**
 * `npm run mp-sim -- [--config FILE] [--state-dir D] [--host H] [--port N] [--client-cert MODE]
 *   [--allowed-subject CN]… [--from-stack] [--stack-file FILE] [--log-level L]`
 *
 * Runs the management point simulator standalone over HTTPS with the TLS material of the state directory
 * (`.state/` by default: the server certificate, and the CA the gateway's client certificate chains to).
 * Options come from a YAML/JSON file, then flags; `--from-stack` configures Entra user discovery from
 * `.state/stack.json` (or `--stack-file`). Logs are pino JSON on stdout; serves until SIGINT/SIGTERM.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ensureTlsMaterial } from "../lib/pki.js";
import { discoveryFromStack, loadMpConfigFile, type MpFileOptions } from "./config.js";
import type { ClientCertificateMode } from "./identity.js";
import { type MpSimulatorOptions, startMpSimulator } from "./server.js";

const USAGE =
  "usage: mp-sim [--config FILE] [--state-dir D] [--host H] [--port N] [--client-cert require|optional|off]\n" +
  "              [--allowed-subject CN]... [--from-stack] [--stack-file FILE] [--log-level L]\n" +
  "Configuration Manager management point simulator: mTLS, CCM tokens, content, AdminService, Entra user discovery.\n";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    "state-dir": { type: "string", default: ".state" },
    host: { type: "string" },
    port: { type: "string" },
    "client-cert": { type: "string" },
    "allowed-subject": { type: "string", multiple: true },
    "from-stack": { type: "boolean", default: false },
    "stack-file": { type: "string" },
    "log-level": { type: "string", default: "info" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function fail(message: string, code = 2): never {
  process.stderr.write(`mp-sim: ${message}\n`);
  process.exit(code);
}

const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535))
  fail(`--port must be 0..65535, got ${values.port}`);
const mode = values["client-cert"];
if (mode !== undefined && !["require", "optional", "off"].includes(mode))
  fail(`--client-cert must be require, optional or off`);

const stateDir = resolve(values["state-dir"]);
const logger = pino({ level: values["log-level"], base: { service: "mp-simulator" } });
try {
  const tls = await ensureTlsMaterial(stateDir);
  const file: MpFileOptions = values.config ? await loadMpConfigFile(values.config) : {};
  const { discoveryCaPem, ...fromFile } = file;
  let discovery = fromFile.discovery;
  if (values["from-stack"] || values["stack-file"] !== undefined) {
    const stackPath = values["stack-file"] ?? join(stateDir, "stack.json");
    discovery = {
      ...discoveryFromStack(JSON.parse(await readFile(stackPath, "utf8"))),
      ...(discovery ? { ...discovery } : {}),
    };
  }
  const options: MpSimulatorOptions = {
    ...fromFile,
    tls,
    logger,
    ...(values.host ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    clientCertificate: {
      ...fromFile.clientCertificate,
      ...(mode ? { mode: mode as ClientCertificateMode } : {}),
      ...(values["allowed-subject"] ? { allowedSubjects: values["allowed-subject"] } : {}),
    },
    ...(discovery ? { discovery: { caPem: discoveryCaPem ?? tls.ca.cert, ...discovery } } : {}),
  };
  const mp = await startMpSimulator(options);
  process.stderr.write(
    `mp-simulator listening on ${mp.url} (client certificates: ${options.clientCertificate?.mode ?? "require"})\n`,
  );
  process.stderr.write(`  status: ${mp.url}/_mp/status   audit: ${mp.url}/_mp/audit\n`);
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "mp: stopping");
    await mp.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
} catch (err) {
  fail((err as Error).message, 1);
}
