/**
 * Turns a parsed-but-untrusted configuration object into the gateway's immutable {@link GatewayConfig},
 * reporting *every* problem at once (schema and cross-field), the way fastify and oauth2-proxy do.
 *
 * Cross-field rules are the Azure Services Wizard's *Service details* table (docs/architecture.md § Configuration model):
 *
 * | service | tenants | clouds | web app | native app | actions |
 * |---|---|---|---|---|---|
 * | cloud management | many, each distinct | public, US Gov | yes | yes | import, create |
 * | Administration Service Management (CM 2207+, CMG VMSS only) | one per cloud management tenant | as that tenant | yes | yes | import, create |
 * | Log Analytics | one | public, US Gov | yes | no | import (removed in CM 2107: warning) |
 * | Store for Business | one | public | yes | no | import, create |
 *
 * plus App ID URI formats, secrets resolved (`fromEnv`, `fromFile`), file paths read, and template sanity.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { z } from "zod";
import { closestKey, knownKeysAt } from "./did-you-mean.js";
import {
  type AuthSettings,
  AzureServiceSchema,
  ConfigSchema,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_ROUTES,
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  type EnvironmentTemplates,
  GUID_PATTERN,
  type MetricsSettings,
  type ParsedAzureService,
  type ParsedConfig,
  type ParsedSharedState,
  type RouteRequirement,
  type ServiceType,
} from "./schema.js";
import { Secret } from "./secret.js";

/** Recursively readonly view of a value. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends Secret
    ? T
    : T extends ReadonlyArray<infer U>
      ? ReadonlyArray<DeepReadonly<U>>
      : T extends object
        ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
        : T;

/** The server app with its secret resolved. GUIDs are lower-cased (Entra emits lower case). */
export interface WebApp {
  readonly name: string;
  readonly clientId: string;
  readonly appIdUri: string;
  readonly secret: Secret;
  /** As written in the file. */
  readonly secretExpiry: string | undefined;
  /** `secretExpiry` as epoch milliseconds. */
  readonly secretExpiresAtMs: number | undefined;
  readonly origin: "imported" | "created";
}

/** The client (native) app. */
export interface NativeApp {
  readonly name: string;
  readonly clientId: string;
}

/** One Azure service, resolved. */
export interface AzureService {
  readonly name: string;
  readonly description: string;
  readonly type: ServiceType;
  readonly environment: EnvironmentName;
  /**
   * Deprecated cloud-management flag (see `schema.ts`): `true` takes `/AdminService/` away from this
   * tenant's cloud management tokens, like an `adminServiceManagement` service does.
   */
  readonly adminServiceManagement: boolean;
  readonly tenant: { readonly id: string; readonly name: string };
  readonly webApp: WebApp;
  readonly nativeApp: NativeApp | undefined;
  readonly disableAuthentication: boolean;
}

/** An environment with defaults and overrides merged and its CA read. */
export interface Environment extends EnvironmentTemplates {
  readonly name: EnvironmentName;
  /** PEM of the CA to trust for the authority's TLS, when one is configured. */
  readonly ca: string | undefined;
}

/** A route rule, resolved. */
export interface Route {
  readonly prefix: string;
  readonly requirement: RouteRequirement;
  readonly forwardAuthorization: boolean;
  /** Extra accepted client apps (lower-case GUIDs) besides the tenant's own native app. */
  readonly clientApps: readonly string[];
  /** A scope `scp` must contain, when set. */
  readonly requiredScope: string | undefined;
  /** App-only tokens accepted here. */
  readonly allowAppOnly: boolean;
}

/** One CMG MP/site ID and the origin its requests go to. */
export interface ManagementPoint {
  readonly id: string;
  /** `upstream.url` when the file gives none. */
  readonly url: string;
}

/** The upstream management point, with its files read. */
export interface Upstream {
  readonly url: string;
  readonly ca: string | undefined;
  readonly clientCert: string | undefined;
  readonly clientKey: Secret | undefined;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly connections: number;
  readonly unauthenticatedConnections: number;
  readonly queueTimeoutMs: number;
  readonly maxQueuedRequests: number;
}

/** The gateway's listener, with its files read. */
export interface Listen {
  readonly host: string;
  readonly port: number;
  readonly cert: string | undefined;
  readonly key: Secret | undefined;
  readonly bodyLimitBytes: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly bodyMinBytesPerSec: number;
  readonly maxConnections: number;
  readonly drainTimeoutMs: number;
}

