/**
 * Step 5 — which keys? The JWKS cache, one key set per (cloud, tenant, token version) (docs/architecture.md § Caches), following
 * Microsoft's signing-key rollover guidance (docs/architecture.md § Signing keys):
 *
 * - fetched at boot (requests for a set with no keys yet wait for that first fetch);
 * - refreshed in the background every `refreshIntervalMs` (±10 % jitter so tenants do not fetch in step);
 * - refreshed on an unknown `kid`, but at most once per `unknownKidCooldownMs` per set and within a global
 *   token-bucket budget, so a flood of random kids costs one fetch, not thousands;
 * - one fetch in flight per set (single-flight): concurrent misses share it;
 * - last good keys kept when a fetch fails; state fresh → stale → unavailable is explicit:
 *   fresh until the first failure after the last success (or until `ttlMs` after it), then stale for
 *   `staleWindowMs` (keys still served, unknown kids fail closed), then unavailable (503);
 * - a key missing from a successful fetch is gone at once: cached verdicts hold the key object they were
 *   verified with and are honoured only while {@link JwksStore.currentKey} still returns that object;
 * - an optional on-disk copy so a restart during an outage still serves;
 * - a {@link KeySetSnapshot} after every attempt (`onSnapshot`), so one store can fetch for many processes:
 *   the cluster primary's store fetches, its workers serve from replicas (`jwks-replica.ts`) that ask it on an
 *   unknown `kid` ({@link JwksStore.refetchUnknownKid}) and are handed every new key set.
 *
 * URLs come only from configuration (tenant templates), never from a token.
 */
import type { EnvironmentName, JwksSettings } from "../../config/schema.js";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import { importJwks, type VerificationKey } from "./jwk.js";
import { createRefetchBudget, type RefetchBudget } from "./refetch-budget.js";

/** Which key set to fetch, as derived from configuration by `tenants.ts`. */
export interface KeySetSpec {
  /** Stable identity: `{environment}/{tenantId}/v{version}`. */
  readonly id: string;
  readonly environment: EnvironmentName;
  readonly tenantId: string;
  readonly version: 1 | 2;
  readonly url: string;
}

/** Context for one fetch. */
export interface JwksFetchContext {
  /** Which environment's CA to trust. */
  readonly environment: EnvironmentName;
  /** Aborted when `fetchTimeoutMs` passes or the store closes. */
  readonly signal: AbortSignal;
  /** Refuse bodies larger than this. */
  readonly maxBytes: number;
}

/** Fetches and parses a JWKS document; rejects on any failure. Injected so tests need no network. */
export type JwksFetcher = (url: string, context: JwksFetchContext) => Promise<unknown>;

/** A stored copy of a successful fetch. */
export interface JwksDiskRecord {
  readonly url: string;
  readonly fetchedAtMs: number;
  readonly jwks: unknown;
}

/** Optional persistence of the last good JWKS per key set. */
export interface JwksDiskCache {
  load(id: string): Promise<JwksDiskRecord | undefined>;
  save(id: string, record: JwksDiskRecord): Promise<void>;
}

/** Health of one key set (docs/architecture.md § Caches). */
export type KeySetState = "fresh" | "stale" | "unavailable";

/** Why a fetch ran. */
export type FetchReason = "boot" | "background" | "retry" | "unknown_kid" | "manual";

/** Reported after every fetch attempt (metrics, logs). */
export interface JwksFetchEvent {
  readonly setId: string;
  readonly tenantId: string;
  readonly version: 1 | 2;
  readonly reason: FetchReason | "disk";
  readonly result: "ok" | "error";
  readonly keyCount: number;
  readonly durationMs: number;
  readonly error: string | undefined;
  /** Kids present before and absent now: revoked. */
  readonly removedKids: readonly string[];
  /** Keys in the document that were not usable, and why. */
  readonly skipped: readonly string[];
}

