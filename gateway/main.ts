#!/usr/bin/env node
/**
 * `entra-gateway` — the operator CLI.
 *
 * ```
 * entra-gateway serve --config F [--workers N] [--state-dir D] [--no-watch] [--log-level L]
 * entra-gateway check-config [F] [--json]
 * entra-gateway explain-token [--config F] [--path P] [--json]      (token on stdin)
 * entra-gateway analyze --config F --tenant T [--user UPN | --device] [--json]   (the connection analyzer)
 * entra-gateway services …                                          (see `services --help`)
 * ```
 *
 * Every command takes `--help` and `--json` and is parsed strictly by `command-line.ts`: an unknown flag
 * prints the usage and exits 2.
 *
 * Signals (serve): SIGHUP reloads the configuration; SIGTERM and SIGINT drain in-flight requests and exit 0.
 * Exit codes: 0 ok, 1 invalid configuration or rejected token (`explain-token`), 2 usage.
 */
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { runPrimary, runWorker } from "./cluster.js";
import {
  type CommandSpec,
  parseCommandLine,
  stringOption,
  USAGE_EXIT_CODE,
  usageError,
  writeJson,
} from "./command-line.js";
import { loadConfigFile } from "./config/load.js";
import { formatProblems, type GatewayConfig } from "./config/validate.js";
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
  entra-gateway check-config [FILE] [--json]
  entra-gateway explain-token [--config FILE] [--path PATH] [--json]   (reads the token on stdin)
  entra-gateway analyze --config FILE --tenant T [--user UPN | --device] [--json]   (the connection analyzer)
  entra-gateway services <command> [...]                                (manage Azure services in the config file)
  entra-gateway <command> --help
`;

/** Environment variable naming the configuration file when `--config` is not given. */
export const CONFIG_ENV = "ENTRA_GATEWAY_CONFIG";

const SERVE: CommandSpec = {
  usage:
    "usage: entra-gateway serve --config FILE [--workers N] [--state-dir DIR] [--no-watch] [--log-level LEVEL] [--json]",
  help: `usage: entra-gateway serve --config FILE [options]

Starts the gateway, its admin API and its metrics listener; runs until SIGTERM or SIGINT (drains, exit 0).
SIGHUP reloads the configuration. Logs are JSON lines on stdout.

  -c, --config FILE      the configuration file (default $${CONFIG_ENV})
  --workers N            serving processes (default: the CPU count); 1 runs a single process
  --state-dir DIR        where the generated admin key and state live (default .state)
  --no-watch             do not watch the file (SIGHUP and the admin API still reload)
  --log-level LEVEL      trace, debug, info, warn, error, fatal (default $LOG_LEVEL or info)
  --json                 a failure to start is one JSON object on stderr: {"ok":false,"error":…}
  -h, --help             this text

Exit codes: 0 after a clean shutdown, 1 when the gateway cannot start (invalid configuration), 2 usage.`,
  options: {
    config: { type: "string", short: "c" },
    workers: { type: "string" },
    "state-dir": { type: "string" },
    "no-watch": { type: "boolean" },
    "log-level": { type: "string" },
  },
  positionals: { min: 0, max: 0 },
};

const CHECK_CONFIG: CommandSpec = {
  usage: "usage: entra-gateway check-config [FILE] [--json]",
  help: `usage: entra-gateway check-config [FILE] [--json]

Validates a configuration file completely and lists every problem at once; warnings go to stderr.
FILE defaults to $${CONFIG_ENV}. Secrets (fromEnv, fromFile) are resolved, so run it with the environment
and files the gateway has.

  --json        one JSON object on stdout: {"ok", "file", "problems", "warnings", "services", "routes", …}
  -h, --help    this text

Exit codes: 0 valid, 1 invalid, 2 usage.`,
  options: {},
  positionals: { min: 0, max: 1 },
};

const EXPLAIN_TOKEN: CommandSpec = {
  usage: "usage: entra-gateway explain-token [--config FILE] [--path PATH] [--json]   (token on stdin)",
  help: `usage: entra-gateway explain-token [--config FILE] [--path PATH] [--json]

Reads a token on stdin (with or without "Bearer ") and prints, step by step, what the gateway decides and
why. The token is never printed, only its SHA-256 fingerprint.

  -c, --config FILE    the configuration file (default $${CONFIG_ENV})
  --path PATH          the request path the client called (default /CCM_STS)
  --json               the explanation as one JSON object on stdout: {"path", "fingerprint", "steps", "verdict"}
  -h, --help           this text

