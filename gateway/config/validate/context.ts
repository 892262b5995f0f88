/**
 * The problem collector every section's rules write to: problems (the configuration is refused) and
 * warnings (it is served), each prefixed with where in the file it was found, plus the one way a rule
 * reads a file the configuration names.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { z } from "zod";
import { closestKey, knownKeysAt } from "../did-you-mean.js";
import { ConfigSchema } from "../schema.js";

/** What `validateConfig` may touch outside the object it is given. */
export interface ValidateOptions {
  /** Environment variables for `fromEnv` secrets. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads a UTF-8 file, throwing when it cannot. Default: `fs.readFileSync`. */
  readonly readFile?: (path: string) => string;
  /** Relative paths in the file are resolved against this directory (the config file's). */
  readonly baseDir?: string;
  /** Clock for secret-expiry warnings. Default: `Date.now`. */
  readonly now?: () => number;
}

/** Collects every problem and warning of one validation run. */
export class ValidationContext {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => number;
  readonly #readFile: (path: string) => string;
  readonly #baseDir: string | undefined;

  constructor(options: ValidateOptions) {
    this.env = options.env ?? process.env;
    this.now = options.now ?? Date.now;
    this.#readFile = options.readFile ?? ((p) => readFileSync(p, "utf8"));
    this.#baseDir = options.baseDir;
  }

  /** Records a problem (the configuration is refused) at `where` (a key path; "" for none). */
  problem(where: string, message: string): void {
    this.problems.push(where === "" ? message : `${where}: ${message}`);
  }

  /** Records a warning (the configuration is served) at `where`. */
  warn(where: string, message: string): void {
    this.warnings.push(where === "" ? message : `${where}: ${message}`);
  }

  /** Records the schema's issues, each at its key path; an unknown key gets a did-you-mean when one is close. */
  addZodIssues(issues: readonly z.core.$ZodIssue[], prefix: string): void {
    for (const issue of issues) {
      const where = prefix + formatPath(issue.path);
      if (issue.code === "unrecognized_keys") {
        const known = knownKeysAt(ConfigSchema, issue.path);
        for (const key of issue.keys) {
          const suggestion = closestKey(key, known);
          this.problem(
            joinPath(where, key),
            suggestion === undefined ? "unknown key" : `unknown key (did you mean ${suggestion}?)`,
          );
        }
      } else {
        this.problem(where === "" ? "(root)" : where, issue.message);
      }
    }
  }

  /** Reads a file named in the config; a problem (not a throw) when it cannot. */
  read(where: string, path: string): string | undefined {
    const full = this.#baseDir === undefined || isAbsolute(path) ? path : join(this.#baseDir, path);
    try {
      return this.#readFile(full);
    } catch (err) {
      const code = err instanceof Error && "code" in err ? String(err.code) : "unreadable";
      this.problem(where, `cannot read file ${full} (${code})`);
      return undefined;
    }
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    out = typeof segment === "number" ? `${out}[${segment}]` : joinPath(out, String(segment));
  }
  return out;
}

function joinPath(base: string, key: string): string {
  return base === "" ? key : `${base}.${key}`;
}
