/**
 * What every `services` subcommand shares: the streams, the clock, the configuration file's location and a
 * tolerant reading of its services (list and show must work on a file that does not validate, to help fix it).
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { loadConfigFileSync, yamlErrorProblems } from "../config/load.js";
import { AzureServiceSchema, type ParsedAzureService } from "../config/schema.js";
import type { AzureService, GatewayConfig } from "../config/types.js";
import { formatProblems, type ValidateOptions } from "../config/validate.js";
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
  /**
   * `--json`: stdout carries one JSON document at the end (`{ok, command, …fields, messages, errors}`); the
   * lines of {@link CommandContext.out} and {@link CommandContext.err} go to stderr as they happen (a person
   * may have to act on them, e.g. a device code) and into `messages` / `errors`.
   */
  readonly json: boolean;
  /** Where questions go: stdout, or stderr with `--json`. */
  readonly promptOutput: NodeJS.WritableStream;
  out(line?: string): void;
  err(line: string): void;
  /** Adds fields to the `--json` document (ignored without `--json`). */
  result(fields: Readonly<Record<string, unknown>>): void;
  /** The `--json` document for this exit code. */
  jsonDocument(command: string, exitCode: number): Record<string, unknown>;
}

/** Environment variable naming the configuration file when `--config` is not given. */
export const CONFIG_ENV_VAR = "ENTRA_GATEWAY_CONFIG";

/**
 * Builds the context; the configuration file is `--config`, else `$ENTRA_GATEWAY_CONFIG`.
 *
 * @param io the invocation's streams
 * @param configFlag the `--config` value, if any
 * @param json whether `--json` was given
 * @returns the context, or undefined when no configuration file is named
 */
export function createCommandContext(
  io: ServicesIo,
  configFlag: string | undefined,
  json = false,
): CommandContext | undefined {
  const cwd = io.cwd ?? process.cwd();
  const given = configFlag ?? io.env[CONFIG_ENV_VAR];
  if (given === undefined || given === "") return undefined;
  const configPath = resolve(cwd, given);
  const now = io.now ?? Date.now;
  const messages: string[] = [];
  const errors: string[] = [];
  const fields: Record<string, unknown> = {};
  return {
    io,
    now,
    cwd,
    configPath,
    configDir: dirname(configPath),
    validateOptions: { env: io.env, now },
    json,
    promptOutput: json ? io.stderr : io.stdout,
    out: (line = "") => {
      if (json) messages.push(line);
      (json ? io.stderr : io.stdout).write(`${line}\n`);
    },
    err: (line) => {
      if (json) errors.push(line);
      io.stderr.write(`${line}\n`);
    },
    result: (more) => {
      Object.assign(fields, more);
    },
    jsonDocument: (command, exitCode) => ({
      ok: exitCode === 0,
      command,
      exitCode,
      configFile: configPath,
      ...fields,
      messages,
      errors,
    }),
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
  if (doc.errors.length > 0) throw new Error(yamlErrorProblems(doc.errors, text, path).join("; "));
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
 * Finds one service by what an operator knows it by: its service name, else its tenant ID, else its tenant
 * domain (all case-insensitive). A tenant ID or domain that several services share is ambiguous: the error
 * lists their names.
 *
 * @param services the candidates (a service without a tenant, e.g. one that does not parse, matches by name only)
 * @param key the name, tenant ID or tenant domain typed on the command line
 * @returns the service, or why none was chosen
 */
export function matchService<T extends { readonly name: string | undefined; readonly tenant?: NamedTenant }>(
  services: readonly T[],
  key: string,
): { readonly found: T } | { readonly error: string } {
  const wanted = key.toLowerCase();
  const byName = services.find((s) => s.name?.toLowerCase() === wanted);
  if (byName !== undefined) return { found: byName };
  for (const field of ["id", "name"] as const) {
    const matches = services.filter((s) => s.tenant?.[field].toLowerCase() === wanted);
    if (matches.length === 1 && matches[0] !== undefined) return { found: matches[0] };
    if (matches.length > 1) {
      return {
        error: `${JSON.stringify(key)} is the tenant ${field === "id" ? "ID" : "domain"} of ${matches.length} services (${matches.map((m) => JSON.stringify(m.name)).join(", ")}): name one of them`,
      };
    }
  }
  return { error: `no service named ${JSON.stringify(key)} (by service name, tenant domain or tenant ID)` };
}

interface NamedTenant {
  readonly id: string;
  readonly name: string;
}

/**
 * The entry {@link matchService} finds (by service name, tenant ID or tenant domain); prints why not and
 * returns undefined otherwise.
 *
 * @param ctx the command context
 * @param entries as read by {@link readServiceEntries}
 * @param key the name, tenant ID or tenant domain
 */
export function findEntry(
  ctx: CommandContext,
  entries: readonly ServiceEntry[],
  key: string,
): ServiceEntry | undefined {
  const match = matchService(
    entries.map((e) => ({ name: e.name, ...(e.service === undefined ? {} : { tenant: e.service.tenant }), entry: e })),
    key,
  );
  if ("found" in match) return match.found.entry;
  ctx.err(`${match.error} in ${ctx.configPath}`);
  return undefined;
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
 * Loads the configuration (which must validate as it is) and finds a service by name, tenant ID or tenant
 * domain ({@link matchService}); prints why not and returns undefined otherwise.
 *
 * @param ctx the command context
 * @param name the service name, tenant ID or tenant domain
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
  const match = matchService(current.config.azureServices, name);
  if ("error" in match) {
    ctx.err(match.error);
    return undefined;
  }
  return { config: current.config, service: match.found };
}