Exit codes: 0 accepted, 1 rejected (or an invalid configuration), 2 usage.`,
  options: { config: { type: "string", short: "c" }, path: { type: "string" } },
  positionals: { min: 0, max: 0 },
};

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
  return text;
}

/**
 * `check-config [FILE] [--json]`: validates a configuration file completely; prints every problem and warning.
 *
 * @param argv arguments after the command name
 * @param io streams and environment
 * @returns 0 when valid, 1 otherwise, 2 on usage errors
 */
export async function checkConfig(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(CHECK_CONFIG, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const file = parsed.positionals[0] ?? io.env[CONFIG_ENV];
  if (file === undefined || file === "")
    return usageError(CHECK_CONFIG, `give FILE or set ${CONFIG_ENV}`, io.stderr).exitCode;
  const result = await loadConfigFile(file, { env: io.env });
  if (parsed.json) {
    const summary = result.ok ? summarize(result.config) : {};
    writeJson(io.stdout, {
      ok: result.ok,
      file: resolve(file),
      problems: result.ok ? [] : result.problems,
      warnings: result.warnings,
      ...summary,
    });
    return result.ok ? 0 : 1;
  }
  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);
  if (!result.ok) {
    io.stderr.write(`${formatProblems(result.problems)}\n`);
    return 1;
  }
  const s = summarize(result.config);
  io.stdout.write(
    `${resolve(file)}: valid — ${s.services} service(s), ${s.cloudManagementTenants} cloud management tenant(s) (${s.disabledTenants} disabled), ${s.routes} route(s)\n`,
  );
  return 0;
}

function summarize(config: GatewayConfig) {
  const cm = config.azureServices.filter((s) => s.type === "cloudManagement");
  return {
    services: config.azureServices.length,
    cloudManagementTenants: cm.length,
    disabledTenants: cm.filter((s) => s.disableAuthentication).length,
    routes: config.routes.length,
  };
}

/**
 * `explain-token [--config FILE] [--path PATH] [--json]`, token on stdin.
 *
 * @param argv arguments after the command name
 * @param io streams
 * @returns 0 when the token would be accepted, 1 when refused, 2 on usage errors
 */
export async function explainTokenCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(EXPLAIN_TOKEN, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const file = stringOption(parsed.values, "config") ?? io.env[CONFIG_ENV];
  if (file === undefined || file === "") {
    return usageError(EXPLAIN_TOKEN, `explain-token: --config FILE (or ${CONFIG_ENV}) is required`, io.stderr).exitCode;
  }
  const loaded = await loadConfigFile(file, { env: io.env });
  if (!loaded.ok) {
    if (parsed.json) writeJson(io.stdout, { ok: false, file: resolve(file), problems: loaded.problems });
    else io.stderr.write(`${formatProblems(loaded.problems)}\n`);
    return 1;
  }
  const token = (await readAll(io.stdin)).trim().replace(/^bearer\s+/i, "");
  const path = stringOption(parsed.values, "path");
  const explanation = await explainToken({
    config: loaded.config,
    token: token === "" ? undefined : token,
    ...(path === undefined ? {} : { path }),
  });
  if (parsed.json) writeJson(io.stdout, explanation);
  else io.stdout.write(formatExplanation(explanation));
  return explanation.verdict.accepted ? 0 : 1;
}

/** `serve`: one process (`--workers 1`) or a cluster primary. Resolves with the exit code on shutdown. */
async function serve(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(SERVE, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const values = {
    config: stringOption(parsed.values, "config"),
    workers: stringOption(parsed.values, "workers"),
    "state-dir": stringOption(parsed.values, "state-dir"),
    "no-watch": parsed.values["no-watch"],
    "log-level": stringOption(parsed.values, "log-level"),
  };
  const file = values.config ?? io.env[CONFIG_ENV];
  if (file === undefined) {
    return usageError(SERVE, `serve: --config FILE (or ${CONFIG_ENV}) is required`, io.stderr).exitCode;
  }
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    return usageError(SERVE, "serve: --workers must be a positive integer", io.stderr).exitCode;
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
    if (parsed.json) io.stderr.write(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`);
    else io.stderr.write(`${(err as Error).message}\n`);
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
    case "check-config":
      return checkConfig(rest, io);
    case "explain-token":
      return explainTokenCommand(rest, io);
    case "analyze": {
      const { analyzeCommand } = await import("./analyzer/analyze-command.js");
      return analyzeCommand(rest, io);
    }
    case "services": {
      const { runServicesCommand } = await import("./cli/services.js");
      const { adminApplyFromEnv } = await import("./cli/admin-apply.js");
      const applyToRunningGateway = adminApplyFromEnv(io.env);
      return runServicesCommand([...rest], applyToRunningGateway ? { ...io, applyToRunningGateway } : io);
    }
    case "help":
    case "--help":
    case "-h":
      io.stdout.write(USAGE);
      return 0;
    case undefined:
      io.stderr.write(USAGE);
      return USAGE_EXIT_CODE;
    default:
      io.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return USAGE_EXIT_CODE;
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
