/**
 * The configuration file's schema (zod 4), with every default written next to the field it belongs to.
 *
 * The shape mirrors Configuration Manager's Azure Services Wizard (docs/architecture.md § Configuration model) and
 * docs/architecture.md § Configuration model. Objects are strict: an unknown key is a problem, never silently ignored (a typo such as
 * `disableAuthentification: true` must stop the boot, not leave a tenant open). Durations carry their unit
 * in the name (`…Ms`, `…Sec`). Rules that span several fields or services live in `validate/`.
 */
import { z } from "zod";

/** A GUID in its canonical 8-4-4-4-12 hexadecimal form (Entra tenant and application IDs). */
export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Service types offered by the Azure Services Wizard. `adminServiceManagement` is CM 2207+ "Administration
 * Service Management": its own web + native app whose tokens reach only `/AdminService/` (CMG VMSS only).
 */
export const SERVICE_TYPES = ["cloudManagement", "logAnalytics", "storeForBusiness", "adminServiceManagement"] as const;
/** One of {@link SERVICE_TYPES}. */
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Azure environments Configuration Manager offers (the wizard's "Azure environment" list). */
export const ENVIRONMENT_NAMES = ["AzurePublicCloud", "AzureUSGovernmentCloud"] as const;
/** One of {@link ENVIRONMENT_NAMES}. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** JWS algorithms the gateway can verify (RFC 7518 §3.3 and §3.5); Entra signs with RS256 only. */
export const SUPPORTED_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const;
/** One of {@link SUPPORTED_ALGS}. */
export type SupportedAlg = (typeof SUPPORTED_ALGS)[number];

/** Route requirements (docs/architecture.md § Configuration model). `entra` accepts a user, device or user+device token. */
export const ROUTE_REQUIREMENTS = ["anonymous", "passthrough", "user", "device", "entra"] as const;
/** One of {@link ROUTE_REQUIREMENTS}. */
export type RouteRequirement = (typeof ROUTE_REQUIREMENTS)[number];

const guid = z.string().regex(GUID_PATTERN, { message: "must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" });
const nonEmpty = z.string().trim().min(1, { message: "must not be empty" });
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/**
 * A secret given as exactly one of an inline `value`, an environment variable name (`fromEnv`) or a file
 * path (`fromFile`). Resolution (does the variable exist, is the file readable) happens in `validate/secrets.ts`.
 */
export const SecretSourceSchema = z
  .strictObject({
    value: nonEmpty.optional(),
    fromEnv: nonEmpty.optional(),
    fromFile: nonEmpty.optional(),
  })
  .superRefine((secret, ctx) => {
    const given = (["value", "fromEnv", "fromFile"] as const).filter((k) => secret[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `must have exactly one of value, fromEnv, fromFile (found ${given.length === 0 ? "none" : given.join(", ")})`,
      });
    }
  });

/** The server ("Web app / API") app registration: its App ID URI is the token audience. */
export const WebAppSchema = z.strictObject({
  name: nonEmpty,
  clientId: guid,
  appIdUri: nonEmpty,
  secret: SecretSourceSchema,
  /** ISO 8601 date (`2026-05-01`) or date-time with offset. Imported apps get no CM notification; we warn anyway. */
  secretExpiry: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
  origin: z.enum(["imported", "created"]).default("imported"),
});

/** The client ("Native") app registration: its client ID appears in tokens as `appid` (v1) / `azp` (v2). */
export const NativeAppSchema = z.strictObject({
  name: nonEmpty,
  clientId: guid,
});

/** One Azure service as the wizard creates it. */
export const AzureServiceSchema = z.strictObject({
  name: nonEmpty,
  description: z.string().default(""),
  type: z.enum(SERVICE_TYPES),
  environment: z.enum(ENVIRONMENT_NAMES).default("AzurePublicCloud"),
  /**
   * Deprecated (before Administration Service Management became its own service type). Still read so old
   * files load: `true` takes `/AdminService/` away from this tenant's cloud management tokens, with a warning
   * that says how to migrate (`validate/services.ts`). Its clients keep authenticating everywhere else.
   */
  adminServiceManagement: z.boolean().default(false),
  tenant: z.strictObject({ id: guid, name: nonEmpty }),
  webApp: WebAppSchema,
  nativeApp: NativeAppSchema.optional(),
  /** CM 2010+ "Disable Microsoft Entra authentication for this tenant"; takes effect on the next request. */
  disableAuthentication: z.boolean().default(false),
});

