/**
 * The gateway's configuration as it is served: the resolved, deep-frozen shapes that `validateConfig`
 * returns (secrets resolved, files read, defaults merged). The file's own shape, as parsed, is `schema.ts`;
 * the rules that turn one into the other are `validate.ts` and `validate/`.
 */
import type {
  AuthSettings,
  EnvironmentName,
  EnvironmentTemplates,
  MetricsSettings,
  RouteRequirement,
  ServiceType,
} from "./schema.js";
import type { Secret } from "./secret.js";

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
  /** No password in it (validation refuses one): safe to log. */
  readonly redisUrl: string;
  readonly password: Secret | undefined;
  readonly keyPrefix: string;
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
