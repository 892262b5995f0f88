/**
 * Step 5 for a process that does not fetch: a {@link JwksStore} served from key sets another process fetched
 * (docs/operations.md § Workers). With `serve --workers N` the primary's store is the only one that fetches
 * JWKS on the host; each worker holds a replica, is handed every key set after each of the primary's attempts
 * ({@link JwksReplica.accept}), and asks through its {@link KeySource} when a token names a `kid` it does not
 * have. The primary applies the cooldown, the global budget and single-flight for the whole host, so a flood
 * of random kids on every worker costs one fetch per cooldown, not one per worker.
 *
 * The replica judges state (fresh, stale, unavailable) from the snapshot's times with the same rule as the
 * store (`keySetState`), and a key set's key objects survive a new snapshot when the key is unchanged, so
 * cached verdicts stay valid until a key is really gone. No timer of its own fetches anything.
 */
import type { JwksSettings } from "../../config/schema.js";
import { type Clock, systemClock, type TimerHandle } from "../clock.js";
import { importJwks, type VerificationKey } from "./jwk.js";
import {
  type JwksStore,
  type KeyLookup,
  type KeyLookupFailure,
  type KeySetSnapshot,
  type KeySetSpec,
  type KeySetStatus,
  keySetState,
  keySetStatus,
} from "./jwks-store.js";

/** Where a replica's key sets come from. */
export interface KeySource {
  /**
   * Asks for a key set: after an unknown `kid` (the source refreshes it within its cooldown and budget) or an
   * operator's refresh (`manual`). The answer arrives as a snapshot through {@link JwksReplica.accept}.
   */
  request(setId: string, reason: "unknown_kid" | "manual"): void;
}

/** A JWKS store fed by snapshots. */
export interface JwksReplica extends JwksStore {
  /** Takes a key set as the fetching process has it now (before or after `sync` names it). */
  accept(snapshot: KeySetSnapshot): void;
}

/** Options of {@link createJwksReplica}. */
export interface JwksReplicaOptions {
  readonly source: KeySource;
  readonly settings: JwksSettings;
  readonly clock?: Clock;
}

const KEY_NOT_FOUND: KeyLookupFailure = Object.freeze({ reason: "key_not_found", retryAfterSec: undefined });

/** How long past the source's own fetch timeout an answer may take before a waiting request gives up. */
const ANSWER_GRACE_MS = 5_000;

interface ReplicaSet {
  readonly spec: KeySetSpec;
  snapshot: KeySetSnapshot | undefined;
  keys: ReadonlyMap<string, VerificationKey> | undefined;
  /** An unknown-kid question is on its way to the source. */
  asked: boolean;
  /** Resolved by the next snapshot of this set (or by a timeout, or close). */
  readonly waiters: Set<() => void>;
}

/**
 * Creates a replica. It serves nothing until `sync` names its key sets and snapshots arrive.
 *
 * @param options the source to ask, the `auth.jwks` settings, a clock
 * @example
 * const keys = createJwksReplica({ settings: config.auth.jwks, source: { request: (id, why) => ask(id, why) } });
 * onMessage((snapshot) => keys.accept(snapshot));
 */