/**
 * Per-environment overrides of the authority and of the issuer / JWKS templates. Templates use the
 * placeholders `{authority}` (the authority host, port included when not 443) and `{tenantid}` (Entra's own
 * placeholder in key `issuer` values). Unset fields take {@link DEFAULT_ENVIRONMENTS}.
 */
export const EnvironmentOverrideSchema = z.strictObject({
  authorityHost: nonEmpty.optional(),
  /** One issuer template, or a list of them (every one accepted, each still bound to the token's `tid`). */
  issuerV1: z.union([nonEmpty, z.array(nonEmpty).min(1)]).optional(),
  issuerV2: z.union([nonEmpty, z.array(nonEmpty).min(1)]).optional(),
  jwksV1: nonEmpty.optional(),
  jwksV2: nonEmpty.optional(),
  /** PEM file of the CA that signs the authority's TLS certificate (the emulator's local CA). */
  caFile: nonEmpty.optional(),
  /** The same CA inline, as PEM text. */
  ca: nonEmpty.optional(),
});

/** A fully resolved environment: every template set. */
export interface EnvironmentTemplates {
  readonly authorityHost: string;
  /** Accepted v1 issuer templates, in order (the first is the one challenges and tools show). */
  readonly issuersV1: readonly string[];
  /** Accepted v2 issuer templates, in order. */
  readonly issuersV2: readonly string[];
  readonly jwksV1: string;
  readonly jwksV2: string;
}

/**
 * Built-in environments (sources in docs/configuration.md § Issuers per cloud):
 *
 * - v2 issuers: each cloud's OpenID configuration document (`https://{authority}/{tid}/v2.0/.well-known/…`).
 * - v1 public cloud: `https://sts.windows.net/{tid}/`, Microsoft's access-token reference.
 * - v1 US Government: Microsoft's sources disagree — the access-token reference and the v1 discovery document
 *   of the public cloud say `https://sts.windows.net/{tid}/`, the national-clouds page and the US Government
 *   v1 discovery document say `https://login.microsoftonline.us/{tid}/`. Both are accepted by default, each
 *   bound to the token's `tid` (first path segment), and the list stays overridable.
 *
 * Issuers are literal (the cloud's identity does not move), JWKS URLs follow `{authority}`: pointing
 * `authorityHost` at a local emulator that issues real-cloud issuer strings (ours does) changes where keys
 * are fetched from, not which issuer is expected.
 */
export const DEFAULT_ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentTemplates>> = Object.freeze({
  AzurePublicCloud: Object.freeze({
    authorityHost: "login.microsoftonline.com",
    issuersV1: Object.freeze(["https://sts.windows.net/{tenantid}/"]),
    issuersV2: Object.freeze(["https://login.microsoftonline.com/{tenantid}/v2.0"]),
    jwksV1: "https://{authority}/{tenantid}/discovery/keys",
    jwksV2: "https://{authority}/{tenantid}/discovery/v2.0/keys",
  }),
  AzureUSGovernmentCloud: Object.freeze({
    authorityHost: "login.microsoftonline.us",
    issuersV1: Object.freeze(["https://sts.windows.net/{tenantid}/", "https://login.microsoftonline.us/{tenantid}/"]),
    issuersV2: Object.freeze(["https://login.microsoftonline.us/{tenantid}/v2.0"]),
    jwksV1: "https://{authority}/{tenantid}/discovery/keys",
    jwksV2: "https://{authority}/{tenantid}/discovery/v2.0/keys",
  }),
});

