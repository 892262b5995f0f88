/**
 * Secrets are exactly one of `value`, `fromEnv` or `fromFile` (the schema checks that); here the variable or
 * file is read, and a missing or empty one is a problem.
 */
import { Secret } from "../secret.js";
import type { ValidationContext } from "./context.js";

/**
 * Resolves a secret source; a problem (and undefined) when its variable is unset or its file is unreadable or empty.
 *
 * @param source the parsed secret source
 * @param where the key path, for messages
 * @param ctx the run's problem collector
 */
export function resolveSecret(
  source: { value?: string | undefined; fromEnv?: string | undefined; fromFile?: string | undefined },
  where: string,
  ctx: ValidationContext,
): Secret | undefined {
  if (source.value !== undefined) return new Secret(source.value, "value");
  if (source.fromEnv !== undefined) {
    const value = ctx.env[source.fromEnv];
    if (value === undefined || value === "") {
      ctx.problem(where, `environment variable ${source.fromEnv} is not set`);
      return undefined;
    }
    return new Secret(value, "fromEnv", source.fromEnv);
  }
  if (source.fromFile !== undefined) {
    const text = ctx.read(where, source.fromFile);
    if (text === undefined) return undefined;
    // Secret files conventionally end with a newline (`echo s > file`, Kubernetes secrets do not).
    const value = text.replace(/\r?\n$/, "");
    if (value === "") {
      ctx.problem(where, `file ${source.fromFile} is empty`);
      return undefined;
    }
    return new Secret(value, "fromFile", source.fromFile);
  }
  return undefined;
}
