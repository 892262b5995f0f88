/**
 * Entra user and group discovery (docs/architecture.md § Data flow, steps 2–3, and § User discovery): per configured tenant, a Graph
 * app token from msal-node client credentials, a full sync of `/v1.0/users` (`$select` of the attributes CM
 * discovers, following `@odata.nextLink`), then periodic delta syncs from the stored `@odata.deltaLink`
 * (removed users applied). Groups follow the same pattern beside the users: `/v1.0/groups` and each group's
 * `/members` in a full sync, `/v1.0/groups/delta` (`members@delta`) in a delta sync. Failures are retried with exponential backoff that honours `Retry-After`;
 * errors that retrying cannot fix (a wrong secret: AADSTS7000215) are reported in the status and retried
 * slowly, never in a tight loop. A failed sync never replaces the last good user set.
 *
 * The delta baseline is taken *before* the full listing (the initial `/users/delta` round, contents
 * ignored), so a change made while the listing runs is in the listing, the next delta, or both — applying
 * it twice is harmless — and never lost.
 */
import { rootCertificates } from "node:tls";
import type { INetworkModule } from "@azure/msal-node";
import type { Logger } from "pino";
import { Agent, request } from "undici";
import { createMsalNetworkClient } from "../lib/msal-network.js";
import {
  createGraphTokenSource,
  type GraphTokenSource,
  parseRetryAfter,
  TokenAcquisitionError,
} from "./graph-token.js";

/** A user as the MP keeps it (Graph's attribute names). */
export interface DiscoveredUser {
  readonly tenantId: string;
  /** The object ID. */
  readonly id: string;
  readonly userPrincipalName: string;
  readonly displayName: string | null;
  readonly mail: string | null;
  readonly mailNickname: string | null;
  readonly onPremisesSecurityIdentifier: string | null;
  readonly onPremisesDomainName: string | null;
  readonly onPremisesSamAccountName: string | null;
  readonly onPremisesDistinguishedName: string | null;
  /** When this user was last added or changed by a sync. */
  readonly discoveredAt: string;
}

/** A security group as the MP keeps it, with its members (user object IDs), stored beside the users. */
export interface DiscoveredGroup {
  readonly tenantId: string;
  /** The object ID. */
  readonly id: string;
  readonly displayName: string | null;
  readonly description: string | null;
  /** Object IDs of the member users, sorted. */
  readonly memberIds: readonly string[];
  /** When this group was last added or changed by a sync. */
  readonly discoveredAt: string;
}

/** The group attributes discovery asks Graph for (`$select`). */
export const GROUP_SELECT = ["id", "displayName", "description"] as const;

/** The attributes discovery asks Graph for (`$select`), as CM's Entra user discovery. */
export const DISCOVERY_SELECT = [
  "id",
  "displayName",
  "mail",
  "mailNickname",
  "userPrincipalName",
  "onPremisesSecurityIdentifier",
  "onPremisesDomainName",
  "onPremisesSamAccountName",
  "onPremisesDistinguishedName",
] as const;

/** Clouds CM offers for cloud management. */
export type DiscoveryCloud = "AzurePublicCloud" | "AzureUSGovernmentCloud";

/** The Graph `.default` scope per cloud (docs/architecture.md § Clouds: Graph hosts). */
export const GRAPH_SCOPES: Readonly<Record<DiscoveryCloud, string>> = {
  AzurePublicCloud: "https://graph.microsoft.com/.default",
  AzureUSGovernmentCloud: "https://graph.microsoft.us/.default",
};

/** One tenant to discover: the server (web) app's credentials. */
export interface DiscoveryTenantOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default `AzurePublicCloud`. */
  readonly cloud?: DiscoveryCloud;
  /** Display name for logs and status. */
  readonly name?: string;
}

/** Retry policy. */
export interface DiscoveryRetryOptions {
  /** First retry delay; doubles per consecutive failure. Default 1 s. */
  readonly initialDelayMs?: number;
  /** Cap of the delay, of `Retry-After` honoured, and the delay after a non-transient error. Default 5 min. */
  readonly maxDelayMs?: number;
}

