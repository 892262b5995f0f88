/**
 * Runtime tenant state: the per-tenant disable/enable an operator sets in an incident (admin API, services
 * CLI), kept apart from the configuration file so it never depends on that file being writable or valid.
 *
 * Precedence: a tenant's runtime state, when it has one, overrides the file's `disableAuthentication`; a
 * tenant without runtime state follows the file. Runtime state of a tenant the file no longer lists is kept
 * and has no effect. `clear` hands the tenant back to the file.
 *
 * {@link TenantStateStore} is the seam for other stores (a shared one for many replicas); the file store
 * keeps `tenant-state.json` in the state directory, written atomically (temporary file, fsync, rename).
 *
 * @example
 * const store = createFileTenantStateStore(".state");
 * await store.set("0b1c…", { disabled: true, by: "admin key 3f2a… from 127.0.0.1", at: new Date().toISOString() });
 * const effective = applyTenantStates(fileConfig, await store.load());
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, watch as watchFolder } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type AzureService, deepFreeze, type GatewayConfig } from "../config/types.js";

/** One tenant's runtime state: what was set, by whom, when. */
export interface TenantState {
  readonly disabled: boolean;
  /** Who set it (admin key fingerprint and address, or the CLI's user). */
  readonly by: string;
  /** ISO 8601 time it was set. */
  readonly at: string;
}

/** Runtime states by lower-case tenant ID. */
export type TenantStates = Readonly<Record<string, TenantState>>;

/** Where runtime tenant state lives. */
export interface TenantStateStore {
  /** A description for logs (`file /var/lib/…/tenant-state.json`). */
  readonly where: string;
  /** Every tenant's state; empty when nothing was ever set. Throws when the store cannot be read. */
  load(): Promise<TenantStates>;
  /** Sets one tenant's state durably; resolves with all states once stored. */
  set(tenantId: string, state: TenantState): Promise<TenantStates>;
  /** Removes one tenant's state (it follows the file again); resolves with all states once stored. */
  clear(tenantId: string): Promise<TenantStates>;
  /**
   * Calls `onChange` when the stored states may have changed from outside this process (another writer:
   * the services CLI, another replica); returns a function that stops watching.
   */
  watch?(onChange: () => void): () => void;
  /**
   * A shared store only (Redis): whether it can be reached now. A local store is always reachable and leaves
   * this undefined.
   */
  readonly connected?: boolean;
  /** A shared store only: the last connection error, for readiness detail. */
  readonly lastError?: string | undefined;
  /** A shared store only: calls `listener` when {@link connected} changes; returns a function that stops it. */
  onConnectionChange?(listener: (connected: boolean) => void): () => void;
  /** Releases what the store holds open (connections); a store without any leaves this undefined. */
  close?(): Promise<void>;
}

/** The file name in the state directory. */
export const TENANT_STATE_FILE = "tenant-state.json";

/** Largest state file read (a bound on what a damaged or hostile file can cost). */
const MAX_STATE_FILE_BYTES = 4 * 1_048_576;

/** A tenant ID as stored: a lower-case GUID. */
export const TENANT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * One stored entry, checked: a lower-case GUID and `{ disabled, by, at }`; anything else throws, naming the
 * entry (cut short) and where it was read. Every store reads its entries through this.
 *
 * @param id the entry's tenant ID as stored
 * @param raw the entry's parsed value
 * @param where the store, for the message
 */
export function parseTenantState(id: string, raw: unknown, where: string): TenantState {
  const s = raw as Partial<TenantState> | null | undefined;
  if (
    !TENANT_ID_PATTERN.test(id) ||
    typeof s?.disabled !== "boolean" ||
    typeof s.by !== "string" ||
    typeof s.at !== "string"
  ) {
    throw new Error(`${where}: tenant entry ${JSON.stringify(id.slice(0, 64))} is malformed`);
  }
  return { disabled: s.disabled, by: s.by, at: s.at };
}

/**
 * A shared store that cannot be reached now (its connection is down or a command timed out): nothing was
 * stored; the states in force stay as they are. The admin API answers 503 with `state_unavailable`.
 */
