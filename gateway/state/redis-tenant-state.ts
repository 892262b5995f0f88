/**
 * Runtime tenant state shared by many gateway replicas through Redis (docs/operations.md § Shared tenant
 * state): one hash holds every tenant's state, one pub/sub channel says it changed.
 *
 * - `set`/`clear` write the hash and PUBLISH on the channel in one server-side script (atomic: a replica that
 *   hears the message and reads the hash sees the change), then answer with every state.
 * - `watch` calls back on each message, and each time the store (re)connects: a change made while this
 *   replica was cut off is picked up by that reload (resync).
 * - Fail static: while Redis cannot be reached, `set`/`clear`/`load` reject at once with
 *   {@link TenantStateUnavailableError} (no offline queue, no silent local change); the states in force stay
 *   with the caller (`admin/tenant-switch.ts` keeps them), so a disabled tenant stays disabled.
 * - A Redis that comes back without its data (restart without persistence, failover to an empty replica) is
 *   recognised by its epoch key; the store adds back the states it knew where none is stored (see SCRIPT).
 * - What is read is bounded on the server before it is sent (entry count, entry size) and validated here: a
 *   damaged or hostile hash is a load that fails, never a crash, never a tenant silently dropped.
 *
 * Two connections: one for commands, one in subscriber mode (Redis allows nothing else on it).
 *
 * @example
 * const store = createRedisTenantStateStore({ url: "redis://redis.internal:6379/0" });
 * store.onConnectionChange((up) => logger.warn({ up }, "shared tenant state connection"));
 * const states = await store.load(); // waits for the first connection, bounded
 * const stop = store.watch(() => void reload());
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import {
  parseTenantState,
  TENANT_ID_PATTERN,
  type TenantState,
  type TenantStateStore,
  type TenantStates,
  TenantStateUnavailableError,
} from "./tenant-state.js";

/** Options of {@link createRedisTenantStateStore}. */
export interface RedisTenantStateOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). Its password never appears in `where`. */
  readonly url: string;
  /** Redis' password (AUTH), kept out of the URL so the URL can be logged. */
  readonly password?: string | undefined;
  /** Prepended to the hash and channel names, so several gateways can share one Redis. */
  readonly keyPrefix?: string | undefined;
  /** How long a call made before the first connection waits for it before it rejects (default 10 s). */
  readonly connectWaitMs?: number | undefined;
  /** Bound on one command (a Redis that accepts the connection and never answers). */
  readonly commandTimeoutMs?: number | undefined;
  /** Longest pause between reconnection attempts. */
  readonly maxReconnectDelayMs?: number | undefined;
}

/** A {@link TenantStateStore} on Redis, with its connection state. */
export interface RedisTenantStateStore extends TenantStateStore {
  /** Both connections up and the channel subscribed: changes can be written and are heard. */
  readonly connected: boolean;
  /** The last connection error seen (for readiness detail), or undefined. */
  readonly lastError: string | undefined;
  /** Calls `onChange` on each published change and on each (re)connection; returns a function that stops it. */
  watch(onChange: () => void): () => void;
  /** Calls `listener` on every change of {@link connected}; returns a function that stops it. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /** Closes both connections; no reconnection after. */
  close(): Promise<void>;
}

/** Default {@link RedisTenantStateOptions.keyPrefix}. */
export const DEFAULT_REDIS_KEY_PREFIX = "entra-gateway:";

/** Most tenants one hash may hold (far above any site; a bound on what a hostile hash costs). */
export const MAX_SHARED_TENANTS = 10_000;

/** Largest field or value read from the hash, in bytes. */
export const MAX_SHARED_ENTRY_BYTES = 2_048;

/**
 * The one script every call runs (atomic on the server). KEYS: the hash, the epoch key. ARGV: operation
 * (`read` | `set` | `clear` | `reseed`), channel, max entries, max bytes, an epoch to set when there is none,
 * then the operation's tenant ID and value (`set`), tenant ID (`clear`), or ID/value pairs (`reseed`: added
 * only where absent). A write publishes on the channel. The answer is the epoch followed by every entry of the
 * hash, refused on the server when the hash holds more than max entries or one longer than max bytes, so an
 * oversized hash is never sent (a key that is not a hash: WRONGTYPE).
 *
 * The epoch is a random ID set once per Redis data set: a replica that finds another epoch than the one it
 * knew is talking to a Redis that lost its data (restarted without persistence, failed over to an empty
 * replica), and adds back the states it knew before it adopts what is there (fail static: a restart of
 * Redis never re-opens a tenant an operator closed).
 */