/** The admin API's listener, with its key resolved. */
export interface Admin {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
  /** Undefined: `serve` generates a key into its state directory. */
  readonly key: Secret | undefined;
}

/** The shortest admin key accepted (characters). */
export const MIN_ADMIN_KEY_LENGTH = 32;

/** The validated, resolved, deep-frozen configuration. Swap it as a whole; never mutate it. */
export interface GatewayConfig {
  readonly azureServices: readonly AzureService[];
  readonly environments: Readonly<Record<EnvironmentName, Environment>>;
  readonly routes: readonly Route[];
  readonly auth: DeepReadonly<AuthSettings>;
  readonly upstream: Upstream;
  /** CMG MP/site IDs; empty: every ID goes to `upstream`. */
  readonly managementPoints: readonly ManagementPoint[];
  readonly listen: Listen;
  readonly admin: Admin;
  readonly metrics: DeepReadonly<MetricsSettings>;
  /** Runtime tenant state shared through Redis; undefined: the state directory. */
  readonly sharedState: SharedState | undefined;
}

/** The `sharedState` section, resolved. */
export interface SharedState {
  /** Without user information beyond a user name: safe to log. */
  readonly redisUrl: string;
  readonly password: Secret | undefined;
  readonly keyPrefix: string;
}

/** Outcome of {@link validateConfig}. */
export type ValidationResult =
  | { readonly ok: true; readonly config: GatewayConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[]; readonly warnings: readonly string[] };

/** What {@link validateConfig} may touch outside the object it is given. */
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

/** Warn this long before a web app secret expires (CM 2006+ console notification). */
export const SECRET_EXPIRY_WARNING_MS = 30 * 86_400_000;

const SAMPLE_TENANT = "00000000-0000-4000-8000-000000000000";
const AUTHORITY_HOST_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$/;

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
  const ctx = new Context(options);
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

class Context {
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

  problem(where: string, message: string): void {
    this.problems.push(where === "" ? message : `${where}: ${message}`);
  }