/** One ordered prefix rule. First match wins; a path no rule matches is refused. */
export const RouteSchema = z.strictObject({
  /** Case-insensitive path prefix (IIS, behind which the MP runs, matches paths case-insensitively). */
  prefix: z.string().startsWith("/", { message: "must start with /" }),
  requirement: z.enum(ROUTE_REQUIREMENTS),
  /** Forward the client's `Authorization` header upstream. Default: false for anonymous, true otherwise. */
  forwardAuthorization: z.boolean().optional(),
  /**
   * Client apps (`appid` / `azp`) this route accepts besides the tenant's registered native app, e.g. the
   * app registration of AdminService tooling. Lower-cased GUIDs.
   */
  clientApps: z.array(guid).default([]),
  /** A delegated scope the token's `scp` must contain (e.g. `user_impersonation`); unset: no scope check. */
  requiredScope: z
    .string()
    .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: "must be one scope token (RFC 6749 §3.3)" })
    .optional(),
  /** Accept app-only tokens (`roles`, no `scp`) on this route. Default false: CM endpoints serve users and devices. */
  allowAppOnly: z.boolean().default(false),
});

/**
 * Configuration Manager's default routes (docs/architecture.md § Configuration model), used when the file
 * sets no `routes`. They match the management point's own paths: a CMG path (`/CCM_Proxy_ServerAuth/{id}/…`,
 * `/CCM_Proxy_MutualAuth/{id}/…`) is matched on its inner path (`http/cmg-path.ts`); only
 * `/CCM_Proxy_ServerAuth/AADAuthInfo` is anonymous under those prefixes, and the gateway answers it itself.
 */
export const DEFAULT_ROUTES: ReadonlyArray<z.input<typeof RouteSchema>> = Object.freeze([
  Object.freeze({ prefix: "/SMS_MP/.sms_aut", requirement: "anonymous" as const, forwardAuthorization: false }),
  // The MP exchanges the Entra token for a CCM token, so it needs to see it.
  Object.freeze({ prefix: "/CCM_STS", requirement: "entra" as const, forwardAuthorization: true }),
  // The MP authenticates these itself (CCM token or PKI).
  Object.freeze({ prefix: "/ccm_system_tokenauth/", requirement: "passthrough" as const, forwardAuthorization: true }),
  Object.freeze({ prefix: "/AdminService/", requirement: "user" as const, forwardAuthorization: true }),
  // Content downloads and client uploads need an Entra user or device token; the MP needs no token.
  Object.freeze({ prefix: "/CCM_Client/", requirement: "entra" as const, forwardAuthorization: false }),
  Object.freeze({ prefix: "/CCM_Incoming/", requirement: "entra" as const, forwardAuthorization: false }),
]);

/** JWKS cache settings (docs/architecture.md § Caches; Microsoft's signing-key rollover guidance for the defaults). */
export const JwksSettingsSchema = z.strictObject({
  /** Background refresh period; each tenant's timer is jittered by ±10 %. */
  refreshIntervalMs: positiveInt.default(3_600_000),
  /** How long a successful fetch counts as fresh. */
  ttlMs: positiveInt.default(86_400_000),
  /** Unknown-`kid` refreshes of one key set are at most one per this period. */
  unknownKidCooldownMs: nonNegativeInt.default(300_000),
  /** Unknown-`kid` refreshes across all tenants, per minute (token bucket). */
  globalRefetchBudgetPerMinute: positiveInt.default(30),
  /** Once keys stop being fresh (fetch failing, or older than `ttlMs`), they are still served this long. */
  staleWindowMs: nonNegativeInt.default(86_400_000),
  /** One JWKS request, connect to body end. */
  fetchTimeoutMs: positiveInt.default(5_000),
  /** Largest JWKS document accepted. */
  maxBytes: positiveInt.default(1_048_576),
  /** After a failed fetch, retry after this long, doubling up to `retryMaxMs`. */
  retryMinMs: positiveInt.default(2_000),
  retryMaxMs: positiveInt.default(300_000),
  /** Keep a copy of each fetched JWKS here so a restart during an IdP outage still serves. */
  diskCacheDir: nonEmpty.optional(),
});