export class TenantStateUnavailableError extends Error {
  readonly code = "ERR_TENANT_STATE_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "TenantStateUnavailableError";
  }
}

function parseStates(text: string, file: string): TenantStates {
  const doc = JSON.parse(text) as { version?: unknown; tenants?: unknown };
  if (doc.version !== 1 || typeof doc.tenants !== "object" || doc.tenants === null) {
    throw new Error(`${file}: not a tenant state file (version 1)`);
  }
  const out: Record<string, TenantState> = {};
  for (const [id, raw] of Object.entries(doc.tenants as Record<string, unknown>)) {
    out[id] = parseTenantState(id, raw, file);
  }
  return out;
}

/**
 * The file store: `{stateDir}/tenant-state.json`.
 *
 * @param stateDir the state directory (created when missing, mode 0700)
 */
export function createFileTenantStateStore(stateDir: string): TenantStateStore {
  const file = join(stateDir, TENANT_STATE_FILE);
  let queue: Promise<unknown> = Promise.resolve();

  const load = async (): Promise<TenantStates> => {
    let text: string;
    try {
      const handle = await open(file, "r");
      try {
        const { size } = await handle.stat();
        if (size > MAX_STATE_FILE_BYTES) throw new Error(`${file}: larger than ${MAX_STATE_FILE_BYTES} bytes`);
        text = await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return {};
      throw err;
    }
    return parseStates(text, file);
  };

  const write = async (states: TenantStates): Promise<void> => {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const temp = join(stateDir, `.${TENANT_STATE_FILE}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ version: 1, tenants: states }, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    // The rename is durable once the folder's entry is.
    const dir = await open(stateDir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  };

  /** Read-modify-write, one at a time within this process. */
  const update = (change: (states: Record<string, TenantState>) => void): Promise<TenantStates> => {
    const run = queue.then(async () => {
      const states = { ...(await load()) };
      change(states);
      await write(states);
      return states;
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    where: `file ${file}`,
    load,
    set: (tenantId, state) =>
      update((states) => {
        states[tenantId.toLowerCase()] = state;
      }),
    clear: (tenantId) =>
      update((states) => {
        delete states[tenantId.toLowerCase()];
      }),
    watch(onChange) {
      let debounce: NodeJS.Timeout | undefined;
      let watcher: ReturnType<typeof watchFolder> | undefined;
      try {
        mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        // The folder, not the file: every write replaces the file by a rename.
        watcher = watchFolder(stateDir, { persistent: false }, (_event, name) => {
          if (name !== null && name !== TENANT_STATE_FILE) return;
          if (debounce !== undefined) clearTimeout(debounce);
          debounce = setTimeout(onChange, 50);
          debounce.unref();
        });
        watcher.on("error", () => undefined);
      } catch {
        // No state directory yet: nothing written from outside can be there either.
      }
      return () => {
        if (debounce !== undefined) clearTimeout(debounce);
        watcher?.close();
      };
    },
  };
}

/**
 * The configuration in force: the file's, with each cloud management tenant's runtime state (when it has
 * one) in place of its `disableAuthentication`.
 *
 * @param config the validated file configuration
 * @param states runtime states
 */
export function applyTenantStates(config: GatewayConfig, states: TenantStates): GatewayConfig {
  let changed = false;
  const services = config.azureServices.map((s): AzureService => {
    const state = s.type === "cloudManagement" ? states[s.tenant.id.toLowerCase()] : undefined;
    if (state === undefined || state.disabled === s.disableAuthentication) return s;
    changed = true;
    return { ...s, disableAuthentication: state.disabled };
  });
  return changed ? deepFreeze({ ...config, azureServices: services }) : config;
}

/** A store that keeps state in memory only (a library use without a state directory; tests). */
export function createMemoryTenantStateStore(): TenantStateStore {
  let states: TenantStates = {};
  return {
    where: "memory (not persisted)",
    load: async () => states,
    set: async (tenantId, state) => {
      states = { ...states, [tenantId.toLowerCase()]: state };
      return states;
    },
    clear: async (tenantId) => {
      const { [tenantId.toLowerCase()]: _gone, ...rest } = states;
      states = rest;
      return states;
    },
  };
}
