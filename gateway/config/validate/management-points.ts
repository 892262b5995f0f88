/** The `managementPoints` section: CMG MP/site IDs, each once, each with its origin. */
import type { ParsedConfig } from "../schema.js";
import type { ManagementPoint } from "../types.js";
import type { ValidationContext } from "./context.js";

/** Resolves the MP/site IDs; an ID without a `url` goes to `upstreamUrl`. */
export function resolveManagementPoints(
  entries: ParsedConfig["managementPoints"],
  upstreamUrl: string,
  ctx: ValidationContext,
): readonly ManagementPoint[] {
  const seen = new Set<string>();
  const out: ManagementPoint[] = [];
  entries.forEach((mp, index) => {
    if (seen.has(mp.id)) ctx.problem(`managementPoints[${index}].id`, `${mp.id} is listed twice`);
    seen.add(mp.id);
    out.push({ id: mp.id, url: mp.url ?? upstreamUrl });
  });
  return out;
}