const SCRIPT = `
local op, channel = ARGV[1], ARGV[2]
local maxEntries, maxBytes = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('SET', KEYS[2], ARGV[5], 'NX')
if op == 'set' then
  redis.call('HSET', KEYS[1], ARGV[6], ARGV[7])
  redis.call('PUBLISH', channel, ARGV[6])
elseif op == 'clear' then
  redis.call('HDEL', KEYS[1], ARGV[6])
  redis.call('PUBLISH', channel, ARGV[6])
elseif op == 'reseed' then
  local added = 0
  for i = 6, #ARGV - 1, 2 do added = added + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
  if added > 0 then redis.call('PUBLISH', channel, 'reseed') end
end
local n = redis.call('HLEN', KEYS[1])
if n > maxEntries then return redis.error_reply('TOOBIG hash holds ' .. n .. ' entries') end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do
  if #all[i] > maxBytes then return redis.error_reply('TOOBIG an entry exceeds ' .. maxBytes .. ' bytes') end
end
table.insert(all, 1, redis.call('GET', KEYS[2]))
return all`;

type Operation = "read" | "set" | "clear" | "reseed";

/** The URL without its user information, for logs and answers. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/** ioredis answers with this error name when Redis itself refused the command (script error, WRONGTYPE). */
function isReplyError(err: unknown): boolean {
  return (err as { name?: unknown }).name === "ReplyError";
}

/**
 * Connects to Redis (at once, in the background, reconnecting for ever with a bounded pause) and returns the
 * store.
 *
 * @param options the URL, the key prefix, and bounds on waiting
 */
