#!/usr/bin/env node
/**
 * `entra-gateway` — the operator CLI.
 *
 * ```
 * entra-gateway serve --config F [--workers N] [--state-dir D] [--no-watch] [--log-level L]
 * entra-gateway check-config F
 * entra-gateway explain-token [--config F] [--path P]      (token on stdin)
 * entra-gateway services …                                 (see `services --help`)
 * ```
 *
 * Signals (serve): SIGHUP reloads the configuration; SIGTERM and SIGINT drain in-flight requests and exit 0.
 * Exit codes: 0 ok, 1 invalid configuration or rejected token (`explain-token`), 2 usage.
 */
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import { runPrimary, runWorker } from "./cluster.js";
import { loadConfigFile } from "./config/load.js";
import { formatProblems } from "./config/validate.js";
import { createLogger } from "./observability/logger.js";
import { explainToken, formatExplanation } from "./operator/explain-token.js";
import { startGatewayService } from "./service.js";

/** Streams of one CLI invocation (tests pass their own). */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const USAGE = `usage:
  entra-gateway serve --config FILE [--workers N] [--state-dir DIR] [--no-watch] [--log-level LEVEL]
  entra-gateway check-config FILE
  entra-gateway explain-token [--config FILE] [--path PATH]   (reads the token on stdin)
  entra-gateway services <command> [...]                       (manage Azure services in the config file)
`;

/** Environment variable naming the configuration file when `--config` is not given. */
export const CONFIG_ENV = "ENTRA_GATEWAY_CONFIG";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return text;
}

/**
 * `check-config FILE`: validates a configuration file completely; prints every problem and warning.
 *
 * @param file the configuration file
 * @param io output streams
 * @returns 0 when valid, 1 otherwise
 */
export async function checkConfig(file: string, io: CliIo): Promise<number> {
  const result = await loadConfigFile(file);
  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  if (!result.ok) {
    io.stderr.write(`${formatProblems(result.problems)}\n`);
    return 1;
  }
  const cm = result.config.azureServices.filter((s) => s.type === "cloudManagement");
  io.stdout.write(
    `${resolve(file)}: valid — ${result.config.azureServices.length} service(s), ${cm.length} cloud management tenant(s) (${cm.filter((s) => s.disableAuthentication).length} disabled), ${result.config.routes.length} route(s)\n`,
  );
  return 0;
}

/**
 * `explain-token [--config FILE] [--path PATH]`, token on stdin.
 *
 * @param argv arguments after the command name
 * @param io streams
 * @returns 0 when the token would be accepted, 1 when refused, 2 on usage errors
 */
export async function explainTokenCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { config: { type: "string" }, path: { type: "string" } },
    allowPositionals: false,
  });
  const file = values.config ?? io.env[CONFIG_ENV];
  if (file === undefined) {
    io.stderr.write(`explain-token: --config FILE (or ${CONFIG_ENV}) is required\n`);
    return 2;
  }
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    io.stderr.write(`${formatProblems(loaded.problems)}\n`);
    return 1;
  }
  const token = (await readAll(io.stdin)).trim().replace(/^bearer\s+/i, "");
  const explanation = await explainToken({
    config: loaded.config,
    token: token === "" ? undefined : token,
    ...(values.path === undefined ? {} : { path: values.path }),
  });
  io.stdout.write(formatExplanation(explanation));
  return explanation.verdict.accepted ? 0 : 1;
}

/** `serve`: one process (`--workers 1`) or a cluster primary. Resolves with the exit code on shutdown. */
async function serve(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: "string" },
      workers: { type: "string" },
      "state-dir": { type: "string" },
      "no-watch": { type: "boolean" },
      "log-level": { type: "string" },
    },
    allowPositionals: false,
  });
  const file = values.config ?? io.env[CONFIG_ENV];
  if (file === undefined) {
    io.stderr.write(`serve: --config FILE (or ${CONFIG_ENV}) is required\n${USAGE}`);
    return 2;
  }
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    io.stderr.write("serve: --workers must be a positive integer\n");
    return 2;
  }
  const logger = createLogger({ level: values["log-level"] ?? io.env.LOG_LEVEL ?? "info" });
  const configPath = resolve(file);
  const stateDir = resolve(values["state-dir"] ?? ".state");
  const watch = values["no-watch"] !== true;
  // Workers re-run this file; they read their settings from the environment.
  process.env.ENTRA_GATEWAY_LOG_LEVEL = values["log-level"] ?? io.env.LOG_LEVEL ?? "info";
  try {
    if (workers > 1) {
      return await runPrimary({ configPath, workers, stateDir, logger, watch });
    }
    return await serveSingle(configPath, stateDir, watch, logger);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "gateway did not start");
    io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

async function serveSingle(configPath: string, stateDir: string, watch: boolean, logger: Logger): Promise<number> {
  const service = await startGatewayService({ configPath, stateDir, logger, watch, reloadOnSighup: true });
  logger.info(
    { url: service.gateway.url, adminUrl: service.admin?.url, metricsUrl: service.metrics?.url, workers: 1 },
    "gateway ready",
  );
  return new Promise<number>((done) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, "shutting down: draining in-flight requests");
      void service.stop().then(() => {
        logger.info("stopped");
        done(0);
      });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
}

/**
 * Runs the CLI.
 *
 * @param argv arguments after `node main.js`
 * @param io streams and environment
 * @returns the exit code
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest, io);
    case "check-config": {
      const file = rest[0] ?? io.env[CONFIG_ENV];
      if (file === undefined || rest.length > 1) {
        io.stderr.write(USAGE);
        return 2;
      }
      return checkConfig(file, io);
    }
    case "explain-token":
      return explainTokenCommand(rest, io);
    case "services": {
      const { runServicesCommand } = await import("./cli/services.js");
      const { adminApplyFromEnv } = await import("./cli/admin-apply.js");
      const applyToRunningGateway = adminApplyFromEnv(io.env);
      return runServicesCommand([...rest], applyToRunningGateway ? { ...io, applyToRunningGateway } : io);
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      io.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr.write(`unknown command ${command}\n${USAGE}`);
      return 2;
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${resolve(process.argv[1])}`).href;
if (cluster.isWorker) {
  await runWorker(createLogger({ level: process.env.ENTRA_GATEWAY_LOG_LEVEL ?? "info" }));
} else if (isEntry) {
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
  try {
    process.exitCode = await main(process.argv.slice(2), io);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
  }
  // Done (a one-shot command, or serve after its shutdown): do not linger on open handles (stdin, sockets).
  process.exit(process.exitCode);
}