/** A key set's status, for `/readyz`, gauges and the admin API. */
export interface KeySetStatus {
  readonly id: string;
  readonly tenantId: string;
  readonly environment: EnvironmentName;
  readonly version: 1 | 2;
  readonly url: string;
  readonly state: KeySetState;
  readonly keyCount: number;
  /** Key ids currently served. */
  readonly kids: readonly string[];
  readonly fetchedAtMs: number | undefined;
  readonly lastAttemptAtMs: number | undefined;
  readonly lastError: string | undefined;
  readonly consecutiveFailures: number;
  readonly nextAttemptAtMs: number | undefined;
}

/**
 * One key set as another process needs it to serve the same keys (`jwks-replica.ts`): the last good JWKS
 * document as fetched, and the times its state is computed from. Plain data (it crosses IPC).
 */
export interface KeySetSnapshot {
  readonly id: string;
  readonly url: string;
  /** The last good JWKS document (undefined: none yet). */
  readonly document: unknown;
  readonly fetchedAtMs: number | undefined;
  /** First failed attempt since the last success. */
  readonly firstFailureAtMs: number | undefined;
  readonly lastAttemptAtMs: number | undefined;
  readonly lastError: string | undefined;
  readonly consecutiveFailures: number;
  readonly nextAttemptAtMs: number | undefined;
  /** No unknown-`kid` refresh is worth asking for before then (the set's cooldown, or the global budget spent). */
  readonly unknownKidRefetchAfterMs: number;
  /** The first (boot) attempt has finished. */
  readonly settled: boolean;
}

/**
 * A key set's state from its times (docs/architecture.md § Caches): fresh until the first failure after the
 * last success (or until `ttlMs` after it), then stale for `staleWindowMs`, then unavailable.
 *
 * @param times when it was last fetched (undefined: never, so no keys) and first failed since
 * @param now the current time
 * @param settings `auth.jwks`
 */
export function keySetState(
  times: { readonly fetchedAtMs: number | undefined; readonly firstFailureAtMs: number | undefined },
  now: number,
  settings: Pick<JwksSettings, "ttlMs" | "staleWindowMs">,
): KeySetState {
  if (times.fetchedAtMs === undefined) return "unavailable";
  const expiresFresh = times.fetchedAtMs + settings.ttlMs;
  const staleSince =
    times.firstFailureAtMs === undefined ? expiresFresh : Math.min(times.firstFailureAtMs, expiresFresh);
  if (now < staleSince) return "fresh";
  return now - staleSince <= settings.staleWindowMs ? "stale" : "unavailable";
}

/**
 * A key set's status from its spec, its keys and the times of its snapshot (the store's and a replica's alike).
 *
 * @param spec which set
 * @param keys the keys served now
 * @param snapshot its times
 * @param state its state now ({@link keySetState})
 */
export function keySetStatus(
  spec: KeySetSpec,
  keys: ReadonlyMap<string, VerificationKey> | undefined,
  snapshot: Omit<KeySetSnapshot, "id" | "url" | "document" | "unknownKidRefetchAfterMs" | "settled"> | undefined,
  state: KeySetState,
): KeySetStatus {
  return {
    id: spec.id,
    tenantId: spec.tenantId,
    environment: spec.environment,
    version: spec.version,
    url: spec.url,
    state,
    keyCount: keys?.size ?? 0,
    kids: keys === undefined ? [] : [...keys.keys()],
    fetchedAtMs: keys === undefined ? undefined : snapshot?.fetchedAtMs,
    lastAttemptAtMs: snapshot?.lastAttemptAtMs,
    lastError: snapshot?.lastError,
    consecutiveFailures: snapshot?.consecutiveFailures ?? 0,
    nextAttemptAtMs: snapshot?.nextAttemptAtMs,
  };
}

/** A failed key lookup. */
export interface KeyLookupFailure {
  readonly reason: "key_not_found" | "keys_unavailable";
  readonly retryAfterSec: number | undefined;
}

/** A key, or why there is none. */
export type KeyLookup = VerificationKey | KeyLookupFailure;

