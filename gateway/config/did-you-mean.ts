/**
 * "Did you mean …?" for unknown configuration keys: the known keys at the place of the typo (read from the
 * zod schema itself, so the list never drifts from it) and the closest one by edit distance.
 *
 * @example
 * closestKey("disableAuthentification", knownKeysAt(ConfigSchema, ["azureServices", 0])); // "disableAuthentication"
 */
import type { z } from "zod";

/**
 * The keys an object schema accepts at `path` (array indexes and wrappers such as optional/default are
 * walked through), or none when the path does not lead to an object.
 *
 * @param schema the root schema
 * @param path a zod issue path
 */
export function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (node === undefined) return [];
    const def = node._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    if (def.type === "object" && typeof segment === "string") node = unwrap(def.shape?.[segment]);
    else if (def.type === "array" && typeof segment === "number") node = unwrap(def.element);
    else return [];
  }
  const def = node?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === "object" && def.shape !== undefined ? Object.keys(def.shape) : [];
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let node = schema;
  for (let depth = 0; node !== undefined && depth < 10; depth++) {
    const def = node._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType !== undefined) node = def.innerType;
    else if (def.type === "pipe" && def.in !== undefined) node = def.in;
    else return node;
  }
  return node;
}

/**
 * The candidate closest to `word` (case-insensitive Levenshtein distance), when it is close enough to be a
 * typo: at most a third of the word's length, and at least 1 (2 for words of 6 characters or more).
 *
 * @param word the unknown key
 * @param candidates the known keys
 */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(word.length >= 6 ? 2 : 1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
