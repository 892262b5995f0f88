/**
 * Reads the configuration file (YAML or JSON) and validates it. The result is one immutable object:
 * a later hot reload (its own issue) builds a new one and swaps the reference atomically, keeping the last
 * good one when the new file is refused.
 */
import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parseDocument, type YAMLError } from "yaml";
import { type ValidateOptions, type ValidationResult, validateConfig } from "./validate.js";

/** Options of {@link loadConfigFileSync}; `baseDir` defaults to the file's directory. */
export type LoadOptions = ValidateOptions;

/**
 * Parses configuration text. JSON for `.json` files, YAML otherwise (YAML 1.2 core schema: `2026-01-01`
 * stays a string, duplicate keys are an error).
 *
 * @param text the file's content
 * @param fileName used to pick the format and in messages
 * @returns the parsed value, or the syntax problems
 */
export function parseConfigText(
  text: string,
  fileName: string,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: readonly string[] } {
  if (extname(fileName).toLowerCase() === ".json") {
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (err) {
      const message = (err as Error).message;
      // V8 names the offset ("… at position 42"); newer versions add "(line 3 column 5)" themselves.
      const offset = /at position (\d+)/.exec(message)?.[1];
      const where = offset === undefined ? fileName : `${fileName}:${lineColumn(text, Number(offset))}`;
      return { ok: false, problems: [`${where}: not valid JSON (${message})`] };
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { ok: false, problems: yamlErrorProblems(doc.errors, text, fileName) };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

/**
 * YAML syntax errors as problems that name the place: `gateway.yaml:12:5: Map keys must be unique`.
 *
 * @param errors the document's errors (`parseDocument(…).errors`)
 * @param text the source they point into
 * @param fileName the file, for the message
 */
export function yamlErrorProblems(errors: readonly YAMLError[], text: string, fileName: string): string[] {
  return errors.map((e) => `${fileName}:${lineColumn(text, e.pos[0])}: ${e.message.split("\n")[0]}`);
}

/** `line:column` (both 1-based) of an offset into `text`. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf("\n") + 1;
  const line = before.split("\n").length;
  return `${line}:${before.length - lineStart + 1}`;
}

/**
 * Reads and validates a configuration file synchronously, for the services CLI (`readConfig()` in
 * `read.ts` is the asynchronous way every other command reads it, keeping the text).
 *
 * @param path YAML or JSON file
 * @param options environment and file access for secrets; relative paths resolve against the file's folder
 */
export function loadConfigFileSync(path: string, options: LoadOptions = {}): ValidationResult {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, "utf8");
  } catch (err) {
    const code = err instanceof Error && "code" in err ? String(err.code) : "unreadable";
    return { ok: false, problems: [`cannot read configuration file ${full} (${code})`], warnings: [] };
  }
  return validateConfigTextAt(text, full, options);
}

/**
 * Validates configuration text as if it were the file at `path` (relative paths resolve against its folder):
 * the parse-and-validate every reader shares (`readConfig`, the reloader, a cluster worker, the services CLI).
 *
 * @param text the file's content
 * @param path the file it came from (format and base folder)
 * @param options environment and file access
 */
export function validateConfigTextAt(text: string, path: string, options: LoadOptions = {}): ValidationResult {
  const full = resolve(path);
  const parsed = parseConfigText(text, full);
  if (!parsed.ok) return { ok: false, problems: parsed.problems, warnings: [] };
  return validateConfig(parsed.value, { baseDir: dirname(full), ...options });
}