/** The JWKS cache. */
export interface JwksStore {
  /**
   * Makes the registered key sets exactly `specs`: new ones are created and fetched at once (boot), removed
   * ones stopped, ones whose URL changed are replaced. Call at start and after every config reload.
   */
  sync(specs: readonly KeySetSpec[]): void;
  /** Resolves once every current key set has finished its first fetch attempt (success or not). */
  whenSettled(): Promise<void>;
  /**
   * The hot-path look-up: the key for `kid`, synchronously when it is cached, or a promise when a fetch
   * must (or already does) run first.
   */
  lookupKey(setId: string, kid: string): KeyLookup | Promise<KeyLookup>;
  /** Synchronous check for cached verdicts: the usable key for `kid` now, never fetching. */
  currentKey(setId: string, kid: string): KeyLookup;
  /** Forces a refresh of every key set (admin `POST /jwks/refresh`); bypasses cooldown and budget. */
  refreshAll(): Promise<void>;
  /**
   * An unknown `kid` was seen for `setId` elsewhere (a cluster worker): refreshes it as {@link lookupKey}
   * would — joining a fetch in flight, within the set's cooldown and the global budget — and resolves once
   * that is done (at once when the cooldown or budget says no).
   */
  refetchUnknownKid(setId: string): Promise<void>;
  /** Every key set as a {@link KeySetSnapshot}. */
  snapshots(): KeySetSnapshot[];
  /** Status of every key set. */
  statuses(): KeySetStatus[];
  /** Stops timers and in-flight fetches. */
  close(): void;
}

/** Options of {@link createJwksStore}. */
export interface JwksStoreOptions {
  readonly fetcher: JwksFetcher;
  readonly settings: JwksSettings;
  readonly clock?: Clock;
  /** Uniform [0, 1) for jitter; injectable for deterministic tests. */
  readonly random?: () => number;
  readonly diskCache?: JwksDiskCache;
  readonly onFetch?: (event: JwksFetchEvent) => void;
  /** Called when writing the disk copy fails (the fetch itself still counts as a success). */
  readonly onDiskError?: (setId: string, error: Error) => void;
  /** Called with the set's snapshot after every fetch attempt and disk load (handing keys to other processes). */
  readonly onSnapshot?: (snapshot: KeySetSnapshot) => void;
}

const KEY_NOT_FOUND: KeyLookupFailure = Object.freeze({ reason: "key_not_found", retryAfterSec: undefined });
const JITTER = 0.1;
/** After the global budget refused an unknown-`kid` refresh, how long other processes are told to wait. */
const BUDGET_RETRY_MS = 1_000;

class KeySet {
  keys: ReadonlyMap<string, VerificationKey> | undefined;
  /** The JWKS document `keys` came from. */
  document: unknown;
  fetchedAt = Number.NEGATIVE_INFINITY;
  /** First failed attempt since the last success. */
  firstFailureAt: number | undefined;
  lastAttemptAt: number | undefined;
  lastError: string | undefined;
  consecutiveFailures = 0;
  lastUnknownKidRefreshAt = Number.NEGATIVE_INFINITY;
  budgetRefusedAt = Number.NEGATIVE_INFINITY;
  settled = false;
  inflight: Promise<void> | undefined;
  /** Settles once the first attempt (boot) has finished. */
  booted: Promise<void> | undefined;
  timer: TimerHandle | undefined;
  nextAttemptAt: number | undefined;
  abort: AbortController | undefined;
  closed = false;

  constructor(readonly spec: KeySetSpec) {}

  state(now: number, settings: JwksSettings): KeySetState {
    return keySetState(
      { fetchedAtMs: this.keys === undefined ? undefined : this.fetchedAt, firstFailureAtMs: this.firstFailureAt },
      now,
      settings,
    );
  }
}

/**
 * Creates the JWKS cache. Nothing is fetched until {@link JwksStore.sync}.
 *
 * @param options fetcher, settings (from `auth.jwks`), clock, disk cache, event hooks
 * @example
 * const keys = createJwksStore({ fetcher, settings: config.auth.jwks });
 * keys.sync(registry.keySets);
 * await keys.whenSettled(); // readiness
 */
