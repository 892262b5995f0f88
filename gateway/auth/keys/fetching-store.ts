/**
 * The JWKS store of the process that fetches (the single process, or the cluster primary for the whole host):
 * the store over the HTTPS fetcher of the configured environments (each trusting its own CA) and, when
 * `auth.jwks.diskCacheDir` is set, the on-disk copy.
 */
import type { EnvironmentName, JwksSettings } from "../../config/schema.js";
import type { Environment } from "../../config/types.js";
import type { Clock } from "../clock.js";
import { createFileJwksDiskCache } from "./disk-cache.js";
import { createHttpJwksFetcher } from "./http-fetcher.js";
import { createJwksStore, type JwksFetcher, type JwksStore, type JwksStoreOptions } from "./jwks-store.js";

/** Options of {@link createFetchingJwksStore}. */
export interface FetchingJwksStoreOptions extends Pick<JwksStoreOptions, "onFetch" | "onDiskError" | "onSnapshot"> {
  readonly environments: Readonly<Record<EnvironmentName, Environment>>;
  readonly settings: JwksSettings;
  readonly clock?: Clock | undefined;
  /** Replaces the HTTPS fetcher (tests). */
  readonly fetcher?: JwksFetcher | undefined;
}

/** A fetching store and what closes it with its connections. */
export interface FetchingJwksStore {
  readonly store: JwksStore;
  /** Stops the store's timers and fetches, then closes the HTTPS fetcher's connections. */
  close(): Promise<void>;
}

/**
 * Creates the store that fetches.
 *
 * @param options environments (CAs), `auth.jwks`, observers; a fetcher for tests
 */
export function createFetchingJwksStore(options: FetchingJwksStoreOptions): FetchingJwksStore {
  const { settings } = options;
  const http = options.fetcher ? undefined : createHttpJwksFetcher(options.environments, settings.fetchTimeoutMs);
  const store = createJwksStore({
    fetcher: options.fetcher ?? http!.fetch,
    settings,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(settings.diskCacheDir ? { diskCache: createFileJwksDiskCache(settings.diskCacheDir) } : {}),
    ...(options.onFetch ? { onFetch: options.onFetch } : {}),
    ...(options.onDiskError ? { onDiskError: options.onDiskError } : {}),
    ...(options.onSnapshot ? { onSnapshot: options.onSnapshot } : {}),
  });
  return {
    store,
    async close() {
      store.close();
      await http?.close();
    },
  };
}
