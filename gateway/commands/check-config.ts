/**
 * `entra-gateway check-config [FILE | --config FILE] [--json]`: validates a configuration file completely (`readConfig`, as
 * `serve` reads it) and prints every problem and warning at once.
 */
import {
  type CliIo,
  CONFIG_ENV,
  type CommandSpec,
  parseCommandLine,
  stringOption,
  usageError,
  writeJson,
} from "../command-line.js";
import { readConfig } from "../config/read.js";
import type { GatewayConfig } from "../config/types.js";
import { formatProblems } from "../config/validate.js";
import { configFileArgument } from "./config-file.js";

const CHECK_CONFIG: CommandSpec = {
  usage: "usage: entra-gateway check-config [FILE | --config FILE] [--json]",
  help: `usage: entra-gateway check-config [FILE | --config FILE] [--json]

Validates a configuration file completely and lists every problem at once; warnings go to stderr.
FILE (positional, or -c/--config FILE like the other commands) defaults to $${CONFIG_ENV}. Secrets (fromEnv, fromFile) are resolved, so run it with the environment
and files the gateway has.

  --json        one JSON object on stdout: {"ok", "file", "problems", "warnings", "services", "routes", …}
  -h, --help    this text

Exit codes: 0 valid, 1 invalid, 2 usage.`,
  options: { config: { type: "string", short: "c" } },
  positionals: { min: 0, max: 1 },
};

/**
 * `check-config [FILE | --config FILE] [--json]`.
 *
 * @param argv arguments after the command name
 * @param io streams and environment
 * @returns 0 when valid, 1 otherwise, 2 on usage errors
 */
export async function checkConfigCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(CHECK_CONFIG, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const flag = stringOption(parsed.values, "config");
  if (flag !== undefined && parsed.positionals[0] !== undefined) {
    return usageError(CHECK_CONFIG, "check-config: give FILE or --config FILE, not both", io.stderr).exitCode;
  }
  const file = configFileArgument(CHECK_CONFIG, "check-config", flag ?? parsed.positionals[0], io);
  if (typeof file !== "string") return file.exitCode;
  const read = await readConfig(file, { env: io.env });
  if (parsed.json) {
    writeJson(io.stdout, {
      ok: read.ok,
      file: read.path,
      problems: read.ok ? [] : read.problems,
      warnings: read.warnings,
      ...(read.ok ? summarize(read.config) : {}),
    });
    return read.ok ? 0 : 1;
  }
  for (const warning of read.warnings) io.stderr.write(`warning: ${warning}\n`);
  if (!read.ok) {
    io.stderr.write(`${formatProblems(read.problems)}\n`);
    return 1;
  }
  const s = summarize(read.config);
  io.stdout.write(
    `${read.path}: valid — ${s.services} service(s), ${s.cloudManagementTenants} cloud management tenant(s) (${s.disabledTenants} disabled), ${s.routes} route(s)\n`,
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