export function createJwksStore(options: JwksStoreOptions): JwksStore {
  const { fetcher, settings, diskCache, onFetch, onDiskError, onSnapshot } = options;
  if (typeof fetcher !== "function") throw new TypeError("createJwksStore: fetcher must be a function");
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const sets = new Map<string, KeySet>();
  const budget: RefetchBudget = createRefetchBudget(settings.globalRefetchBudgetPerMinute, clock.now());
  let closed = false;

  const retryAfter = (set: KeySet, now: number): number | undefined =>
    set.nextAttemptAt === undefined ? undefined : Math.max(1, Math.ceil((set.nextAttemptAt - now) / 1000));

  const unavailable = (set: KeySet, now: number): KeyLookupFailure => ({
    reason: "keys_unavailable",
    retryAfterSec: retryAfter(set, now),
  });

  const schedule = (set: KeySet, delayMs: number, reason: FetchReason): void => {
    if (set.closed) return;
    if (set.timer !== undefined) clock.clearTimeout(set.timer);
    const delay = Math.max(0, Math.round(delayMs));
    set.nextAttemptAt = clock.now() + delay;
    set.timer = clock.setTimeout(() => {
      set.timer = undefined;
      void refresh(set, reason);
    }, delay);
  };

  const jittered = (ms: number): number => ms * (1 - JITTER + 2 * JITTER * random());

  const emit = (event: JwksFetchEvent): void => {
    if (onFetch === undefined) return;
    try {
      onFetch(event);
    } catch {
      // An observer's bug must not break key handling.
    }
  };

  const snapshotOf = (set: KeySet): KeySetSnapshot => ({
    id: set.spec.id,
    url: set.spec.url,
    document: set.document,
    fetchedAtMs: set.keys === undefined ? undefined : set.fetchedAt,
    firstFailureAtMs: set.firstFailureAt,
    lastAttemptAtMs: set.lastAttemptAt,
    lastError: set.lastError,
    consecutiveFailures: set.consecutiveFailures,
    nextAttemptAtMs: set.nextAttemptAt,
    unknownKidRefetchAfterMs: Math.max(
      set.lastUnknownKidRefreshAt + settings.unknownKidCooldownMs,
      set.budgetRefusedAt + BUDGET_RETRY_MS,
    ),
    settled: set.settled,
  });

  const handOut = (set: KeySet): void => {
    if (onSnapshot === undefined || set.closed) return;
    try {
      onSnapshot(snapshotOf(set));
    } catch {
      // A receiver's bug must not break key handling.
    }
  };

  /** Installs a successfully imported key set. */
  const install = (
    set: KeySet,
    keys: ReadonlyMap<string, VerificationKey>,
    document: unknown,
    fetchedAt: number,
    fromNetwork: boolean,
  ): string[] => {
    const removed: string[] = [];
    if (set.keys !== undefined) {
      for (const kid of set.keys.keys()) if (!keys.has(kid)) removed.push(kid);
    }
    set.keys = keys;
    set.document = document;
    set.fetchedAt = fetchedAt;
    if (fromNetwork) {
      set.firstFailureAt = undefined;
      set.consecutiveFailures = 0;
      set.lastError = undefined;
    }
    return removed;
  };

  const loadFromDisk = async (set: KeySet): Promise<void> => {
    if (diskCache === undefined) return;
    const started = clock.now();
    try {
      const record = await diskCache.load(set.spec.id);
      if (record === undefined || record.url !== set.spec.url || set.keys !== undefined || set.closed) return;
      const imported = importJwks(record.jwks);
      if (!imported.ok || imported.keys.size === 0) return;
      install(set, imported.keys, record.jwks, record.fetchedAtMs, false);
      handOut(set);
      emit({
        setId: set.spec.id,
        tenantId: set.spec.tenantId,
        version: set.spec.version,
        reason: "disk",
        result: "ok",
        keyCount: imported.keys.size,
        durationMs: clock.now() - started,
        error: undefined,
        removedKids: [],
        skipped: imported.skipped,
      });
    } catch {
      // A missing or corrupt copy just means no head start.
    }
  };

  const fetchOnce = async (set: KeySet, reason: FetchReason): Promise<void> => {
    if (reason === "boot") await loadFromDisk(set);
    if (set.closed) return;
    const started = clock.now();
    set.lastAttemptAt = started;
    const controller = new AbortController();
    set.abort = controller;
    let timeout: TimerHandle | undefined;
    const timedOut = new Promise<never>((_, rejectTimeout) => {
      timeout = clock.setTimeout(() => {
        const error = new Error(`JWKS fetch timed out after ${settings.fetchTimeoutMs} ms`);
        controller.abort(error);
        rejectTimeout(error);
      }, settings.fetchTimeoutMs);
    });
    let error: string | undefined;
    let removed: string[] = [];
    let skipped: readonly string[] = [];
    let keyCount = set.keys?.size ?? 0;
    try {
      const document = await Promise.race([
        fetcher(set.spec.url, {
          environment: set.spec.environment,
          signal: controller.signal,
          maxBytes: settings.maxBytes,
        }),
        timedOut,
      ]);
      if (set.closed) return;
      const imported = importJwks(document, set.keys);
      if (!imported.ok) {
        error = imported.error;
      } else if (imported.keys.size === 0) {
        // An empty set would revoke every key at once; treat it as a broken answer and keep the last good keys.
        error = "JWKS document has no usable signing keys";
        skipped = imported.skipped;
      } else {
        const fetchedAt = clock.now();
        removed = install(set, imported.keys, document, fetchedAt, true);
        skipped = imported.skipped;
        keyCount = imported.keys.size;
        if (diskCache !== undefined) {
          diskCache
            .save(set.spec.id, { url: set.spec.url, fetchedAtMs: fetchedAt, jwks: document })
            .catch((err: unknown) => onDiskError?.(set.spec.id, err instanceof Error ? err : new Error(String(err))));
        }
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    } finally {
      if (timeout !== undefined) clock.clearTimeout(timeout);
      set.abort = undefined;
    }
    if (set.closed) return;
    if (error === undefined) {
      schedule(set, jittered(settings.refreshIntervalMs), "background");
    } else {
      set.consecutiveFailures += 1;
      set.firstFailureAt ??= clock.now();
      set.lastError = error;
      // Exponential back-off, never later than the regular refresh would be.
      const backoff = Math.min(
        settings.retryMaxMs,
        settings.refreshIntervalMs,
        settings.retryMinMs * 2 ** Math.min(30, set.consecutiveFailures - 1),
      );
      schedule(set, jittered(backoff), "retry");
    }
    if (reason === "boot") set.settled = true;
    handOut(set);
    emit({
      setId: set.spec.id,
      tenantId: set.spec.tenantId,
      version: set.spec.version,
      reason,
      result: error === undefined ? "ok" : "error",
      keyCount,
      durationMs: clock.now() - started,
      error,
      removedKids: removed,
      skipped,
    });
  };

  /** Single-flight: at most one fetch per key set at any time. */
  const refresh = (set: KeySet, reason: FetchReason): Promise<void> => {
    if (set.inflight !== undefined) return set.inflight;
    if (set.closed) return Promise.resolve();
    const run = fetchOnce(set, reason).finally(() => {
      set.inflight = undefined;
    });
    set.inflight = run;
    return run;
  };

  /**
   * An unknown `kid` for `set`: joins a fetch in flight, else refreshes within the set's cooldown and the global
   * budget. Undefined when neither allows a fetch.
   */
  const refreshForUnknownKid = (set: KeySet, now: number): Promise<void> | undefined => {
    if (set.inflight !== undefined) return set.inflight;
    if (now - set.lastUnknownKidRefreshAt < settings.unknownKidCooldownMs) return undefined;
    if (!budget.tryTake(now)) {
      set.budgetRefusedAt = now;
      return undefined;
    }
    set.lastUnknownKidRefreshAt = now;
    return refresh(set, "unknown_kid");
  };

  /** After a fetch: the key if present now, no further fetch. */
  const lookupCached = (set: KeySet, kid: string): KeyLookup => {
    const now = clock.now();
    if (set.state(now, settings) === "unavailable") return unavailable(set, now);
    return set.keys?.get(kid) ?? KEY_NOT_FOUND;
  };

  return {
    sync(specs: readonly KeySetSpec[]): void {
      if (closed) throw new Error("JwksStore is closed");
      const wanted = new Map(specs.map((s) => [s.id, s]));
      for (const [id, set] of sets) {
        const spec = wanted.get(id);
        if (spec === undefined || spec.url !== set.spec.url || spec.environment !== set.spec.environment) {
          set.closed = true;
          if (set.timer !== undefined) clock.clearTimeout(set.timer);
          set.abort?.abort(new Error("key set removed"));
          sets.delete(id);
        }
      }
      for (const spec of specs) {
        if (sets.has(spec.id)) continue;
        const set = new KeySet(spec);
        sets.set(spec.id, set);
        set.booted = refresh(set, "boot");
      }
    },

    async whenSettled(): Promise<void> {
      await Promise.all([...sets.values()].map((s) => s.booted));
    },

    lookupKey(setId: string, kid: string): KeyLookup | Promise<KeyLookup> {
      const set = sets.get(setId);
      const now = clock.now();
      if (set === undefined) return { reason: "keys_unavailable", retryAfterSec: undefined };
      if (set.keys === undefined) {
        // First request before the boot fetch finished: wait for it rather than failing.
        if (set.inflight !== undefined) return set.inflight.then(() => lookupCached(set, kid));
        return unavailable(set, now);
      }
      if (set.state(now, settings) === "unavailable") return unavailable(set, now);
      const key = set.keys.get(kid);
      if (key !== undefined) return key;
      // Unknown kid: maybe a rotation. Join a fetch already running, else refresh within cooldown and budget.
      const refreshing = refreshForUnknownKid(set, now);
      return refreshing === undefined ? KEY_NOT_FOUND : refreshing.then(() => lookupCached(set, kid));
    },

    currentKey(setId: string, kid: string): KeyLookup {
      const set = sets.get(setId);
      if (set === undefined) return KEY_NOT_FOUND;
      const now = clock.now();
      if (set.state(now, settings) === "unavailable") return unavailable(set, now);
      return set.keys?.get(kid) ?? KEY_NOT_FOUND;
    },

    async refreshAll(): Promise<void> {
      await Promise.all([...sets.values()].map((s) => refresh(s, "manual")));
    },

    async refetchUnknownKid(setId: string): Promise<void> {
      const set = sets.get(setId);
      if (set === undefined) return;
      // Before the first keys, the boot fetch (or its retries) is the one to wait for.
      if (set.keys === undefined) return set.inflight;
      await refreshForUnknownKid(set, clock.now());
    },

    snapshots(): KeySetSnapshot[] {
      return [...sets.values()].map(snapshotOf);
    },

    statuses(): KeySetStatus[] {
      const now = clock.now();
      return [...sets.values()].map((s) => keySetStatus(s.spec, s.keys, snapshotOf(s), s.state(now, settings)));
    },

    close(): void {
      closed = true;
      for (const set of sets.values()) {
        set.closed = true;
        if (set.timer !== undefined) clock.clearTimeout(set.timer);
        set.abort?.abort(new Error("JWKS store closed"));
      }
    },
  };
}

/**
 * Is a lookup result a key (rather than a failure)?
 *
 * @param lookup from {@link JwksStore.lookupKey} or {@link JwksStore.currentKey}
 */
export function isKey(lookup: KeyLookup): lookup is VerificationKey {
  return "key" in lookup;
}
