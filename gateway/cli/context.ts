/**
 * What every `services` subcommand shares: the streams, the clock, the configuration file's location and a
 * tolerant reading of its services (list and show must work on a file that does not validate, to help fix it).
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { loadConfigFileSync } from "../config/load.js";
import { AzureServiceSchema, type ParsedAzureService } from "../config/schema.js";
import { type AzureService, formatProblems, type GatewayConfig, type ValidateOptions } from "../config/validate.js";
import { parseConfigDocument } from "../config/write.js";
import type { ApplyToRunningGateway } from "./gateway-seam.js";

/** Streams and environment of one `services` invocation. */
export interface ServicesIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Clock in epoch milliseconds (secret expiry status, new secret dates). Default `Date.now`. */
  readonly now?: () => number;
  /** Working folder for paths typed on the command line. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Reaches a running gateway (admin API); see `gateway-seam.ts`. */
  readonly applyToRunningGateway?: ApplyToRunningGateway;
}

/** A subcommand's view of the invocation. */
export interface CommandContext {
  readonly io: ServicesIo;
  readonly now: () => number;
  readonly cwd: string;
  /** Absolute path of the configuration file. */
  readonly configPath: string;
  readonly configDir: string;
  /** Options for `validateConfig` / `editConfigFile` (environment, clock). */
  readonly validateOptions: ValidateOptions;
  out(line?: string): void;
  err(line: string): void;
}

/** Environment variable naming the configuration file when `--config` is not given. */
export const CONFIG_ENV_VAR = "ENTRA_GATEWAY_CONFIG";

/**
 * Builds the context; the configuration file is `--config`, else `$ENTRA_GATEWAY_CONFIG`.
 *
 * @param io the invocation's streams
 * @param configFlag the `--config` value, if any
 * @returns the context, or undefined when no configuration file is named
 */
export function createCommandContext(io: ServicesIo, configFlag: string | undefined): CommandContext | undefined {
  const cwd = io.cwd ?? process.cwd();
  const given = configFlag ?? io.env[CONFIG_ENV_VAR];
  if (given === undefined || given === "") return undefined;
  const configPath = resolve(cwd, given);
  const now = io.now ?? Date.now;
  return {
    io,
    now,
    cwd,
    configPath,
    configDir: dirname(configPath),
    validateOptions: { env: io.env, now },
    out: (line = "") => {
      io.stdout.write(`${line}\n`);
    },
    err: (line) => {
      io.stderr.write(`${line}\n`);
    },
  };
}

/** One entry of `azureServices` as read from the file. */
export interface ServiceEntry {
  readonly index: number;
  /** The entry's name, even when it does not parse. */
  readonly name: string | undefined;
  /** The parsed entry (defaults applied), or undefined with `problems`. */
  readonly service: ParsedAzureService | undefined;
  readonly problems: readonly string[];
}

/**
 * Reads the file's services without resolving secrets or checking cross-service rules.
 *
 * @param path the configuration file
 * @throws Error when the file cannot be read or parsed
 */
export async function readServiceEntries(path: string): Promise<ServiceEntry[]> {
  const text = await readFile(path, "utf8");
  const doc = parseConfigDocument(text);
  if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const list =
    typeof raw === "object" && raw !== null && Array.isArray((raw as { azureServices?: unknown }).azureServices)
      ? ((raw as { azureServices: unknown[] }).azureServices as unknown[])
      : [];
  return list.map((item, index) => {
    const parsed = AzureServiceSchema.safeParse(item);
    const name =
      typeof item === "object" && item !== null && typeof (item as { name?: unknown }).name === "string"
        ? (item as { name: string }).name
        : undefined;
    return parsed.success
      ? { index, name, service: parsed.data, problems: [] }
      : {
          index,
          name,
          service: undefined,
          problems: parsed.error.issues.map((i) => `${i.path.join(".") || "(entry)"}: ${i.message}`),
        };
  });
}

/**
 * The named service (case-insensitive).
 *
 * @param entries as read by {@link readServiceEntries}
 * @param name the service name
 */
export function findEntry(entries: readonly ServiceEntry[], name: string): ServiceEntry | undefined {
  return entries.find((e) => e.name?.toLowerCase() === name.toLowerCase());
}

/**
 * Prints configuration problems, with a hint when a `fromEnv` secret is missing from the CLI's environment
 * (the CLI validates the whole file, so it needs the same variables as the gateway).
 *
 * @param ctx the command context
 * @param problems as returned by a failed validation
 */
export function reportProblems(ctx: CommandContext, problems: readonly string[]): void {
  ctx.err(formatProblems(problems));
  if (problems.some((p) => /environment variable \S+ is not set/.test(p))) {
    ctx.err(
      "hint: set the environment variables the configuration references (fromEnv) in this shell, as the gateway has them, so the whole file can be validated.",
    );
  }
}

/**
 * Loads the configuration (which must validate as it is) and finds a service by name, case-insensitively;
 * prints why not and returns undefined otherwise.
 *
 * @param ctx the command context
 * @param name the service name
 */
export function loadNamedService(
  ctx: CommandContext,
  name: string,
): { readonly config: GatewayConfig; readonly service: AzureService } | undefined {
  const current = loadConfigFileSync(ctx.configPath, ctx.validateOptions);
  if (!current.ok) {
    ctx.err(`${ctx.configPath} does not validate now; fix it first.`);
    reportProblems(ctx, current.problems);
    return undefined;
  }
  const service = current.config.azureServices.find((s) => s.name.toLowerCase() === name.toLowerCase());
  if (service === undefined) {
    ctx.err(`no service named ${JSON.stringify(name)}`);
    return undefined;
  }
  return { config: current.config, service };
}
