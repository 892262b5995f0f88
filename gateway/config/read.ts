/**
 * `readConfig()`: the one way every command reads the configuration file — `serve` (single process and
 * cluster primary alike), `check-config`, `explain-token` and the in-process stack. It reads the file,
 * parses it (YAML or JSON) and validates it completely, keeping the text: the reloader compares later texts
 * with it, and cluster workers validate that same text instead of reading the file themselves.
 *
 * @example
 * const read = await readConfig("gateway.yaml");
 * if (!read.ok) throw new Error(formatProblems(read.problems));
 * startSomething(read.config);
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { validateConfigTextAt } from "./load.js";
import type { GatewayConfig } from "./types.js";
import type { ValidateOptions } from "./validate.js";

/** A configuration file, read and validated. */
export type ConfigRead = {
  /** The file, as an absolute path. */
  readonly path: string;
  readonly warnings: readonly string[];
} & (
  | { readonly ok: true; readonly config: GatewayConfig; readonly text: string }
  | { readonly ok: false; readonly problems: readonly string[] }
);

/** A configuration file that was valid. */
export type ValidConfigRead = Extract<ConfigRead, { readonly ok: true }>;

/**
 * Reads and validates a configuration file; never throws (an unreadable file is a problem like any other).
 *
 * @param path YAML (`.yaml`, `.yml`) or JSON (`.json`); relative secret paths resolve against its folder
 * @param options environment and file access for secrets
 */
export async function readConfig(path: string, options: ValidateOptions = {}): Promise<ConfigRead> {
  const full = resolve(path);
  let text: string;
  try {
    text = await readFile(full, "utf8");
  } catch (err) {
    const code = err instanceof Error && "code" in err ? String(err.code) : "unreadable";
    return { ok: false, path: full, problems: [`cannot read configuration file ${full} (${code})`], warnings: [] };
  }
  const result = validateConfigTextAt(text, full, options);
  return result.ok
    ? { ok: true, path: full, config: result.config, text, warnings: result.warnings }
    : { ok: false, path: full, problems: result.problems, warnings: result.warnings };
}
