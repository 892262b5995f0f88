/**
 * Which store holds the runtime tenant state, decided in one place for the gateway and the services CLI:
 * Redis when shared state is configured (many replicas, docs/operations.md § Shared tenant state), else the
 * state directory's file, else memory (a library use without either).
 */
import type { SharedState } from "../config/types.js";
import { createFileTenantStateStore, createMemoryTenantStateStore, type TenantStateStore } from "./tenant-state.js";

/**
 * The store for a configuration: shared when `shared` is given, else the file in `stateDir`, else memory.
 *
 * @param shared the resolved `sharedState` section, when configured
 * @param stateDir the state directory (`serve --state-dir`), when there is one
 */
export async function openTenantStateStore(
  shared: SharedState | undefined,
  stateDir: string | undefined,
): Promise<TenantStateStore> {
  if (shared !== undefined) {
    // Loaded only when configured: a gateway without shared state never loads the Redis client.
    const { createRedisTenantStateStore } = await import("./redis-tenant-state.js");
    return createRedisTenantStateStore({
      url: shared.redisUrl,
      // Revealed here only: the one consumer of the password is the connection.
      password: shared.password?.reveal(),
      keyPrefix: shared.keyPrefix,
    });
  }
  return stateDir === undefined ? createMemoryTenantStateStore() : createFileTenantStateStore(stateDir);
}
