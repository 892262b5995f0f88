/**
 * How is the standalone simulator configured? A YAML or JSON options file (validated in full: every problem
 * listed at once, unknown keys refused), or the discovery tenants of a `.state/stack.json` (docs/architecture.md § Interfaces).
 * Secrets are exactly one of `clientSecret` / `clientSecretFromEnv` / `clientSecretFromFile`.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { DiscoveryTenantOptions } from "./discovery.js";
import type { MpSimulatorOptions } from "./server.js";

const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a GUID");
const positive = z.number().int().positive();
const cloud = z.enum(["AzurePublicCloud", "AzureUSGovernmentCloud"]);

const tenantSchema = z
  .strictObject({
    tenantId: guid,
    clientId: guid,
    clientSecret: z.string().min(1).optional(),
    clientSecretFromEnv: z.string().min(1).optional(),
    clientSecretFromFile: z.string().min(1).optional(),
    cloud: cloud.default("AzurePublicCloud"),
    name: z.string().optional(),
  })
  .refine(
    (t) => [t.clientSecret, t.clientSecretFromEnv, t.clientSecretFromFile].filter((s) => s !== undefined).length === 1,
    { message: "exactly one of clientSecret, clientSecretFromEnv, clientSecretFromFile is required" },
  );

/** The options file's schema. */
export const mpConfigSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  clientCertificate: z
    .strictObject({
      mode: z.enum(["require", "optional", "off"]).optional(),
      allowedSubjects: z.array(z.string()).optional(),
    })
    .optional(),
  site: z
    .strictObject({
      siteCode: z
        .string()
        .regex(/^[A-Z0-9]{3}$/, "three upper-case letters or digits")
        .optional(),
      name: z.string().min(1).optional(),
      fqdn: z.string().min(1).optional(),
      buildNumber: positive.optional(),
    })
    .optional(),
  ccmTokenLifetimeSec: positive.optional(),
  bodyLimitBytes: positive.optional(),
  uploadLimitBytes: positive.optional(),
  content: z
    .strictObject({ defaultSizeBytes: z.number().int().min(0).optional(), maxSizeBytes: positive.optional() })
    .optional(),
  auditCapacity: positive.optional(),
  discovery: z
    .strictObject({
      authorityUrl: z.url({ protocol: /^https$/ }),
      graphUrl: z.url({ protocol: /^https$/ }),
      /** PEM file of the CA to trust; default: the state directory's CA. */
      caFile: z.string().optional(),
      knownAuthorities: z.array(z.string()).optional(),
      deltaIntervalMs: positive.optional(),
      fullSyncIntervalMs: positive.optional(),
      pageSize: z.number().int().min(1).max(999).optional(),
      retry: z.strictObject({ initialDelayMs: positive.optional(), maxDelayMs: positive.optional() }).optional(),
      requestTimeoutMs: positive.optional(),
      tenants: z.array(tenantSchema).min(1),
    })
    .optional(),
});

/** The options file as written. */
export type MpConfigFile = z.input<typeof mpConfigSchema>;

/** Thrown for an invalid options file; the message lists every problem. */
export class MpConfigError extends Error {}

async function resolveSecret(
  t: z.output<typeof tenantSchema>,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
  where: string,
): Promise<string> {
  if (t.clientSecret !== undefined) return t.clientSecret;
  if (t.clientSecretFromEnv !== undefined) {
    const value = env[t.clientSecretFromEnv];
    if (!value) problems.push(`${where}.clientSecretFromEnv: environment variable ${t.clientSecretFromEnv} is not set`);
    return value ?? "";
  }
  try {
    return (await readFile(resolve(baseDir, t.clientSecretFromFile!), "utf8")).trim();
  } catch (err) {
    problems.push(`${where}.clientSecretFromFile: ${(err as Error).message}`);
    return "";
  }
}

/** Options parsed from a file, minus the TLS material (the caller supplies it). */
export type MpFileOptions = Omit<MpSimulatorOptions, "tls" | "logger" | "now"> & {
  /** CA PEM read from `discovery.caFile`, if given. */
  readonly discoveryCaPem?: string;
};

/**
 * Validates an options document (already parsed from YAML/JSON). `baseDir` resolves relative file paths.
 * Throws {@link MpConfigError} listing every problem.
 */
export async function parseMpConfig(
  raw: unknown,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<MpFileOptions> {
  const parsed = mpConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new MpConfigError(`invalid mp-simulator options: ${problems.length} problem(s): ${problems.join("; ")}`);
  }
  const { discovery, ...rest } = parsed.data;
  if (!discovery) return rest as MpFileOptions;
  const problems: string[] = [];
  const tenants: DiscoveryTenantOptions[] = [];
  for (const [i, t] of discovery.tenants.entries()) {
    const clientSecret = await resolveSecret(t, baseDir, env, problems, `discovery.tenants.${i}`);
    tenants.push({
      tenantId: t.tenantId,
      clientId: t.clientId,
      clientSecret,
      cloud: t.cloud,
      ...(t.name ? { name: t.name } : {}),
    });
  }
  let discoveryCaPem: string | undefined;
  if (discovery.caFile) {
    try {
      discoveryCaPem = await readFile(resolve(baseDir, discovery.caFile), "utf8");
    } catch (err) {
      problems.push(`discovery.caFile: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new MpConfigError(`invalid mp-simulator options: ${problems.length} problem(s): ${problems.join("; ")}`);
  }
  const { caFile: _caFile, tenants: _tenants, ...discoveryRest } = discovery;
  return {
    ...(rest as Omit<MpFileOptions, "discovery">),
    discovery: { ...discoveryRest, tenants },
    ...(discoveryCaPem ? { discoveryCaPem } : {}),
  } as MpFileOptions;
}

/** Reads and validates a YAML or JSON options file. */
export async function loadMpConfigFile(path: string): Promise<MpFileOptions> {
  const text = await readFile(path, "utf8");
  let raw: unknown;
  try {
    raw = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new MpConfigError(`invalid mp-simulator options file ${path}: ${(err as Error).message}`);
  }
  return parseMpConfig(raw, dirname(resolve(path)));
}

/** The part of `.state/stack.json` discovery needs (docs/architecture.md § Interfaces). */
interface StackJson {
  entra?: { url?: unknown };
  tenants?: { id?: unknown; name?: unknown; cloud?: unknown; serverApp?: { clientId?: unknown; secret?: unknown } }[];
}

/**
 * Discovery options for every tenant of a `stack.json` that has a server app secret: the Entra emulator's
 * URL is both the authority and Graph.
 */
export function discoveryFromStack(raw: unknown): NonNullable<MpSimulatorOptions["discovery"]> {
  const stack = raw as StackJson;
  const url = stack?.entra?.url;
  if (typeof url !== "string") throw new MpConfigError("stack.json: entra.url is missing");
  const tenants: DiscoveryTenantOptions[] = [];
  for (const t of stack.tenants ?? []) {
    if (typeof t.id !== "string" || typeof t.serverApp?.clientId !== "string" || typeof t.serverApp.secret !== "string")
      continue;
    tenants.push({
      tenantId: t.id,
      clientId: t.serverApp.clientId,
      clientSecret: t.serverApp.secret,
      cloud: t.cloud === "AzureUSGovernmentCloud" ? "AzureUSGovernmentCloud" : "AzurePublicCloud",
      ...(typeof t.name === "string" ? { name: t.name } : {}),
    });
  }
  if (tenants.length === 0) throw new MpConfigError("stack.json: no tenant with a server app secret");
  return { authorityUrl: url, graphUrl: url, tenants };
}
