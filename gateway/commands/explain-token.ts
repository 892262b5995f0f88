/**
 * `entra-gateway explain-token`: reads the configuration and a token on stdin, prints the walk of
 * `analyzer/explain-token.ts` (the authenticator's own trace) in words or as JSON.
 */

import { explainToken, formatExplanation } from "../analyzer/explain-token.js";
import {
  type CliIo,
  CONFIG_ENV,
  type CommandSpec,
  parseCommandLine,
  stringOption,
  writeJson,
} from "../command-line.js";
import { configFileArgument, readValidConfig } from "./config-file.js";

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
 * `explain-token [--config FILE] [--path PATH] [--json]`, token on stdin.
 *
 * @param argv arguments after the command name
 * @param io streams and environment
 * @returns 0 when the token would be accepted, 1 when refused, 2 on usage errors
 */
export async function explainTokenCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(EXPLAIN_TOKEN, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const file = configFileArgument(EXPLAIN_TOKEN, "explain-token", stringOption(parsed.values, "config"), io);
  if (typeof file !== "string") return file.exitCode;
  const config = await readValidConfig(file, parsed.json, io);
  if (config === undefined) return 1;
  const token = (await readAll(io.stdin)).trim().replace(/^bearer\s+/i, "");
  const path = stringOption(parsed.values, "path");
  const explanation = await explainToken({
    config,
    token: token === "" ? undefined : token,
    ...(path === undefined ? {} : { path }),
  });
  if (parsed.json) writeJson(io.stdout, explanation);
  else io.stdout.write(formatExplanation(explanation));
  return explanation.verdict.accepted ? 0 : 1;
}
