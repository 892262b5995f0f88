#!/usr/bin/env node
/**
 * `entra-gateway` — the operator CLI: parses the command name and hands the rest to its command
 * (`commands/`, `onboarding` for `services`).
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
import { resolve } from "node:path";
import { type CliIo, USAGE_EXIT_CODE } from "./command-line.js";

const USAGE = `usage:
  entra-gateway serve --config FILE [--workers N] [--state-dir DIR] [--no-watch] [--log-level LEVEL]
  entra-gateway check-config [FILE] [--json]
  entra-gateway explain-token [--config FILE] [--path PATH] [--json]   (reads the token on stdin)
  entra-gateway analyze --config FILE --tenant T [--user UPN | --device] [--json]   (the connection analyzer)
  entra-gateway services <command> [...]                                (manage Azure services in the config file)
  entra-gateway <command> --help
`;

/**
 * Runs the CLI.
 *
 * @param argv arguments after `node main.js`
 * @param io streams and environment
 * @returns the exit code
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  // Each command is loaded when it is run: a usage error or `check-config` does not load the server.
  switch (command) {
    case "serve":
      return (await import("./commands/serve.js")).serveCommand(rest, io);
    case "check-config":
      return (await import("./commands/check-config.js")).checkConfigCommand(rest, io);
    case "explain-token":
      return (await import("./commands/explain-token.js")).explainTokenCommand(rest, io);
    case "analyze":
      return (await import("./commands/analyze.js")).analyzeCommand(rest, io);
    case "services": {
      const { runServicesCommand } = await import("./onboarding/services.js");
      const { adminApplyFromEnv } = await import("./onboarding/admin-apply.js");
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
if (isEntry) {
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
  try {
    process.exitCode = await main(process.argv.slice(2), io);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
  }
  // Done (a one-shot command, serve after its shutdown, a cluster worker after its drain): do not linger on
  // open handles (stdin, sockets).
  process.exit(process.exitCode);
}