export function createJwksReplica(options: JwksReplicaOptions): JwksReplica {
  const { source, settings } = options;
  const clock = options.clock ?? systemClock;
  const waitLimitMs = settings.fetchTimeoutMs + ANSWER_GRACE_MS;
  const sets = new Map<string, ReplicaSet>();
  /** The latest snapshot of every set the source has mentioned, synced here or not (yet). */
  const latest = new Map<string, KeySetSnapshot>();
  let closed = false;

  const install = (set: ReplicaSet, snapshot: KeySetSnapshot): void => {
    if (snapshot.document !== undefined) {
      const imported = importJwks(snapshot.document, set.keys);
      // The source installs only documents with usable keys; one that does not import here changes nothing.
      if (imported.ok && imported.keys.size > 0) set.keys = imported.keys;
    }
    set.snapshot = snapshot;
    set.asked = false;
    wake(set);
  };

  const wake = (set: ReplicaSet): void => {
    for (const done of [...set.waiters]) done();
  };

  /** Resolves at the set's next snapshot, or after {@link waitLimitMs} (the source is gone or late). */
  const nextSnapshot = (set: ReplicaSet): Promise<void> =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      let timer: TimerHandle | undefined;
      const done = () => {
        set.waiters.delete(done);
        if (timer !== undefined) clock.clearTimeout(timer);
        resolve();
      };
      set.waiters.add(done);
      timer = clock.setTimeout(() => {
        set.asked = false;
        done();
      }, waitLimitMs);
    });

  const unavailable = (set: ReplicaSet, now: number): KeyLookupFailure => {
    const next = set.snapshot?.nextAttemptAtMs;
    return {
      reason: "keys_unavailable",
      retryAfterSec: next === undefined ? undefined : Math.max(1, Math.ceil((next - now) / 1000)),
    };
  };

  const state = (set: ReplicaSet, now: number) =>
    keySetState(
      {
        fetchedAtMs: set.keys === undefined ? undefined : set.snapshot?.fetchedAtMs,
        firstFailureAtMs: set.snapshot?.firstFailureAtMs,
      },
      now,
      settings,
    );

  const lookupCached = (set: ReplicaSet, kid: string): KeyLookup => {
    const now = clock.now();
    if (state(set, now) === "unavailable") return unavailable(set, now);
    return set.keys?.get(kid) ?? KEY_NOT_FOUND;
  };

  return {
    accept(snapshot: KeySetSnapshot): void {
      if (closed) return;
      latest.set(snapshot.id, snapshot);
      const set = sets.get(snapshot.id);
      if (set !== undefined && set.spec.url === snapshot.url) install(set, snapshot);
    },

    sync(specs: readonly KeySetSpec[]): void {
      if (closed) throw new Error("JwksReplica is closed");
      const wanted = new Map(specs.map((s) => [s.id, s]));
      for (const [id, set] of sets) {
        const spec = wanted.get(id);
        if (spec === undefined || spec.url !== set.spec.url || spec.environment !== set.spec.environment) {
          sets.delete(id);
          wake(set);
        }
      }
      for (const spec of specs) {
        if (sets.has(spec.id)) continue;
        const set: ReplicaSet = { spec, snapshot: undefined, keys: undefined, asked: false, waiters: new Set() };
        sets.set(spec.id, set);
        const known = latest.get(spec.id);
        if (known !== undefined && known.url === spec.url) install(set, known);
      }
    },

    async whenSettled(): Promise<void> {
      await Promise.all(
        [...sets.values()].map(async (set) => {
          const until = clock.now() + waitLimitMs;
          while (!closed && set.snapshot?.settled !== true && clock.now() < until && sets.get(set.spec.id) === set) {
            await nextSnapshot(set);
          }
        }),
      );
    },

    lookupKey(setId: string, kid: string): KeyLookup | Promise<KeyLookup> {
      const set = sets.get(setId);
      if (set === undefined) return { reason: "keys_unavailable", retryAfterSec: undefined };
      const now = clock.now();
      if (set.keys === undefined) {
        // First request before the source's boot fetch finished: wait for it rather than failing.
        if (set.snapshot?.settled !== true) return nextSnapshot(set).then(() => lookupCached(set, kid));
        return unavailable(set, now);
      }
      if (state(set, now) === "unavailable") return unavailable(set, now);
      const key = set.keys.get(kid);
      if (key !== undefined) return key;
      // Unknown kid: maybe a rotation. One question per set at a time, none while the source's cooldown runs.
      if (!set.asked) {
        if (now < (set.snapshot?.unknownKidRefetchAfterMs ?? Number.NEGATIVE_INFINITY)) return KEY_NOT_FOUND;
        set.asked = true;
        source.request(setId, "unknown_kid");
      }
      return nextSnapshot(set).then(() => lookupCached(set, kid));
    },

    currentKey(setId: string, kid: string): KeyLookup {
      const set = sets.get(setId);
      if (set === undefined) return KEY_NOT_FOUND;
      return lookupCached(set, kid);
    },

    async refreshAll(): Promise<void> {
      await Promise.all(
        [...sets.values()].map((set) => {
          source.request(set.spec.id, "manual");
          return nextSnapshot(set);
        }),
      );
    },

    async refetchUnknownKid(setId: string): Promise<void> {
      const set = sets.get(setId);
      if (set === undefined) return;
      source.request(setId, "unknown_kid");
      await nextSnapshot(set);
    },

    snapshots(): KeySetSnapshot[] {
      return [...sets.values()].flatMap((set) => (set.snapshot === undefined ? [] : [set.snapshot]));
    },

    statuses(): KeySetStatus[] {
      const now = clock.now();
      return [...sets.values()].map((set) => keySetStatus(set.spec, set.keys, set.snapshot, state(set, now)));
    },

    close(): void {
      closed = true;
      for (const set of sets.values()) wake(set);
    },
  };
}