/** Authentication settings. */
export const AuthSettingsSchema = z.strictObject({
  /** `realm` of every challenge (RFC 6750 §3). */
  realm: nonEmpty.default("entra-gateway"),
  allowedAlgs: z
    .array(z.enum(SUPPORTED_ALGS))
    .min(1)
    .default(["RS256"])
    .refine((a) => new Set(a).size === a.length, { message: "must not repeat an algorithm" }),
  maxTokenBytes: positiveInt.max(1_048_576).default(16_384),
  clockSkewSec: nonNegativeInt.max(3_600).default(300),
  /**
   * Longest accepted token lifetime, `exp − iat`. Default 28 h: above Entra's longest lifetime (CAE tokens,
   * up to 28 h), far below a forged "ten-year" token.
   */
  maxTokenLifetimeSec: positiveInt.default(100_800),
  /** Refuse device tokens that carry no `appid`/`azp` (Entra often omits it on device tokens). */
  deviceTokenRequireClientApp: z.boolean().default(false),
  jwks: JwksSettingsSchema.prefault({}),
  verifiedCache: z
    .strictObject({
      maxEntries: positiveInt.default(50_000),
      maxBytes: positiveInt.default(64 * 1_048_576),
    })
    .prefault({}),
  negativeCache: z
    .strictObject({
      maxEntries: positiveInt.default(10_000),
      ttlMs: positiveInt.default(30_000),
    })
    .prefault({}),
});

/** The management point behind the gateway (docs/architecture.md § Proxy). */
export const UpstreamSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }),
  /** CA that signs the MP's certificate (pinned). */
  caFile: nonEmpty.optional(),
  /** The gateway's client certificate and key for mTLS towards the MP. */
  clientCertFile: nonEmpty.optional(),
  clientKeyFile: nonEmpty.optional(),
  connectTimeoutMs: positiveInt.default(5_000),
  headersTimeoutMs: positiveInt.default(30_000),
  bodyTimeoutMs: positiveInt.default(300_000),
  keepAliveTimeoutMs: positiveInt.default(4_000),
  /** Per worker: the pool's connections, which is also the most requests in flight towards the MP at once. */
  connections: positiveInt.default(128),
  /**
   * Per worker: the most of those that anonymous and passthrough requests (no token checked by the gateway)
   * may hold at once, so they can never take every connection. Default: half of `connections` (at least 1).
   */
  unauthenticatedConnections: positiveInt.optional(),
  /** How long a request waits for a free upstream connection before it is answered 503 with `Retry-After`. */
  queueTimeoutMs: positiveInt.default(2_000),
  /** Per worker: the most requests waiting for an upstream connection; beyond it, 503 at once. */
  maxQueuedRequests: nonNegativeInt.default(1_024),
});

/** CMG MP/site IDs (`/CCM_Proxy_ServerAuth/{id}/…`): decimal, as the CMG connection point writes them. */
export const MANAGEMENT_POINT_ID_PATTERN = /^[0-9]{1,20}$/;

/**
 * One management point (or site, for AdminService) a CMG path may name. Without `url`, requests go to
 * `upstream.url`; TLS material and timeouts are always `upstream`'s.
 */
export const ManagementPointSchema = z.strictObject({
  id: z.string().regex(MANAGEMENT_POINT_ID_PATTERN, { message: "must be a decimal MP or site ID (up to 20 digits)" }),
  url: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
});

/** The gateway's own listener. */
export const ListenSchema = z.strictObject({
  host: nonEmpty.default("0.0.0.0"),
  port: z.number().int().min(0).max(65_535).default(8443),
  certFile: nonEmpty.optional(),
  keyFile: nonEmpty.optional(),
  bodyLimitBytes: positiveInt.default(1_073_741_824),
  /** A client must send its whole request header block within this; then 408 and the connection closes. */
  headersTimeoutMs: positiveInt.default(15_000),
  /**
   * Request body progress window: within every window a client must send at least
   * `bodyMinBytesPerSec` × the window (and at least one byte), or the request is answered 408 and the
   * connection closed (a minimum upload data rate, as Envoy's and nginx's body timeouts).
   */
  bodyTimeoutMs: positiveInt.default(30_000),
  bodyMinBytesPerSec: nonNegativeInt.default(240),
  /** Per worker: open client connections; further connections are refused until one closes. */
  maxConnections: positiveInt.default(10_000),
  /** On SIGTERM, in-flight requests get this long to finish; what is left is then closed. */
  drainTimeoutMs: positiveInt.default(25_000),
});

