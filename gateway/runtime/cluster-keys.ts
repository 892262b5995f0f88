/**
 * The host's one JWKS fetcher (docs/operations.md § Workers): with `serve --workers N` the primary holds the
 * only fetching store — single-flight, unknown-`kid` cooldown, global refetch budget and disk copy, as one
 * process has them — and hands every key set to every worker after each attempt, so all workers switch
 * keys together. A worker's unknown `kid` becomes a question here; the answer is the set as it is after the
 * store has dealt with it. Fetches are counted and logged here, once for the host.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createFetchingJwksStore } from "../auth/keys/fetching-store.js";
import type { KeySetSnapshot } from "../auth/keys/jwks-store.js";
import { createTenantRegistry } from "../auth/tenants.js";
import type { GatewayConfig } from "../config/types.js";
import { logJwksFetch } from "../observability/logger.js";
import { createJwksFetchCounter } from "../observability/metrics.js";

/** The primary's key sets. */
export interface HostKeys {
  /** Makes the key sets those of `config` (at start and after every applied change); new ones are fetched. */
  sync(config: GatewayConfig): void;
  /** Every key set now. */
  snapshots(): KeySetSnapshot[];
  /** Refreshes every key set now (admin `POST /jwks/refresh`), bypassing cooldown and budget. */
  refreshAll(): Promise<void>;
  /**
   * A worker's question: refreshes the set as an unknown `kid` would (or every set, `manual`), then returns the
   * set as it is (undefined: no such set).
   */
  answer(setId: string, reason: "unknown_kid" | "manual"): Promise<KeySetSnapshot | undefined>;
  close(): Promise<void>;
}

/**
 * Creates the host's fetching store for the configuration in force at start.
 *
 * @param options the configuration (its `auth.jwks` settings are read once), where to log and count fetches,
 *   and what to do with each new snapshot (send it to every worker)
 */
export function createHostKeys(options: {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly onSnapshot: (snapshot: KeySetSnapshot) => void;
}): HostKeys {
  const { config, logger } = options;
  const count = createJwksFetchCounter(options.registry);
  const log = logJwksFetch(logger);
  const fetching = createFetchingJwksStore({
    environments: config.environments,
    settings: config.auth.jwks,
    onFetch: (event) => {
      count(event);
      log(event);
    },
    onDiskError: (setId, error) => logger.warn({ setId, err: error.message }, "jwks disk copy not written"),
    onSnapshot: options.onSnapshot,
  });
  const { store } = fetching;
  const snapshotOf = (setId: string) => store.snapshots().find((s) => s.id === setId);
  const keys: HostKeys = {
    sync: (next) => store.sync(createTenantRegistry(next).keySets),
    snapshots: () => store.snapshots(),
    refreshAll: () => store.refreshAll(),
    async answer(setId, reason) {
      if (reason === "manual") await store.refreshAll();
      else await store.refetchUnknownKid(setId);
      return snapshotOf(setId);
    },
    close: () => fetching.close(),
  };
  keys.sync(config);
  return keys;
}