  warn(where: string, message: string): void {
    this.warnings.push(where === "" ? message : `${where}: ${message}`);
  }

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

interface IndexedService {
  readonly index: number;
  readonly service: ParsedAzureService;
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

function serviceWhere(index: number, service: ParsedAzureService): string {
  return `azureServices[${index}] (${JSON.stringify(service.name)})`;
}

function resolveService(service: ParsedAzureService, index: number, ctx: Context): AzureService | undefined {
  const where = serviceWhere(index, service);
  const tenantId = service.tenant.id.toLowerCase();
  const secret = resolveSecret(service.webApp.secret, `${where}.webApp.secret`, ctx);
  checkAppIdUri(service.webApp.appIdUri, tenantId, service.webApp.clientId, `${where}.webApp.appIdUri`, ctx);

  let secretExpiresAtMs: number | undefined;
  if (service.webApp.secretExpiry !== undefined) {
    secretExpiresAtMs = Date.parse(service.webApp.secretExpiry);
    const left = secretExpiresAtMs - ctx.now();
    if (left <= 0) {
      ctx.warn(`${where}.webApp.secretExpiry`, `the web app secret expired on ${service.webApp.secretExpiry}`);
    } else if (left <= SECRET_EXPIRY_WARNING_MS) {
      ctx.warn(`${where}.webApp.secretExpiry`, `the web app secret expires on ${service.webApp.secretExpiry}`);
    }
  }
  if (
    service.nativeApp !== undefined &&
    service.nativeApp.clientId.toLowerCase() === service.webApp.clientId.toLowerCase()
  ) {
    ctx.warn(where, "nativeApp and webApp are the same app registration; CM expects a separate public client app");
  }
  if (secret === undefined) return undefined;
  return {
    name: service.name,
    description: service.description,
    type: service.type,
    environment: service.environment,
    adminServiceManagement: service.adminServiceManagement,
    tenant: { id: tenantId, name: service.tenant.name },
    webApp: {
      name: service.webApp.name,
      clientId: service.webApp.clientId.toLowerCase(),
      appIdUri: service.webApp.appIdUri,
      secret,
      secretExpiry: service.webApp.secretExpiry,
      secretExpiresAtMs,
      origin: service.webApp.origin,
    },
    nativeApp:
      service.nativeApp === undefined
        ? undefined
        : { name: service.nativeApp.name, clientId: service.nativeApp.clientId.toLowerCase() },
    disableAuthentication: service.disableAuthentication,
  };
}

function resolveSecret(
  source: { value?: string | undefined; fromEnv?: string | undefined; fromFile?: string | undefined },
  where: string,
  ctx: Context,
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

/** The identifier URI forms Entra allows for the web app, as the refusal message lists them. */
const APP_ID_URI_FORMS =
  "api://{clientId}, api://{tenantId}/{clientId}, api://{tenantId}/{name}, api://{name}/{clientId}, " +
  "api://{verified-domain}/{name}, https://{verified-domain}/{name}, https://{name}.{verified-domain}[/{name}] " +
  "(or the old default https://ConfigMgrService)";

/**
 * App ID URI rules: every identifier URI form Entra allows for an app (Microsoft identity platform,
 * "Restrictions on identifier URIs") is accepted, since an imported app may carry any of them; CM's old
 * default `https://ConfigMgrService` still works with a warning (Azure Services Wizard); anything else is
 * refused. Which domains a tenant verified is Entra's knowledge, so a domain here is any dotted host, and a
 * path-less https URI needs a subdomain (`https://{name}.{domain}`). See docs/architecture.md § Identifier URIs.
 */
function checkAppIdUri(uri: string, tenantId: string, clientId: string, where: string, ctx: Context): void {
  if (/^https:\/\/ConfigMgrService\/?$/i.test(uri)) {
    ctx.warn(
      where,
      "the old default App ID URI https://ConfigMgrService is accepted, but api://{tenantId}/{name} or https://{verified-domain}/{name} is recommended",
    );
    return;
  }
  const api = /^api:\/\/([^/?#\s]+)(?:\/([^?#\s]*))?$/i.exec(uri);
  if (api !== null) {
    const host = api[1]!.toLowerCase();
    const name = (api[2] ?? "").replace(/\/+$/, "");
    const app = clientId.toLowerCase();
    if (name === "") {
      if (host !== app) ctx.problem(where, `api:// App ID URI without a path must be api://{clientId}, got ${uri}`);
      return;
    }
    if (host === tenantId || name.toLowerCase() === app) return;
    if (GUID_PATTERN.test(host)) {
      ctx.problem(where, `api:// App ID URI names tenant ${host}, not this service's tenant ${tenantId}`);
    } else if (!isDottedHost(host)) {
      ctx.problem(where, `App ID URI must be one of ${APP_ID_URI_FORMS}, got ${uri}`);
    }
    return;
  }
  if (uri.startsWith("https://")) {
    if (!isDomainAppIdUri(uri)) ctx.problem(where, `App ID URI must be one of ${APP_ID_URI_FORMS}, got ${uri}`);
    return;
  }
  ctx.problem(where, `App ID URI must be one of ${APP_ID_URI_FORMS}, got ${uri}`);
}

/** A DNS name with at least two labels (a domain one could verify), no port. */
function isDottedHost(host: string): boolean {
  return /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i.test(host);
}

/**
 * `https://{domain}/{name}` or `https://{name}.{domain}[/{name}]`: a dotted host, no port, credentials, query
 * or fragment; without a path the host needs three labels (a subdomain of a domain).
 */
function isDomainAppIdUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (!isDottedHost(url.hostname) || url.port !== "" || url.username !== "" || url.password !== "") return false;
  if (url.search !== "" || url.hash !== "" || /[?#]/.test(uri) || url.pathname.endsWith("//")) return false;
  if (url.pathname.length > 1) return true;
  return url.hostname.split(".").length >= 3;
}

/** The *Service details* table. */
function checkServiceDetails(services: readonly IndexedService[], ctx: Context): void {
  const names = new Map<string, number>();
  const cmTenants = new Map<string, number>();
  const countByType = new Map<ServiceType, number[]>();
  for (const { index, service } of services) {
    const where = serviceWhere(index, service);
    const nameKey = service.name.toLowerCase();
    const sameName = names.get(nameKey);
    if (sameName !== undefined) ctx.problem(where, `name repeats azureServices[${sameName}]`);
    else names.set(nameKey, index);
    const ofType = countByType.get(service.type) ?? [];
    ofType.push(index);
    countByType.set(service.type, ofType);

    switch (service.type) {
      case "cloudManagement": {
        // Multiple tenants, each a distinct Entra tenant.
        const tenant = service.tenant.id.toLowerCase();
        const other = cmTenants.get(tenant);
        if (other !== undefined) {
          ctx.problem(where, `tenant ${tenant} is already used by cloud management service azureServices[${other}]`);
        } else cmTenants.set(tenant, index);
        if (service.nativeApp === undefined) {
          ctx.problem(where, "cloud management needs a nativeApp (the client app clients request tokens with)");
        }
        if (service.adminServiceManagement) {
          // Migration from the flag to the service type: keep the segmentation (fail closed), say how to move on.
          ctx.warn(
            `${where}.adminServiceManagement`,
            "deprecated: Administration Service Management is now its own service (type: adminServiceManagement) " +
              "with its own web and native app. Until you add one for this tenant, this flag only takes /AdminService/ " +
              "away from this tenant's cloud management tokens; its clients keep authenticating everywhere else. " +
              "Add the service (entra-gateway-services add --type adminServiceManagement), then remove this key",
          );
        }
        break;
      }
      case "adminServiceManagement":
        if (service.nativeApp === undefined) {
          ctx.problem(
            where,
            "Administration Service Management needs a nativeApp (the app AdminService tools sign in with)",
          );
        }
        if (service.adminServiceManagement)
          ctx.problem(where, "adminServiceManagement applies to cloud management only");
        // The seed's note on the option.
        ctx.warn(
          where,
          "Administration Service Management applies only to CMG virtual machine scale set (VMSS) deployments, not classic CMG",
        );
        break;
      case "logAnalytics":
        if (service.nativeApp !== undefined) ctx.problem(where, "Log Analytics uses a web app only, no nativeApp");
        if (service.webApp.origin !== "imported") {
          ctx.problem(where, "Log Analytics apps can only be imported (webApp.origin: imported)");
        }
        if (service.adminServiceManagement)
          ctx.problem(where, "adminServiceManagement applies to cloud management only");
        ctx.warn(where, "the Log Analytics Connector was removed from Configuration Manager in version 2107");
        break;
      case "storeForBusiness":
        if (service.nativeApp !== undefined) ctx.problem(where, "Store for Business uses a web app only, no nativeApp");
        if (service.environment !== "AzurePublicCloud") {
          ctx.problem(where, `Store for Business supports AzurePublicCloud only, not ${service.environment}`);
        }
        if (service.adminServiceManagement)
          ctx.problem(where, "adminServiceManagement applies to cloud management only");
        break;
    }
    if (service.type !== "cloudManagement" && service.disableAuthentication) {
      // An Administration Service Management service follows its tenant's cloud management flag.
      ctx.warn(where, "disableAuthentication has no effect outside cloud management services");
    }
  }
  for (const type of ["logAnalytics", "storeForBusiness"] as const) {
    const indexes = countByType.get(type) ?? [];
    if (indexes.length > 1) {
      ctx.problem(
        "azureServices",
        `${type === "logAnalytics" ? "Log Analytics" : "Store for Business"} allows one tenant, found ${indexes.length} (azureServices[${indexes.join("], azureServices[")}])`,
      );
    }
  }
  checkAdminServiceTenants(services, ctx);
  if ((countByType.get("cloudManagement") ?? []).length === 0) {
    ctx.warn("azureServices", "no cloud management service: every Entra-authenticated route will be refused");
  }
}

/**
 * Administration Service Management segments a cloud management tenant's privileges: one per tenant, and
 * only for a tenant that has a cloud management service in the same environment.
 */
function checkAdminServiceTenants(services: readonly IndexedService[], ctx: Context): void {
  const cm = new Map<string, ParsedAzureService>();
  for (const { service } of services) {
    if (service.type === "cloudManagement") cm.set(service.tenant.id.toLowerCase(), service);
  }
  const seen = new Map<string, number>();
  for (const { index, service } of services) {
    if (service.type !== "adminServiceManagement") continue;
    const where = serviceWhere(index, service);
    const tenant = service.tenant.id.toLowerCase();
    const other = seen.get(tenant);
    if (other !== undefined) {
      ctx.problem(where, `tenant ${tenant} already has Administration Service Management (azureServices[${other}])`);
    } else seen.set(tenant, index);
    const owner = cm.get(tenant);
    if (owner === undefined) {
      ctx.problem(
        where,
        `tenant ${tenant} has no cloud management service: Administration Service Management segments one`,
      );
    } else if (owner.environment !== service.environment) {
      ctx.problem(
        where,
        `environment ${service.environment} differs from its cloud management service's (${owner.environment})`,
      );
    } else if (
      owner.webApp.clientId.toLowerCase() === service.webApp.clientId.toLowerCase() ||
      owner.webApp.appIdUri.replace(/\/$/, "") === service.webApp.appIdUri.replace(/\/$/, "")
    ) {
      ctx.problem(
        where,
        "webApp must be its own app registration, not the cloud management web app (the seed: segment privileges)",
      );
    }
  }
}

function resolveManagementPoints(
  entries: ParsedConfig["managementPoints"],
  upstreamUrl: string,
  ctx: Context,
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

function resolveEnvironments(
  overrides: ParsedConfig["environments"],
  ctx: Context,
): Readonly<Record<EnvironmentName, Environment>> {
  const out = {} as Record<EnvironmentName, Environment>;
  for (const name of ENVIRONMENT_NAMES) {
    const where = `environments.${name}`;
    const o = overrides[name] ?? {};
    const d = DEFAULT_ENVIRONMENTS[name];
    const list = (v: string | string[] | undefined, fallback: readonly string[]) =>
      v === undefined ? fallback : typeof v === "string" ? [v] : v;
    const env = {
      authorityHost: o.authorityHost ?? d.authorityHost,
      issuersV1: list(o.issuerV1, d.issuersV1),
      issuersV2: list(o.issuerV2, d.issuersV2),
      jwksV1: o.jwksV1 ?? d.jwksV1,
      jwksV2: o.jwksV2 ?? d.jwksV2,
    };
    if (!AUTHORITY_HOST_PATTERN.test(env.authorityHost)) {
      ctx.problem(`${where}.authorityHost`, `must be a host name with an optional :port, got ${env.authorityHost}`);
    }
    for (const t of env.issuersV1) checkTemplate(t, env.authorityHost, `${where}.issuerV1`, true, ctx);
    for (const t of env.issuersV2) checkTemplate(t, env.authorityHost, `${where}.issuerV2`, true, ctx);
    checkTemplate(env.jwksV1, env.authorityHost, `${where}.jwksV1`, false, ctx);
    checkTemplate(env.jwksV2, env.authorityHost, `${where}.jwksV2`, false, ctx);
    let ca: string | undefined;
    if (o.ca !== undefined && o.caFile !== undefined) ctx.problem(where, "give ca or caFile, not both");
    else if (o.caFile !== undefined) ca = ctx.read(`${where}.caFile`, o.caFile);
    else ca = o.ca;
    if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) {
      ctx.problem(`${where}.ca`, "must be PEM (-----BEGIN CERTIFICATE-----)");
    }
    out[name] = { name, ...env, ca };
  }
  return out;
}

/**
 * An issuer or JWKS template must become an https URL once `{authority}` and `{tenantid}` are substituted;
 * an issuer must have the tenant ID as its first path segment (Entra's issuer validation relies on it).
 */
function checkTemplate(template: string, authority: string, where: string, isIssuer: boolean, ctx: Context): void {
  if (!template.includes("{tenantid}")) {
    ctx.problem(where, "must contain the {tenantid} placeholder");
    return;
  }
  const filled = substituteTemplate(template, authority, SAMPLE_TENANT);
  if (/[{}]/.test(filled)) {
    ctx.problem(where, "has an unknown placeholder (only {authority} and {tenantid} exist)");
    return;
  }
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    ctx.problem(where, `is not a URL once filled in: ${filled}`);
    return;
  }
  if (url.protocol !== "https:") ctx.problem(where, "must be an https URL");
  if (isIssuer && url.pathname.split("/")[1] !== SAMPLE_TENANT) {
    ctx.problem(where, "must have {tenantid} as the first path segment (https://host/{tenantid}/…)");
  }
}

/**
 * Fills an issuer / JWKS template.
 *
 * @param template with `{authority}` and `{tenantid}` placeholders
 * @param authority the authority host (and port)
 * @param tenantId the tenant GUID
 */
export function substituteTemplate(template: string, authority: string, tenantId: string): string {
  return template.replaceAll("{authority}", authority).replaceAll("{tenantid}", tenantId);
}

function resolveRoutes(routes: ParsedConfig["routes"], ctx: Context): readonly Route[] {
  const source = routes ?? DEFAULT_ROUTES;
  if (source.length === 0) ctx.warn("routes", "no routes: every request will be refused");
  const out: Route[] = [];
  source.forEach((route, index) => {
    const where = `routes[${index}]`;
    if (/[?#%\\\s]/.test(route.prefix) || /(^|\/)\.\.?(\/|$)/.test(route.prefix)) {
      ctx.problem(`${where}.prefix`, "must be a plain path (no ?, #, %, \\, whitespace or . / .. segments)");
    }
    const lower = route.prefix.toLowerCase();
    if (lower.startsWith("/ccm_proxy_")) {
      // CMG paths are parsed before any rule (http/cmg-path.ts); a rule here could only ever widen access.
      ctx.problem(
        `${where}.prefix`,
        "must be a management point path: /CCM_Proxy_ServerAuth/{id}/… and /CCM_Proxy_MutualAuth/{id}/… are matched on their inner path",
      );
    }
    if (route.allowAppOnly && route.requirement !== "entra" && route.requirement !== "user") {
      ctx.problem(`${where}.allowAppOnly`, `applies to Entra-authenticated routes only, not ${route.requirement}`);
    }
    out.forEach((earlier, earlierIndex) => {
      // First match wins, so a later rule under an earlier prefix can never apply.
      if (lower.startsWith(earlier.prefix.toLowerCase())) {
        ctx.problem(
          where,
          `prefix ${route.prefix} is shadowed by routes[${earlierIndex}] (${earlier.prefix}), which matches first`,
        );
      }
    });
    out.push({
      prefix: route.prefix,
      requirement: route.requirement,
      forwardAuthorization: route.forwardAuthorization ?? route.requirement !== "anonymous",
      clientApps: (route.clientApps ?? []).map((id) => id.toLowerCase()),
      requiredScope: route.requiredScope,
      allowAppOnly: route.allowAppOnly ?? false,
    });
  });
  return out;
}

function checkAuth(auth: AuthSettings, ctx: Context): void {
  if (auth.jwks.refreshIntervalMs > auth.jwks.ttlMs) {
    ctx.problem("auth.jwks.refreshIntervalMs", "must not exceed auth.jwks.ttlMs");
  }
  if (auth.maxTokenLifetimeSec < 3_600) {
    ctx.warn("auth.maxTokenLifetimeSec", "below 1 h: Entra issues tokens for 60–90 minutes, many will be refused");
  }
  if (auth.jwks.retryMinMs > auth.jwks.retryMaxMs) {
    ctx.problem("auth.jwks.retryMinMs", "must not exceed auth.jwks.retryMaxMs");
  }
}

function resolveUpstream(upstream: ParsedConfig["upstream"], ctx: Context): Upstream {
  if (upstream.url.startsWith("http:")) {
    ctx.warn("upstream.url", "plain http towards the management point: no TLS, no client certificate");
  }
  if ((upstream.clientCertFile === undefined) !== (upstream.clientKeyFile === undefined)) {
    ctx.problem("upstream", "give both clientCertFile and clientKeyFile, or neither");
  }
  const ca = upstream.caFile === undefined ? undefined : ctx.read("upstream.caFile", upstream.caFile);
  const clientCert =
    upstream.clientCertFile === undefined ? undefined : ctx.read("upstream.clientCertFile", upstream.clientCertFile);
  const keyText =
    upstream.clientKeyFile === undefined ? undefined : ctx.read("upstream.clientKeyFile", upstream.clientKeyFile);
  const unauthenticatedConnections =
    upstream.unauthenticatedConnections ?? Math.max(1, Math.floor(upstream.connections / 2));
  if (unauthenticatedConnections > upstream.connections) {
    ctx.problem("upstream.unauthenticatedConnections", "must not exceed upstream.connections");
  } else if (unauthenticatedConnections === upstream.connections && upstream.connections > 1) {
    ctx.warn(
      "upstream.unauthenticatedConnections",
      "equals upstream.connections: anonymous and passthrough requests can take every upstream connection",
    );
  }
  return {
    url: upstream.url,
    ca,
    clientCert,
    clientKey: keyText === undefined ? undefined : new Secret(keyText, "fromFile", upstream.clientKeyFile),
    connectTimeoutMs: upstream.connectTimeoutMs,
    headersTimeoutMs: upstream.headersTimeoutMs,
    bodyTimeoutMs: upstream.bodyTimeoutMs,
    keepAliveTimeoutMs: upstream.keepAliveTimeoutMs,
    connections: upstream.connections,
    unauthenticatedConnections,
    queueTimeoutMs: upstream.queueTimeoutMs,
    maxQueuedRequests: upstream.maxQueuedRequests,
  };
}

function resolveListen(listen: ParsedConfig["listen"], ctx: Context): Listen {
  if ((listen.certFile === undefined) !== (listen.keyFile === undefined)) {
    ctx.problem("listen", "give both certFile and keyFile, or neither");
  } else if (listen.certFile === undefined) {
    ctx.warn("listen", "no certFile/keyFile: the listener speaks plain HTTP (terminate TLS in front of it)");
  }
  const cert = listen.certFile === undefined ? undefined : ctx.read("listen.certFile", listen.certFile);
  const key = listen.keyFile === undefined ? undefined : ctx.read("listen.keyFile", listen.keyFile);
  return {
    host: listen.host,
    port: listen.port,
    cert,
    key: key === undefined ? undefined : new Secret(key, "fromFile", listen.keyFile),
    bodyLimitBytes: listen.bodyLimitBytes,
    headersTimeoutMs: listen.headersTimeoutMs,
    bodyTimeoutMs: listen.bodyTimeoutMs,
    bodyMinBytesPerSec: listen.bodyMinBytesPerSec,
    maxConnections: listen.maxConnections,
    drainTimeoutMs: listen.drainTimeoutMs,
  };
}

/**
 * Resolves `sharedState`: a `redis:`/`rediss:` URL with a host and no password in it (it would be logged and
 * shown; the password is a secret of its own), and the password secret.
 */
function resolveSharedState(shared: ParsedSharedState, ctx: Context): SharedState | undefined {
  const where = "sharedState.redisUrl";
  let url: URL | undefined;
  try {
    url = new URL(shared.redisUrl);
  } catch {
    ctx.problem(where, "must be a URL: redis://host:port[/db] or rediss://host:port[/db]");
  }
  if (url !== undefined) {
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      ctx.problem(where, `must be redis:// or rediss:// (TLS), not ${url.protocol}//`);
    } else if (url.hostname === "") {
      ctx.problem(where, "has no host");
    } else if (url.password !== "") {
      // Not echoed: the message must not carry the password either.
      ctx.problem(where, "must not carry a password: give it as sharedState.password (value, fromEnv or fromFile)");
    } else if (!/^(\/(\d{1,2})?)?$/.test(url.pathname)) {
      ctx.problem(where, "path must be a database number (/0 … /99) or nothing");
    }
  }
  const password =
    shared.password === undefined ? undefined : resolveSecret(shared.password, "sharedState.password", ctx);
  return url === undefined ? undefined : { redisUrl: shared.redisUrl, password, keyPrefix: shared.keyPrefix };
}

function resolveAdmin(admin: ParsedConfig["admin"], ctx: Context): Admin {
  const key = admin.key === undefined ? undefined : resolveSecret(admin.key, "admin.key", ctx);
  if (key !== undefined && key.reveal().length < MIN_ADMIN_KEY_LENGTH) {
    ctx.problem("admin.key", `must be at least ${MIN_ADMIN_KEY_LENGTH} characters`);
  }
  if (admin.enabled && !isLoopbackHost(admin.host)) {
    ctx.warn("admin.host", `the admin API listens on ${admin.host}, not loopback: restrict who can reach it`);
  }
  return { enabled: admin.enabled, host: admin.host, port: admin.port, key };
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * Freezes an object graph in place (arrays and plain objects; a {@link Secret}'s private value is already
 * unreachable) and returns it.
 *
 * @param value the graph to freeze
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) {
      deepFreeze((value as Record<string, unknown>)[key]);
    }
  }
  return value;
}