/** Options of {@link createUserDiscovery}. */
export interface DiscoveryOptions {
  readonly tenants: readonly DiscoveryTenantOptions[];
  /** Origin of the Entra authority (the emulator), e.g. `https://127.0.0.1:4000`; authority = `{origin}/{tenantId}`. */
  readonly authorityUrl: string;
  /** Origin of Microsoft Graph; requests go to `{graphUrl}/v1.0/users…`. */
  readonly graphUrl: string;
  /** CA (PEM) trusted for the authority and Graph; default: Node's trust store. */
  readonly caPem?: string;
  /** Default: the authority's host:port. */
  readonly knownAuthorities?: readonly string[];
  /** Delta sync interval; default 5 min (CM's default delta discovery interval). */
  readonly deltaIntervalMs?: number;
  /** Full sync interval; default 7 days (CM's default full discovery schedule). */
  readonly fullSyncIntervalMs?: number;
  /** `$top` of the `/users` listing; default 100. */
  readonly pageSize?: number;
  readonly retry?: DiscoveryRetryOptions;
  /** Per Graph request; default 30 s. */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** What a sync is. */
export type SyncKind = "full" | "delta";

/** Where a tenant's discovery stands. */
export type TenantSyncState = "pending" | "syncing" | "synced" | "retrying" | "failing" | "stopped";

/** The last failure of a tenant's discovery. */
export interface SyncError {
  readonly at: string;
  readonly kind: SyncKind;
  /** `token`: msal/Entra; `graph`: Microsoft Graph. */
  readonly stage: "token" | "graph";
  readonly message: string;
  /** e.g. `AADSTS7000215` (wrong secret). */
  readonly aadsts?: string;
  /** OAuth error or Graph error code. */
  readonly code?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** Will likely succeed when retried. */
  readonly transient: boolean;
}

/** Status of one tenant's discovery (served on `GET /_mp/status`). */
export interface TenantDiscoveryStatus {
  readonly tenantId: string;
  readonly name?: string;
  readonly cloud: DiscoveryCloud;
  readonly state: TenantSyncState;
  readonly users: number;
  readonly groups: number;
  readonly fullSyncs: number;
  readonly deltaSyncs: number;
  readonly lastFullSync?: {
    readonly at: string;
    readonly users: number;
    readonly groups: number;
    /** Pages of the user listing. */
    readonly pages: number;
    /** Pages of the group listing and its member listings. */
    readonly groupPages: number;
  };
  readonly lastDeltaSync?: {
    readonly at: string;
    readonly upserted: number;
    readonly removed: number;
    /** Groups added, changed or removed (membership included). */
    readonly groupsChanged: number;
    /** Pages of the user delta. */
    readonly pages: number;
    /** Pages of the group delta. */
    readonly groupPages: number;
  };
  readonly lastSuccessAt?: string;
  readonly consecutiveFailures: number;
  readonly totalFailures: number;
  readonly lastError?: SyncError;
  readonly nextRunAt?: string;
  readonly nextRunKind?: SyncKind;
  /** msal application instances built (one more after each transient token failure). */
  readonly tokenClients: number;
}

/** Status of discovery (served on `GET /_mp/status`). */
export interface DiscoveryStatus {
  readonly enabled: boolean;
  readonly tenants: readonly TenantDiscoveryStatus[];
}

/** The running discovery. */
export interface UserDiscovery {
  /** Starts the first full sync of every tenant (idempotent). */
  start(): void;
  /** Stops timers and aborts Graph requests in flight. */
  stop(): Promise<void>;
  status(): DiscoveryStatus;
  /** The discovered users of one tenant, or of all. */
  users(tenantId?: string): DiscoveredUser[];
  /** The discovered groups (with their members) of one tenant, or of all. */
  groups(tenantId?: string): DiscoveredGroup[];
  /**
   * Runs a sync now (waiting for one in flight first) and resolves with the resulting status; a failure is
   * recorded in the status, not thrown. `kind` defaults to delta (full when no delta link is stored yet).
   */
  syncNow(options?: { tenantId?: string; kind?: SyncKind }): Promise<TenantDiscoveryStatus[]>;
}

/** A Graph request failure. */
class GraphRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string,
    readonly transient: boolean,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

interface GraphPage {
  readonly value: readonly Record<string, unknown>[];
  readonly nextLink?: string;
  readonly deltaLink?: string;
}

const MAX_PAGES = 100_000;

/** A delta round must end with `@odata.deltaLink`; without one the next delta sync could not start. */
function requireDeltaLink(link: string | undefined, what: "user" | "group"): asserts link is string {
  if (!link) {
    throw new GraphRequestError(
      `Graph's ${what} delta ended without a delta link`,
      200,
      "no_delta_link",
      true,
      undefined,
    );
  }
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** Creates discovery over `options.tenants`; nothing runs until `start()` or `syncNow()`. */
export function createUserDiscovery(options: DiscoveryOptions): UserDiscovery {
  const now = options.now ?? Date.now;
  const deltaIntervalMs = options.deltaIntervalMs ?? 300_000;
  const fullSyncIntervalMs = options.fullSyncIntervalMs ?? 7 * 86_400_000;
  const pageSize = options.pageSize ?? 100;
  const initialDelayMs = options.retry?.initialDelayMs ?? 1000;
  const maxDelayMs = options.retry?.maxDelayMs ?? 300_000;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const graphOrigin = new URL(options.graphUrl).origin;
  const authorityOrigin = new URL(options.authorityUrl).origin;
  const knownAuthorities = options.knownAuthorities ?? [new URL(options.authorityUrl).host];
  const dispatcher = new Agent({
    ...(options.caPem ? { connect: { ca: options.caPem } } : {}),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  // Without a CA of its own, trust what Node trusts (real Entra and Graph).
  const ca = options.caPem ?? rootCertificates.join("\n");
  const msalNetwork: INetworkModule & { close(): Promise<void> } = createMsalNetworkClient(ca, timeoutMs);
  const log = options.logger;
  let started = false;
  let stopped = false;

  async function graphGet(url: string, token: string, signal: AbortSignal): Promise<GraphPage> {
    if (new URL(url).origin !== graphOrigin) {
      // Never send the Graph token anywhere but Graph.
      throw new GraphRequestError(
        `Graph returned a link to another origin: ${url}`,
        undefined,
        "bad_link",
        false,
        undefined,
      );
    }
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        method: "GET",
        dispatcher,
        signal,
        headers: { authorization: `Bearer ${token}`, accept: "application/json", consistencylevel: "eventual" },
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? "network_error";
      throw new GraphRequestError(`Graph request failed: ${(err as Error).message}`, undefined, code, true, undefined);
    }
    const text = await res.body.text().catch(() => "");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (res.statusCode !== 200) {
      const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof e?.code === "string" ? e.code : `http_${res.statusCode}`;
      const message = typeof e?.message === "string" ? e.message : `HTTP ${res.statusCode}`;
      const retryAfter = res.headers["retry-after"];
      const status = res.statusCode;
      throw new GraphRequestError(
        `Graph ${status} ${code}: ${message}`,
        status,
        code,
        status === 401 || status === 408 || status === 429 || status >= 500,
        parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, now()),
      );
    }
    const page = body as { value?: unknown; "@odata.nextLink"?: unknown; "@odata.deltaLink"?: unknown } | undefined;
    if (!page || !Array.isArray(page.value)) {
      throw new GraphRequestError("Graph answered without a 'value' array", 200, "bad_response", true, undefined);
    }
    return {
      value: page.value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null),
      ...(typeof page["@odata.nextLink"] === "string" ? { nextLink: page["@odata.nextLink"] } : {}),
      ...(typeof page["@odata.deltaLink"] === "string" ? { deltaLink: page["@odata.deltaLink"] } : {}),
    };
  }

  /** Follows `@odata.nextLink` from `first`; calls `onPage` per page; returns the final delta link, if any. */
  async function followPages(
    first: string,
    token: string,
    signal: AbortSignal,
    onPage: (items: readonly Record<string, unknown>[]) => void,
  ): Promise<{ deltaLink: string | undefined; pages: number }> {
    let link: string | undefined = first;
    let pages = 0;
    while (link !== undefined) {
      if (++pages > MAX_PAGES)
        throw new GraphRequestError("Graph paging does not end", 200, "too_many_pages", false, undefined);
      const page = await graphGet(link, token, signal);
      onPage(page.value);
      if (page.nextLink) link = page.nextLink;
      else return { deltaLink: page.deltaLink, pages };
    }
    return { deltaLink: undefined, pages };
  }

  class TenantRunner {
    readonly cloud: DiscoveryCloud;
    readonly tokens: GraphTokenSource;
    users = new Map<string, DiscoveredUser>();
    groups = new Map<string, DiscoveredGroup>();
    deltaLink: string | undefined;
    groupDeltaLink: string | undefined;
    state: TenantSyncState = "pending";
    fullSyncs = 0;
    deltaSyncs = 0;
    lastFullSync: TenantDiscoveryStatus["lastFullSync"];
    lastDeltaSync: TenantDiscoveryStatus["lastDeltaSync"];
    lastFullSyncMs = 0;
    lastSuccessAt: string | undefined;
    consecutiveFailures = 0;
    totalFailures = 0;
    lastError: SyncError | undefined;
    nextRunAt: number | undefined;
    nextRunKind: SyncKind | undefined;
    timer: NodeJS.Timeout | undefined;
    current: Promise<void> | undefined;
    abort = new AbortController();
    readonly log: Logger | undefined;

    constructor(readonly config: DiscoveryTenantOptions) {
      this.cloud = config.cloud ?? "AzurePublicCloud";
      this.tokens = createGraphTokenSource({
        tenantId: config.tenantId,
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        authority: `${authorityOrigin}/${config.tenantId}`,
        knownAuthorities,
        scope: GRAPH_SCOPES[this.cloud],
        networkClient: msalNetwork,
      });
      this.log = log?.child({ component: "discovery", tenantId: config.tenantId });
    }

    toUser(
      item: Record<string, unknown>,
      previous: DiscoveredUser | undefined,
      at: string,
    ): DiscoveredUser | undefined {
      const id = str(item.id);
      const upn = str(item.userPrincipalName) ?? previous?.userPrincipalName;
      if (!id || !upn) return undefined;
      // Graph's delta may send only changed attributes: keep the ones it left out.
      const pick = (name: (typeof DISCOVERY_SELECT)[number]) =>
        name in item
          ? str(item[name])
          : ((previous?.[name as keyof DiscoveredUser] as string | null | undefined) ?? null);
      return {
        tenantId: this.config.tenantId,
        id: id.toLowerCase(),
        userPrincipalName: upn,
        displayName: pick("displayName"),
        mail: pick("mail"),
        mailNickname: pick("mailNickname"),
        onPremisesSecurityIdentifier: pick("onPremisesSecurityIdentifier"),
        onPremisesDomainName: pick("onPremisesDomainName"),
        onPremisesSamAccountName: pick("onPremisesSamAccountName"),
        onPremisesDistinguishedName: pick("onPremisesDistinguishedName"),
        discoveredAt: at,
      };
    }

    async token(kind: SyncKind): Promise<string> {
      try {
        return await this.tokens.acquire();
      } catch (err) {
        throw Object.assign(err as Error, { stage: "token", kind });
      }
    }

    async fullSync(signal: AbortSignal): Promise<void> {
      const token = await this.token("full");
      const select = DISCOVERY_SELECT.join(",");
      const baseline = await followPages(`${graphOrigin}/v1.0/users/delta?$select=${select}`, token, signal, () => {});
      requireDeltaLink(baseline.deltaLink, "user");
      const at = new Date(now()).toISOString();
      const fresh = new Map<string, DiscoveredUser>();
      const listing = await followPages(
        `${graphOrigin}/v1.0/users?$select=${select}&$top=${pageSize}`,
        token,
        signal,
        (items) => {
          for (const item of items) {
            const user = this.toUser(item, undefined, at);
            if (user) fresh.set(user.id, user);
          }
        },
      );
      const groups = await this.listGroups(token, signal, at);
      // Commit only a complete listing.
      this.users = fresh;
      this.deltaLink = baseline.deltaLink;
      this.groups = groups.groups;
      this.groupDeltaLink = groups.deltaLink;
      this.fullSyncs += 1;
      this.lastFullSyncMs = now();
      this.lastFullSync = {
        at,
        users: fresh.size,
        groups: groups.groups.size,
        pages: listing.pages,
        groupPages: groups.pages,
      };
      this.log?.info(
        { users: fresh.size, groups: groups.groups.size, pages: listing.pages, groupPages: groups.pages },
        "entra user discovery: full sync done",
      );
    }

    /**
     * Group discovery, full: the `/groups/delta` baseline first (as for users), then `/groups` and each
     * group's `/members`.
     */
    async listGroups(
      token: string,
      signal: AbortSignal,
      at: string,
    ): Promise<{ groups: Map<string, DiscoveredGroup>; deltaLink: string; pages: number }> {
      const baseline = await followPages(
        `${graphOrigin}/v1.0/groups/delta?$select=${GROUP_SELECT.join(",")},members`,
        token,
        signal,
        () => {},
      );
      requireDeltaLink(baseline.deltaLink, "group");
      const listed: Record<string, unknown>[] = [];
      let pages = (
        await followPages(
          `${graphOrigin}/v1.0/groups?$select=${GROUP_SELECT.join(",")}&$top=${pageSize}`,
          token,
          signal,
          (items) => listed.push(...items),
        )
      ).pages;
      const groups = new Map<string, DiscoveredGroup>();
      for (const item of listed) {
        const id = str(item.id)?.toLowerCase();
        // Object IDs only: a listed ID goes into a URL path.
        if (!id || !/^[0-9a-f-]{36}$/.test(id)) continue;
        const memberIds = new Set<string>();
        const members = await followPages(
          `${graphOrigin}/v1.0/groups/${id}/members?$select=id&$top=${pageSize}`,
          token,
          signal,
          (items) => {
            for (const m of items) {
              const memberId = str(m.id)?.toLowerCase();
              if (memberId && m["@odata.type"] === "#microsoft.graph.user") memberIds.add(memberId);
            }
          },
        );
        pages += members.pages;
        groups.set(id, this.toGroup(item, undefined, memberIds, at));
      }
      return { groups, deltaLink: baseline.deltaLink, pages };
    }

    toGroup(
      item: Record<string, unknown>,
      previous: DiscoveredGroup | undefined,
      memberIds: ReadonlySet<string>,
      at: string,
    ): DiscoveredGroup {
      const pick = (name: "displayName" | "description") =>
        name in item ? str(item[name]) : (previous?.[name] ?? null);
      return {
        tenantId: this.config.tenantId,
        id: String(item.id).toLowerCase(),
        displayName: pick("displayName"),
        description: pick("description"),
        memberIds: [...memberIds].sort(),
        discoveredAt: at,
      };
    }

    /** Group discovery, delta: applies `/groups/delta` (groups removed, `members@delta` added or removed). */
    async groupDeltaSync(token: string, signal: AbortSignal, at: string): Promise<{ changed: number; pages: number }> {
      const changes: Record<string, unknown>[] = [];
      const result = await followPages(this.groupDeltaLink!, token, signal, (items) => changes.push(...items));
      requireDeltaLink(result.deltaLink, "group");
      let changed = 0;
      for (const item of changes) {
        const id = str(item.id)?.toLowerCase();
        if (!id) continue;
        changed += 1;
        if ("@removed" in item) {
          this.groups.delete(id);
          continue;
        }
        const previous = this.groups.get(id);
        const members = new Set(previous?.memberIds ?? []);
        const delta = Array.isArray(item["members@delta"]) ? (item["members@delta"] as Record<string, unknown>[]) : [];
        for (const m of delta) {
          const memberId = str(m?.id)?.toLowerCase();
          if (!memberId) continue;
          if ("@removed" in m) members.delete(memberId);
          else if (m["@odata.type"] === "#microsoft.graph.user") members.add(memberId);
        }
        this.groups.set(id, this.toGroup(item, previous, members, at));
      }
      this.groupDeltaLink = result.deltaLink;
      return { changed, pages: result.pages };
    }

    async deltaSync(signal: AbortSignal): Promise<void> {
      const token = await this.token("delta");
      const changes: Record<string, unknown>[] = [];
      let result: { deltaLink: string | undefined; pages: number };
      try {
        result = await followPages(this.deltaLink!, token, signal, (items) => changes.push(...items));
      } catch (err) {
        // Graph answers 410 (or 400 for a token it cannot read) when the delta state is gone: start over.
        if (err instanceof GraphRequestError && (err.status === 410 || err.status === 400)) {
          this.log?.warn({ err: err.message }, "entra user discovery: delta link refused, running a full sync");
          this.deltaLink = undefined;
          return this.fullSync(signal);
        }
        throw err;
      }
      requireDeltaLink(result.deltaLink, "user");
      const at = new Date(now()).toISOString();
      let upserted = 0;
      let removed = 0;
      for (const item of changes) {
        const id = str(item.id)?.toLowerCase();
        if (!id) continue;
        if ("@removed" in item) {
          if (this.users.delete(id)) removed += 1;
        } else {
          const user = this.toUser(item, this.users.get(id), at);
          if (user) {
            this.users.set(id, user);
            upserted += 1;
          }
        }
      }
      this.deltaLink = result.deltaLink;
      let groups: { changed: number; pages: number };
      try {
        groups = await this.groupDeltaSync(token, signal, at);
      } catch (err) {
        if (err instanceof GraphRequestError && (err.status === 410 || err.status === 400)) {
          this.log?.warn({ err: err.message }, "entra group discovery: delta link refused, running a full sync");
          return this.fullSync(signal);
        }
        throw err;
      }
      this.deltaSyncs += 1;
      this.lastDeltaSync = {
        at,
        upserted,
        removed,
        groupsChanged: groups.changed,
        pages: result.pages,
        groupPages: groups.pages,
      };
      this.log?.info(
        { upserted, removed, users: this.users.size, groupsChanged: groups.changed },
        "entra user discovery: delta sync done",
      );
    }

    async runOnce(requested: SyncKind): Promise<void> {
      const kind: SyncKind =
        requested === "full" || !this.deltaLink || now() - this.lastFullSyncMs >= fullSyncIntervalMs ? "full" : "delta";
      this.clearTimer();
      this.state = "syncing";
      const signal = this.abort.signal;
      try {
        if (kind === "full") await this.fullSync(signal);
        else await this.deltaSync(signal);
        this.consecutiveFailures = 0;
        this.lastSuccessAt = new Date(now()).toISOString();
        this.state = "synced";
        this.schedule(deltaIntervalMs, "delta");
      } catch (err) {
        if (stopped) return;
        const failedAt = now();
        const error = this.describeFailure(err, kind, failedAt);
        this.consecutiveFailures += 1;
        this.totalFailures += 1;
        this.lastError = error;
        this.state = error.transient ? "retrying" : "failing";
        const backoff = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(30, this.consecutiveFailures - 1));
        let delay = error.transient ? backoff : maxDelayMs;
        if (error.retryAfterMs !== undefined) delay = Math.max(delay, Math.min(error.retryAfterMs, maxDelayMs));
        this.schedule(delay, kind, failedAt);
        const fields = {
          stage: error.stage,
          aadsts: error.aadsts,
          status: error.status,
          retryInMs: delay,
          failures: this.consecutiveFailures,
        };
        if (error.transient) this.log?.warn(fields, `entra user discovery: ${kind} sync failed: ${error.message}`);
        else this.log?.error(fields, `entra user discovery: ${kind} sync failed: ${error.message}`);
      }
    }

    describeFailure(err: unknown, kind: SyncKind, atMs: number): SyncError {
      const at = new Date(atMs).toISOString();
      if (err instanceof TokenAcquisitionError) {
        return {
          at,
          kind,
          stage: "token",
          message: err.message,
          ...(err.aadsts ? { aadsts: err.aadsts } : {}),
          code: err.errorCode,
          ...(err.status !== undefined ? { status: err.status } : {}),
          ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
          transient: err.transient,
        };
      }
      if (err instanceof GraphRequestError) {
        // Graph refused the token: the next attempt gets a fresh one.
        if (err.status === 401) this.tokens.reset();
        return {
          at,
          kind,
          stage: "graph",
          message: err.message,
          code: err.code,
          ...(err.status !== undefined ? { status: err.status } : {}),
          ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
          transient: err.transient,
        };
      }
      return { at, kind, stage: "graph", message: err instanceof Error ? err.message : String(err), transient: true };
    }

    schedule(delayMs: number, kind: SyncKind, fromMs = now()): void {
      this.clearTimer();
      if (stopped) return;
      this.nextRunAt = fromMs + delayMs;
      this.nextRunKind = kind;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.run(kind);
      }, delayMs);
      this.timer.unref();
    }

    clearTimer(): void {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.nextRunAt = undefined;
      this.nextRunKind = undefined;
    }

    /** Single flight: a run while one is in flight waits for it, then runs. */
    async run(kind: SyncKind): Promise<void> {
      while (this.current) await this.current.catch(() => {});
      if (stopped) return;
      this.current = this.runOnce(kind).finally(() => {
        this.current = undefined;
      });
      return this.current;
    }

    status(): TenantDiscoveryStatus {
      return {
        tenantId: this.config.tenantId,
        ...(this.config.name ? { name: this.config.name } : {}),
        cloud: this.cloud,
        state: stopped ? "stopped" : this.state,
        users: this.users.size,
        groups: this.groups.size,
        fullSyncs: this.fullSyncs,
        deltaSyncs: this.deltaSyncs,
        ...(this.lastFullSync ? { lastFullSync: this.lastFullSync } : {}),
        ...(this.lastDeltaSync ? { lastDeltaSync: this.lastDeltaSync } : {}),
        ...(this.lastSuccessAt ? { lastSuccessAt: this.lastSuccessAt } : {}),
        consecutiveFailures: this.consecutiveFailures,
        totalFailures: this.totalFailures,
        ...(this.lastError ? { lastError: this.lastError } : {}),
        ...(this.nextRunAt !== undefined ? { nextRunAt: new Date(this.nextRunAt).toISOString() } : {}),
        ...(this.nextRunKind ? { nextRunKind: this.nextRunKind } : {}),
        tokenClients: this.tokens.instances,
      };
    }
  }

  const runners = options.tenants.map((t) => new TenantRunner(t));
  const select = (tenantId?: string) =>
    tenantId === undefined ? runners : runners.filter((r) => r.config.tenantId === tenantId.toLowerCase());

  return {
    start() {
      if (started || stopped) return;
      started = true;
      for (const r of runners) void r.run("full");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const r of runners) {
        r.clearTimer();
        r.abort.abort();
      }
      // msal requests cannot be aborted; wait for them a little, bounded by their own timeout anyway.
      const inFlight = runners.map((r) => r.current?.catch(() => {})).filter(Boolean);
      await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 2000).unref())]);
      await dispatcher.close().catch(() => {});
      await msalNetwork.close().catch(() => {});
    },
    status: () => ({ enabled: runners.length > 0, tenants: runners.map((r) => r.status()) }),
    users(tenantId) {
      return select(tenantId).flatMap((r) => [...r.users.values()]);
    },
    groups(tenantId) {
      return select(tenantId).flatMap((r) => [...r.groups.values()]);
    },
    async syncNow(opts = {}) {
      const chosen = select(opts.tenantId);
      await Promise.all(chosen.map((r) => r.run(opts.kind ?? "delta")));
      return chosen.map((r) => r.status());
    },
  };
}
