/**
 * Which store holds the runtime tenant state, decided in one place for the gateway and the services CLI:
 * Redis when shared state is configured (many replicas, docs/operations.md "Shared tenant state"), else the
 * state directory's file, else memory (a library use without either).
 */
import { createRedisTenantStateStore } from "./redis-tenant-state.js";
import { createFileTenantStateStore, createMemoryTenantStateStore, type TenantStateStore } from "./tenant-state.js";

/** The `sharedState` configuration, resolved (the password revealed only here, for the connection). */
export interface SharedStateOptions {
  readonly redisUrl: string;
  readonly password?: string | undefined;
  readonly keyPrefix?: string | undefined;
}

/**
 * The store for a configuration: shared when `shared` is given, else the file in `stateDir`, else memory.
 *
 * @param shared the resolved `sharedState` section, when configured
 * @param stateDir the state directory (`serve --state-dir`), when there is one
 */
export function openTenantStateStore(
  shared: SharedStateOptions | undefined,
  stateDir: string | undefined,
): TenantStateStore {
  if (shared !== undefined) {
    return createRedisTenantStateStore({
      url: shared.redisUrl,
      password: shared.password,
      keyPrefix: shared.keyPrefix,
    });
  }
  return stateDir === undefined ? createMemoryTenantStateStore() : createFileTenantStateStore(stateDir);
}
