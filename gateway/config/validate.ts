/**
 * Turns a parsed-but-untrusted configuration object into the gateway's immutable {@link GatewayConfig},
 * reporting *every* problem at once (schema and cross-field), the way fastify and oauth2-proxy do.
 *
 * The schema (`schema.ts`) parses; each section's rules live in `validate/<section>.ts` and write to one
 * problem collector (`validate/context.ts`); this module runs them all and freezes the result
 * (`types.ts` holds the resolved shapes).
 */
import { AzureServiceSchema, ConfigSchema, type ParsedConfig } from "./schema.js";
import { type AzureService, deepFreeze, type GatewayConfig } from "./types.js";
import { resolveAdmin } from "./validate/admin.js";
import { checkAuth } from "./validate/auth.js";
import { type ValidateOptions, ValidationContext } from "./validate/context.js";
import { resolveEnvironments } from "./validate/environments.js";
import { resolveListen } from "./validate/listen.js";
import { resolveManagementPoints } from "./validate/management-points.js";
import { resolveRoutes } from "./validate/routes.js";
import { checkServiceDetails, type IndexedService, resolveService } from "./validate/services.js";
import { resolveSharedState } from "./validate/shared-state.js";
import { resolveUpstream } from "./validate/upstream.js";

export type { ValidateOptions } from "./validate/context.js";

/** Outcome of {@link validateConfig}. */
export type ValidationResult =
  | { readonly ok: true; readonly config: GatewayConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[]; readonly warnings: readonly string[] };

/**
 * Formats problems as one message: `invalid configuration: 3 problems:` followed by one line per problem.
 *
 * @param problems as returned in a failed {@link ValidationResult}
 */
export function formatProblems(problems: readonly string[]): string {
  const head = `invalid configuration: ${problems.length} problem${problems.length === 1 ? "" : "s"}:`;
  return [head, ...problems.map((p) => `  - ${p}`)].join("\n");
}

/**
 * Validates a configuration object (as parsed from YAML or JSON) completely: schema (unknown keys refused),
 * the *Service details* rules, App ID URIs, environment templates, routes, secrets and files.
 *
 * @param raw the untrusted object
 * @param options where secrets and files come from
 * @returns the deep-frozen configuration and warnings, or every problem found
 * @example
 * const result = validateConfig(YAML.parse(text), { env: process.env });
 * if (!result.ok) throw new Error(formatProblems(result.problems));
 */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): ValidationResult {
  const ctx = new ValidationContext(options);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.addZodIssues(parsed.error.issues, "");
  }
  // Even when the whole file fails the schema, check the cross-field rules on the parts that parse on their
  // own, so one run lists every problem.
  const root: Partial<ParsedConfig> = parsed.success ? parsed.data : parseParts(raw);

  const services = parsed.success
    ? parsed.data.azureServices.map((service, index) => ({ index, service }))
    : parseServices(raw);
  const environments = root.environments === undefined ? undefined : resolveEnvironments(root.environments, ctx);
  const azureServices = services.map(({ index, service }) => resolveService(service, index, ctx));
  checkServiceDetails(services, ctx);
  const routes = resolveRoutes(root.routes, ctx);
  if (root.auth !== undefined) checkAuth(root.auth, ctx);
  const upstream = root.upstream === undefined ? undefined : resolveUpstream(root.upstream, ctx);
  const listen = root.listen === undefined ? undefined : resolveListen(root.listen, ctx);
  const admin = root.admin === undefined ? undefined : resolveAdmin(root.admin, ctx);
  const sharedState = root.sharedState === undefined ? undefined : resolveSharedState(root.sharedState, ctx);
  const managementPoints = resolveManagementPoints(root.managementPoints ?? [], upstream?.url ?? "", ctx);

  if (
    ctx.problems.length > 0 ||
    !parsed.success ||
    environments === undefined ||
    upstream === undefined ||
    listen === undefined ||
    admin === undefined
  ) {
    return { ok: false, problems: ctx.problems, warnings: ctx.warnings };
  }
  const config: GatewayConfig = {
    azureServices: azureServices.filter((s): s is AzureService => s !== undefined),
    environments,
    routes,
    auth: parsed.data.auth,
    upstream,
    managementPoints,
    listen,
    admin,
    metrics: parsed.data.metrics,
    sharedState,
  };
  return { ok: true, config: deepFreeze(config), warnings: Object.freeze(ctx.warnings) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseServices(raw: unknown): IndexedService[] {
  if (!isRecord(raw) || !Array.isArray(raw.azureServices)) return [];
  const out: IndexedService[] = [];
  raw.azureServices.forEach((candidate: unknown, index: number) => {
    const parsed = AzureServiceSchema.safeParse(candidate);
    if (parsed.success) out.push({ index, service: parsed.data });
  });
  return out;
}

function parseParts(raw: unknown): Partial<ParsedConfig> {
  if (!isRecord(raw)) return {};
  const out: Partial<ParsedConfig> = {};
  const shape = ConfigSchema.shape;
  const envs = shape.environments.safeParse(raw.environments);
  if (envs.success) out.environments = envs.data;
  const routes = shape.routes.safeParse(raw.routes);
  if (routes.success && routes.data !== undefined) out.routes = routes.data;
  const auth = shape.auth.safeParse(raw.auth);
  if (auth.success) out.auth = auth.data;
  const upstream = shape.upstream.safeParse(raw.upstream);
  if (upstream.success) out.upstream = upstream.data;
  const listen = shape.listen.safeParse(raw.listen);
  if (listen.success) out.listen = listen.data;
  const admin = shape.admin.safeParse(raw.admin);
  if (admin.success) out.admin = admin.data;
  const shared = shape.sharedState.safeParse(raw.sharedState);
  if (shared.success && shared.data !== undefined) out.sharedState = shared.data;
  const mps = shape.managementPoints.safeParse(raw.managementPoints);
  if (mps.success) out.managementPoints = mps.data;
  return out;
}
