/**
 * The one argument parser of every command (`serve`, `check-config`, `explain-token`, `services …`): node's
 * strict `util.parseArgs`, plus what every command shares — `-h, --help` prints the command's help on stdout
 * (exit 0), `--json` asks for one JSON document on stdout, and an unknown flag, a missing value or a wrong
 * number of positionals prints the message and the usage on stderr (exit 2), never a stack trace.
 *
 * @example
 * const parsed = parseCommandLine(CHECK_CONFIG, argv, io);
 * if (parsed.exitCode !== undefined) return parsed.exitCode;
 * const [file] = parsed.positionals;
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

/** Streams and environment of one CLI invocation (tests pass their own). */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Environment variable naming the configuration file when `--config` is not given. */
export const CONFIG_ENV = "ENTRA_GATEWAY_CONFIG";

/** Option declarations as `util.parseArgs` takes them. */
export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/** What a command accepts. */
export interface CommandSpec {
  /** One line (or a few): `usage: entra-gateway check-config [FILE] [--json]`. */
  readonly usage: string;
  /** The full `--help` text (usage included). */
  readonly help: string;
  /** The command's own options; `--help` and `--json` are added. */
  readonly options: OptionSpecs;
  /** How many positionals the command takes. */
  readonly positionals: { readonly min: number; readonly max: number };
}

/** A parsed command line, or the exit code when parsing already answered (help, usage error). */
export type ParsedCommandLine =
  | {
      readonly exitCode: undefined;
      readonly values: Readonly<Record<string, string | boolean | undefined>>;
      readonly positionals: readonly string[];
      readonly json: boolean;
    }
  | { readonly exitCode: number };

const SHARED: OptionSpecs = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
};

/**
 * `util.parseArgs` refuses a string option's value that starts with `-` (`--secret-value -x~Q…`), yet
 * generated secrets do start with one. Such a value is joined to its option (`--secret-value=-x~Q…`) unless it
 * is itself one of the command's options, so `--config --json` still reads as a missing value.
 */
function joinDashValues(argv: readonly string[], options: OptionSpecs): string[] {
  const takesValue = new Set<string>();
  const known = new Set<string>(["--help", "-h", "--json"]);
  for (const [name, spec] of Object.entries(options)) {
    known.add(`--${name}`);
    if (spec.short !== undefined) known.add(`-${spec.short}`);
    if (spec.type === "string") {
      takesValue.add(`--${name}`);
      if (spec.short !== undefined) takesValue.add(`-${spec.short}`);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (takesValue.has(arg) && next?.startsWith("-") && next !== "--" && !known.has(next)) {
      // Long options take `--name=value`; a short one takes its value glued on (`-c-value`).
      out.push(arg.startsWith("--") ? `${arg}=${next}` : `${arg}${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Exit code of a usage error (unknown flag, missing argument). */
export const USAGE_EXIT_CODE = 2;

/**
 * Parses a command's arguments strictly.
 *
 * @param spec what the command accepts
 * @param argv the arguments after the command name
 * @param io where help (stdout) and usage errors (stderr) go
 */
export function parseCommandLine(
  spec: CommandSpec,
  argv: readonly string[],
  io: { readonly stdout: NodeJS.WritableStream; readonly stderr: NodeJS.WritableStream },
): ParsedCommandLine {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinDashValues(argv, spec.options),
      options: { ...spec.options, ...SHARED },
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (err) {
    // node adds advice on `--` for unknown options; the usage line says more to the point.
    return usageError(spec, (err as Error).message.replace(/\. To specify a positional argument.*$/s, ""), io.stderr);
  }
  if (parsed.values.help === true) {
    io.stdout.write(withNewline(spec.help));
    return { exitCode: 0 };
  }
  const count = parsed.positionals.length;
  if (count < spec.positionals.min) return usageError(spec, "missing argument", io.stderr);
  if (count > spec.positionals.max) {
    return usageError(
      spec,
      `unexpected argument ${JSON.stringify(parsed.positionals[spec.positionals.max])}`,
      io.stderr,
    );
  }
  return {
    exitCode: undefined,
    values: parsed.values,
    positionals: parsed.positionals,
    json: parsed.values.json === true,
  };
}

/**
 * Prints a usage error (the message, then the usage) and answers its exit code.
 *
 * @param spec the command
 * @param message what was wrong
 * @param stderr where it goes
 */
export function usageError(spec: CommandSpec, message: string, stderr: NodeJS.WritableStream): { exitCode: number } {
  stderr.write(`${withNewline(message)}${withNewline(spec.usage)}(--help for more)\n`);
  return { exitCode: USAGE_EXIT_CODE };
}

/**
 * Writes one JSON document (pretty, newline-terminated).
 *
 * @param stream usually stdout
 * @param value anything JSON can hold
 */
export function writeJson(stream: NodeJS.WritableStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A string option's value, or undefined. */
export function stringOption(values: Readonly<Record<string, string | boolean | undefined>>, name: string) {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