export function createRedisTenantStateStore(options: RedisTenantStateOptions): RedisTenantStateStore {
  const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
  const hashKey = `${prefix}tenant-state`;
  const channel = `${prefix}tenant-state:changed`;
  const epochKey = `${prefix}tenant-state:epoch`;
  const where = `redis ${redactRedisUrl(options.url)} hash ${hashKey}`;
  const maxDelay = options.maxReconnectDelayMs ?? 1_000;

  const clientOptions = {
    // Fail fast instead of queueing: a change while disconnected must be refused, not applied later.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    connectTimeout: options.commandTimeoutMs ?? 2_000,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, maxDelay),
    // The subscriber subscribes itself on every ready, so it knows when the subscription holds.
    autoResubscribe: false,
    connectionName: "entra-gateway",
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
  const commands = new Redis(options.url, clientOptions);
  const subscriber = new Redis(options.url, clientOptions);

  let subscribed = false;
  let connected = false;
  let closed = false;
  let lastError: string | undefined;
  const changeListeners = new Set<() => void>();
  const connectionListeners = new Set<(up: boolean) => void>();
  let everConnected = false;
  let firstConnected: () => void = () => undefined;
  const firstConnection = new Promise<void>((resolve) => {
    firstConnected = resolve;
  });

  const notifyChange = () => {
    for (const listener of changeListeners) listener();
  };
  const update = () => {
    const now = !closed && commands.status === "ready" && subscriber.status === "ready" && subscribed;
    if (now === connected) return;
    connected = now;
    if (now) {
      lastError = undefined;
      everConnected = true;
      firstConnected();
    }
    for (const listener of connectionListeners) listener(now);
    // (Re)connected: whatever changed while this replica could not hear it is read again.
    if (now) notifyChange();
  };
  const onError = (err: Error) => {
    lastError = err.message;
  };

  commands.on("error", onError);
  subscriber.on("error", onError);
  commands.on("ready", update);
  commands.on("close", update);
  commands.on("end", update);
  subscriber.on("close", () => {
    subscribed = false;
    update();
  });
  subscriber.on("end", update);
  subscriber.on("ready", () => {
    subscriber.subscribe(channel).then(
      () => {
        subscribed = true;
        update();
      },
      (err: unknown) => {
        lastError = `subscribe: ${(err as Error).message}`;
        // Drop the connection and let the reconnection subscribe again.
        if (!closed) subscriber.disconnect(true);
      },
    );
  });
  // The message itself is not read: any message means "read the hash again".
  subscriber.on("message", (from: string) => {
    if (from === channel) notifyChange();
  });

  const unavailable = (err?: unknown) =>
    new TenantStateUnavailableError(
      `${where}: ${err === undefined ? (lastError ?? "not connected") : (err as Error).message}`,
    );

  /** The epoch of the data set last read, and the states read then (added back if that data set is lost). */
  let epoch: string | undefined;
  let known: TenantStates = {};

  /** One script call; an unreachable Redis becomes the typed error, a refusal by Redis a plain one. */
  const call = async (op: Operation, args: readonly string[]): Promise<{ epoch: string; states: TenantStates }> => {
    if (commands.status !== "ready") throw unavailable();
    let reply: unknown;
    try {
      reply = await commands.eval(
        SCRIPT,
        2,
        hashKey,
        epochKey,
        op,
        channel,
        String(MAX_SHARED_TENANTS),
        String(MAX_SHARED_ENTRY_BYTES),
        randomUUID(),
        ...args,
      );
    } catch (err) {
      if (isReplyError(err)) throw new Error(`${where}: ${(err as Error).message}`);
      throw unavailable(err);
    }
    return parseReply(reply);
  };

  const parseReply = (reply: unknown): { epoch: string; states: TenantStates } => {
    if (!Array.isArray(reply) || reply.length % 2 !== 1 || typeof reply[0] !== "string") {
      throw new Error(`${where}: unexpected reply`);
    }
    const states: Record<string, TenantState> = {};
    for (let i = 1; i < reply.length; i += 2) {
      const id: unknown = reply[i];
      const value: unknown = reply[i + 1];
      if (typeof id !== "string" || typeof value !== "string") throw new Error(`${where}: unexpected reply`);
      let raw: unknown;
      try {
        raw = JSON.parse(value);
      } catch {
        raw = undefined;
      }
      states[id] = parseTenantState(id, raw, where);
    }
    return { epoch: reply[0], states };
  };

  /**
   * Runs one operation; when the data set is not the one last read (Redis lost it), adds back the states
   * known (where absent: a change made since wins) and reads again.
   */
  const run = async (op: Operation, args: readonly string[] = [], changing?: string): Promise<TenantStates> => {
    let answer = await call(op, args);
    if (epoch !== undefined && answer.epoch !== epoch) {
      // The tenant this call changes is not added back: the change is what stands.
      const pairs = Object.entries(known)
        .filter(([id]) => id !== changing)
        .flatMap(([id, state]) => [id, JSON.stringify(state)]);
      answer = await call("reseed", pairs);
    }
    epoch = answer.epoch;
    known = answer.states;
    return answer.states;
  };

  /** One operation at a time, so `known` and `epoch` follow the order of the answers. */
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = (work: () => Promise<TenantStates>): Promise<TenantStates> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };

  /**
   * Before the store ever connected (a process starting, the services CLI), waits for the first connection,
   * bounded; after that, never: an outage answers at once.
   */
  const firstConnectionMade = async () => {
    if (everConnected) return;
    let timer: NodeJS.Timeout | undefined;
    const made = await Promise.race([
      firstConnection.then(() => true),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), options.connectWaitMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
    if (!made) throw unavailable();
  };

  const write = (tenantId: string, state: TenantState | undefined): Promise<TenantStates> => {
    const id = tenantId.toLowerCase();
    if (!TENANT_ID_PATTERN.test(id)) throw new TypeError(`tenant ID ${JSON.stringify(id.slice(0, 64))} is not a GUID`);
    const value = state === undefined ? "" : JSON.stringify({ disabled: state.disabled, by: state.by, at: state.at });
    // Never write what the bounded read would refuse afterwards.
    if (Buffer.byteLength(value) > MAX_SHARED_ENTRY_BYTES) {
      throw new TypeError(`tenant state for ${id} is longer than ${MAX_SHARED_ENTRY_BYTES} bytes`);
    }
    if (!connected) throw unavailable();
    return serialized(() => (state === undefined ? run("clear", [id], id) : run("set", [id, value], id)));
  };

  return {
    where,
    get connected() {
      return connected;
    },
    get lastError() {
      return lastError;
    },
    load: async () => {
      await firstConnectionMade();
      return serialized(() => run("read"));
    },
    set: async (tenantId, state) => {
      await firstConnectionMade();
      return write(tenantId, state);
    },
    clear: async (tenantId) => {
      await firstConnectionMade();
      return write(tenantId, undefined);
    },
    watch(onChange) {
      changeListeners.add(onChange);
      return () => changeListeners.delete(onChange);
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    async close() {
      closed = true;
      changeListeners.clear();
      commands.disconnect();
      subscriber.disconnect();
      update();
      connectionListeners.clear();
    },
  };
}
