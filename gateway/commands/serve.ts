/**
 * `entra-gateway serve`: parses its options and hands them to the composition root (`runtime/start.ts`).
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import {
  type CliIo,
  CONFIG_ENV,
  type CommandSpec,
  parseCommandLine,
  stringOption,
  usageError,
} from "../command-line.js";
import { createLogger } from "../observability/logger.js";
import { configFileArgument } from "./config-file.js";

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

/**
 * `serve --config FILE [--workers N] [--state-dir DIR] [--no-watch] [--log-level L] [--json]`. A cluster
 * worker runs this same command line (node:cluster forks the entry with its arguments) and becomes a worker.
 *
 * @param argv arguments after the command name
 * @param io streams and environment
 * @returns the exit code, once the gateway has stopped
 */
export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(SERVE, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const file = configFileArgument(SERVE, "serve", stringOption(parsed.values, "config"), io);
  if (typeof file !== "string") return file.exitCode;
  const given = stringOption(parsed.values, "workers");
  const workers = given === undefined ? availableParallelism() : Number(given);
  if (!Number.isInteger(workers) || workers < 1) {
    return usageError(SERVE, "serve: --workers must be a positive integer", io.stderr).exitCode;
  }
  const logger = createLogger({ level: stringOption(parsed.values, "log-level") ?? io.env.LOG_LEVEL ?? "info" });
  try {
    // The server is loaded once the command line is known to be good: a usage error answers at once.
    const { serve } = await import("../runtime/start.js");
    return await serve({
      configPath: resolve(file),
      workers,
      stateDir: resolve(stringOption(parsed.values, "state-dir") ?? ".state"),
      watch: parsed.values["no-watch"] !== true,
      logger,
    });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "gateway did not start");
    if (parsed.json) io.stderr.write(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`);
    else io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}
