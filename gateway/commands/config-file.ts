/**
 * The configuration file a command works on: one place for `--config FILE` (or `FILE` where the command
 * takes it positionally) with `$ENTRA_GATEWAY_CONFIG` as the default, and for how an invalid file is
 * reported (every problem at once; one JSON document with `--json`).
 */
import { type CliIo, CONFIG_ENV, type CommandSpec, usageError, writeJson } from "../command-line.js";
import { readConfig } from "../config/read.js";
import type { GatewayConfig } from "../config/types.js";
import { formatProblems } from "../config/validate.js";

/**
 * The file named on the command line, else `$ENTRA_GATEWAY_CONFIG`; a usage error (exit code) when neither
 * names one.
 *
 * @param spec the command (its usage is printed with the error)
 * @param command its name, for the message
 * @param given `--config` (or the positional FILE), when the command line has one
 */
export function configFileArgument(
  spec: CommandSpec,
  command: string,
  given: string | undefined,
  io: CliIo,
): string | { readonly exitCode: number } {
  const file = given ?? io.env[CONFIG_ENV];
  if (file !== undefined && file !== "") return file;
  return usageError(spec, `${command}: --config FILE (or ${CONFIG_ENV}) is required`, io.stderr);
}

/**
 * Reads and validates `file`; when it is invalid, prints every problem (with `json`, as
 * `{"ok":false,"file","problems"}` on stdout) and resolves undefined: the command exits 1.
 */
export async function readValidConfig(file: string, json: boolean, io: CliIo): Promise<GatewayConfig | undefined> {
  const read = await readConfig(file, { env: io.env });
  if (read.ok) return read.config;
  if (json) writeJson(io.stdout, { ok: false, file: read.path, problems: read.problems });
  else io.stderr.write(`${formatProblems(read.problems)}\n`);
  return undefined;
}
