/**
 * The emergency switch, wired once by the control plane (`runtime/control-plane.ts`) for one process and the cluster primary alike: the
 * runtime tenant states (`state/tenant-state.ts`) loaded at start, changed by the admin API, and laid over
 * every configuration the reloader applies, so a tenant disabled at run time stays disabled through file
 * edits, reloads and restarts until an operator enables it or clears its state.
 */
import type { Logger } from "pino";
import type { GatewayConfig, SharedState } from "../config/types.js";
import { openTenantStateStore } from "../state/open-tenant-state-store.js";
import {
  applyTenantStates,
  type TenantState,
  type TenantStateStore,
  type TenantStates,
} from "../state/tenant-state.js";
import type { GatewayControl, WorkerAck } from "./control.js";

/** The runtime tenant states of this gateway and how they apply. */
export interface TenantSwitch {
  /** The states in force. */
  states(): TenantStates;
  /** The configuration in force for a file configuration. */
  effective(fileConfig: GatewayConfig): GatewayConfig;
  /** Stores one tenant's state (durably, before it is in force); throws when the store cannot be written. */
  set(tenantId: string, state: TenantState): Promise<void>;
  /** Removes one tenant's state; it follows the file again. */
  clear(tenantId: string): Promise<void>;
  /**
   * Follows changes made to the store from outside (the services CLI writing the state directory): reloads
   * the states and calls `apply` when they differ. Returns a function that stops following.
   */
  follow(apply: () => Promise<unknown>): () => void;
  /** Where the states live, for logs and answers. */
  readonly where: string;
  /**
   * A shared store's connection (readiness detail, metric), or undefined for the local state directory.
   * While it is down the states in force stay (fail static) and `set`/`clear` reject.
   */
  sharedState(): SharedStateStatus | undefined;
  /** Closes the store's connections (a shared store); the switch is not used after. */
  close(): Promise<void>;
}

/** The connection of a shared store, as `/readyz` reports it. */
export interface SharedStateStatus {
  readonly store: string;
  readonly connected: boolean;
  readonly lastError?: string | undefined;
}

/**
 * Loads the stored states and returns the switch. A store that cannot be read stops the start: serving
 * without it could re-open a tenant an operator closed.
 *
 * @param store where runtime tenant state lives
 * @param logger told how many states were loaded and from where
 */
export async function createTenantSwitch(store: TenantStateStore, logger: Logger): Promise<TenantSwitch> {
  let states = await store.load().catch(async (err: unknown) => {
    await store.close?.();
    throw new Error(`runtime tenant state (${store.where}) cannot be read: ${(err as Error).message}`);
  });
  const count = Object.keys(states).length;
  if (count > 0) logger.info({ store: store.where, tenants: count }, "runtime tenant state loaded");
  const stopConnectionLog = store.onConnectionChange?.((connected) => {
    if (connected) {
      logger.info({ store: store.where }, "shared tenant state reachable again: reading it again");
    } else {
      logger.error(
        { store: store.where, err: store.lastError },
        "shared tenant state unreachable: the last known states stay in force; admin changes answer 503",
      );
    }
  });
  return {
    states: () => states,
    effective: (fileConfig) => applyTenantStates(fileConfig, states),
    async set(tenantId, state) {
      states = await store.set(tenantId, state);
    },
    async clear(tenantId) {
      states = await store.clear(tenantId);
    },
    follow(apply) {
      return (
        store.watch?.(() => {
          void store.load().then(
            async (loaded) => {
              if (JSON.stringify(loaded) === JSON.stringify(states)) return;
              states = loaded;
              logger.info({ store: store.where, tenants: Object.keys(loaded).length }, "runtime tenant state changed");
              await apply();
            },
            // A half-written or damaged file from outside: keep the states in force (fail closed).
            (err: unknown) =>
              logger.error({ store: store.where, err: (err as Error).message }, "runtime tenant state unreadable"),
          );
        }) ?? (() => undefined)
      );
    },
    where: store.where,
    sharedState: () =>
      store.connected === undefined
        ? undefined
        : { store: store.where, connected: store.connected, lastError: store.lastError },
    async close() {
      stopConnectionLog?.();
      await store.close?.();
    },
  };
}

/**
 * The switch of a serving gateway: its states in Redis when shared state is configured, else in `stateDir`,
 * else in memory (a library use).
 *
 * @param stateDir the state directory (`serve --state-dir`)
 * @param logger for the load line and the not-persisted warning
 * @param shared the configuration's `sharedState`, when configured
 */
export async function openTenantSwitch(
  stateDir: string | undefined,
  logger: Logger,
  shared?: SharedState,
): Promise<TenantSwitch> {
  if (shared === undefined && stateDir === undefined) {
    logger.warn("no state directory: runtime tenant state (admin disable/enable) is kept in memory only");
  }
  const store = await openTenantStateStore(shared, stateDir);
  if (shared !== undefined) logger.info({ store: store.where }, "runtime tenant state shared through Redis");
  return createTenantSwitch(store, logger);
}

/**
 * The reloader's `apply`: a new file configuration goes to the serving processes with the runtime tenant
 * states laid over it.
 *
 * @param control the serving processes
 * @param tenants the switch
 */
export function applyWithTenantStates(
  control: GatewayControl,
  tenants: TenantSwitch,
): (next: GatewayConfig, text: string) => Promise<readonly WorkerAck[]> {
  return (next, text) => control.applyConfig(tenants.effective(next), text, tenants.states());
}