/**
 * The admin API's listener (docs/operations.md § Admin API): loopback by default, every call needs `Authorization: Bearer {key}`.
 * Without `key`, `serve` generates one into its state directory (`--state-dir`, file `admin.key`).
 */
export const AdminSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: nonEmpty.default("127.0.0.1"),
  port: z.number().int().min(0).max(65_535).default(9444),
  /** The admin key (at least 32 characters): exactly one of value / fromEnv / fromFile. */
  key: SecretSourceSchema.optional(),
});

/** The Prometheus metrics listener (`GET /metrics`, plain HTTP; loopback by default). */
export const MetricsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: nonEmpty.default("127.0.0.1"),
  port: z.number().int().min(0).max(65_535).default(9464),
});

/**
 * Runtime tenant state shared by every replica through Redis (docs/configuration.md § `sharedState`). Absent:
 * each gateway keeps it in its state directory.
 */
export const SharedStateSchema = z.strictObject({
  /** `redis://host:port[/db]` or `rediss://…`; no password in it (see `password`). */
  redisUrl: nonEmpty,
  /** Redis' password (AUTH): exactly one of value / fromEnv / fromFile. */
  password: SecretSourceSchema.optional(),
  /** Prefix of the hash, epoch key and channel names. */
  keyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/, { message: "must be 1-64 of A-Z a-z 0-9 : . _ -" })
    .default("entra-gateway:"),
});

/** The whole file. */
export const ConfigSchema = z.strictObject({
  azureServices: z.array(AzureServiceSchema).default([]),
  environments: z
    .strictObject({
      AzurePublicCloud: EnvironmentOverrideSchema.optional(),
      AzureUSGovernmentCloud: EnvironmentOverrideSchema.optional(),
    })
    .default({}),
  routes: z.array(RouteSchema).optional(),
  auth: AuthSettingsSchema.prefault({}),
  upstream: UpstreamSchema,
  /**
   * The MP/site IDs of CMG paths (`/CCM_Proxy_ServerAuth/{id}/…`) and where each goes. Empty (the default): every ID goes to `upstream`, as
   * with one management point. Listed: an ID not listed is answered 404 and nothing is forwarded.
   */
  managementPoints: z.array(ManagementPointSchema).default([]),
  listen: ListenSchema.prefault({}),
  admin: AdminSchema.prefault({}),
  metrics: MetricsSchema.prefault({}),
  sharedState: SharedStateSchema.optional(),
});

/** What the file may contain (defaults optional). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** The file after parsing and defaults, before cross-field resolution. */
export type ParsedConfig = z.output<typeof ConfigSchema>;
/** One parsed service. */
export type ParsedAzureService = z.output<typeof AzureServiceSchema>;
/** Parsed auth settings. */
export type AuthSettings = z.output<typeof AuthSettingsSchema>;
/** Parsed JWKS settings. */
export type JwksSettings = z.output<typeof JwksSettingsSchema>;
/** Parsed upstream settings (file paths not yet read). */
export type ParsedUpstream = z.output<typeof UpstreamSchema>;
/** Parsed admin listener settings (key not yet resolved). */
export type ParsedAdmin = z.output<typeof AdminSchema>;
/** Parsed shared state settings (password not yet resolved). */
export type ParsedSharedState = z.output<typeof SharedStateSchema>;
/** Parsed metrics listener settings. */
export type MetricsSettings = z.output<typeof MetricsSchema>;
/** Parsed listener settings (file paths not yet read). */
export type ParsedListen = z.output<typeof ListenSchema>;
