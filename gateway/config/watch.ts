/**
 * Hot reload (docs/operations.md § Hot reload): the configuration file is re-read on change (a watch on its folder, so editors
 * that replace the file and Kubernetes ConfigMap symlink swaps are both seen), on SIGHUP and on the admin
 * API's `POST /config/reload`. A new file is validated in full; only a valid one is handed to `apply` (which
 * swaps it in atomically, in every worker); a broken one is refused, logged and counted, and the last good
 * configuration keeps serving. Reloads run one at a time; a file whose text has not changed is not re-applied.
 *
 * Settings read once at start ({@link RESTART_KEYS}) take effect at the next restart: a reload that changes
 * them applies everything else and names each such key in its answer and its log line.
 */
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { validateConfigTextAt } from "./load.js";
import type { GatewayConfig } from "./types.js";
import type { ValidateOptions } from "./validate.js";

/** Why a reload ran. */
export type ReloadTrigger = "start" | "watch" | "signal" | "admin";

/** What a reload did. */
export type ReloadOutcome<R> =
  | {
      readonly result: "applied";
      readonly trigger: ReloadTrigger;
      readonly warnings: readonly string[];
      /** Keys that changed but apply only after a restart ({@link RESTART_KEYS}), e.g. `auth.jwks.ttlMs`. */
      readonly restartRequired: readonly string[];
      /** What `apply` reported (e.g. one acknowledgement per worker). */
      readonly report: R;
    }
  | { readonly result: "unchanged"; readonly trigger: ReloadTrigger }
  | {
      readonly result: "refused";
      readonly trigger: ReloadTrigger;
      readonly problems: readonly string[];
      readonly warnings: readonly string[];
    };

/**
 * Settings read once at start — the sockets and pools (`listen`, `upstream`, `admin`, `metrics`), the shared
 * tenant state's connection (`sharedState`), the JWKS
 * cache's timings and limits (`auth.jwks`) and the verdict caches' sizes (`auth.verifiedCache`,
 * `auth.negativeCache`): a reload applies everything else and names each of these keys that changed, so an
 * operator is never told "applied" about a value that is not in force.
 */
export const RESTART_KEYS = [
  "listen",
  "upstream",
  "admin",
  "metrics",
  "sharedState",
  "auth.jwks",
  "auth.verifiedCache",
  "auth.negativeCache",
] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** Dotted paths of the leaves that differ under `path` (secrets compare by their source, never their value). */
function changedLeaves(before: unknown, after: unknown, path: string, out: string[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      changedLeaves(before[key], after[key], `${path}.${key}`, out);
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push(path);
}

function valueAt(config: GatewayConfig, path: string): unknown {
  let value: unknown = config;
  for (const part of path.split(".")) value = isPlainObject(value) ? value[part] : undefined;
  return value;
}

/**
 * The keys that changed between two configurations and take effect only after a restart.
 *
 * @param before the configuration in force
 * @param after the new one
 * @returns dotted keys, e.g. `["auth.jwks.refreshIntervalMs", "listen.port"]`
 */
export function changedRestartKeys(before: GatewayConfig, after: GatewayConfig): string[] {
  const out: string[] = [];
  for (const path of RESTART_KEYS) changedLeaves(valueAt(before, path), valueAt(after, path), path, out);
  return out;
}

/** Options of {@link createConfigReloader}. */
export interface ConfigReloaderOptions<R> {
  readonly path: string;
  /** The configuration in force and the text it was read from. */
  readonly initial: { readonly config: GatewayConfig; readonly text: string };
  /** Swaps a validated configuration in everywhere; resolves once it is in force. */
  readonly apply: (config: GatewayConfig, text: string) => Promise<R>;
  readonly logger: Logger;
  readonly validateOptions?: ValidateOptions;
  /** Observer (metrics). */
  readonly onOutcome?: (outcome: ReloadOutcome<R>) => void;
  /** Quiet period after a file event before the file is read; default 100 ms. */
  readonly debounceMs?: number;
}

/** The hot-reload controller. */
export interface ConfigReloader<R> {
  /** The configuration in force. */
  readonly config: GatewayConfig;
  /** The text it was read from. */
  readonly text: string;
  /** Re-reads the file now (queued behind a reload already running). */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome<R>>;
  /** Starts watching the file's folder. */
  watch(): void;
  /** Resolves once no reload is running or pending. */
  idle(): Promise<void>;
  close(): void;
}

/**
 * Creates the reloader for the configuration file at `options.path`.
 *
 * @param options file, initial configuration, how to apply a new one
 * @example
 * const reloader = createConfigReloader({ path, initial: { config, text }, logger,
 *   apply: async (next) => authenticator.setConfig(next) });
 * reloader.watch();
 * process.on("SIGHUP", () => void reloader.reload("signal"));
 */
export function createConfigReloader<R>(options: ConfigReloaderOptions<R>): ConfigReloader<R> {
  const path = resolve(options.path);
  const { logger } = options;
  let config = options.initial.config;
  let text = options.initial.text;
  let queue: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;

  const report = (outcome: ReloadOutcome<R>): ReloadOutcome<R> => {
    options.onOutcome?.(outcome);
    return outcome;
  };

  const reloadNow = async (trigger: ReloadTrigger): Promise<ReloadOutcome<R>> => {
    let next: string;
    try {
      next = await readFile(path, "utf8");
    } catch (err) {
      const code = err instanceof Error && "code" in err ? String(err.code) : "unreadable";
      const problems = [`cannot read configuration file ${path} (${code})`];
      logger.error({ trigger, problems, path }, "configuration reload refused; the last good configuration stays");
      return report({ result: "refused", trigger, problems, warnings: [] });
    }
    if (next === text) return report({ result: "unchanged", trigger });
    const result = validateConfigTextAt(next, path, options.validateOptions);
    if (!result.ok) {
      logger.error(
        { trigger, path, problems: result.problems },
        `configuration reload refused (${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}); the last good configuration stays`,
      );
      return report({ result: "refused", trigger, problems: result.problems, warnings: result.warnings });
    }
    const restartRequired = changedRestartKeys(config, result.config);
    const applied = await options.apply(result.config, next);
    config = result.config;
    text = next;
    for (const warning of result.warnings) logger.warn({ path }, `configuration: ${warning}`);
    if (restartRequired.length > 0) {
      logger.warn(
        { restartRequired },
        `configuration keys changed that apply only after a restart: ${restartRequired.join(", ")}`,
      );
    }
    logger.info({ trigger, path, services: config.azureServices.length, restartRequired }, "configuration applied");
    return report({ result: "applied", trigger, warnings: result.warnings, restartRequired, report: applied });
  };

  const reload = (trigger: ReloadTrigger): Promise<ReloadOutcome<R>> => {
    pending += 1;
    const run = queue.then(() => reloadNow(trigger));
    queue = run.then(
      () => {
        pending -= 1;
      },
      (err: unknown) => {
        pending -= 1;
        logger.error({ trigger, err: err instanceof Error ? err.message : String(err) }, "configuration reload failed");
      },
    );
    return run;
  };

  return {
    get config() {
      return config;
    },
    get text() {
      return text;
    },
    reload,
    watch() {
      if (watcher !== undefined || closed) return;
      const name = basename(path);
      watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        // Any change in the folder may be ours (ConfigMap swaps touch `..data`, not the file name).
        if (file !== null && file !== name && !file.startsWith("..") && !file.startsWith(`.${name}`)) return;
        if (debounce !== undefined) clearTimeout(debounce);
        debounce = setTimeout(() => {
          debounce = undefined;
          if (!closed) void reload("watch").catch(() => undefined);
        }, options.debounceMs ?? 100);
        debounce.unref();
      });
      watcher.on("error", (err) => logger.warn({ err: err.message, path }, "configuration watch failed"));
    },
    async idle() {
      while (pending > 0 || debounce !== undefined) {
        await queue;
        if (debounce !== undefined) await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      closed = true;
      if (debounce !== undefined) clearTimeout(debounce);
      debounce = undefined;
      watcher?.close();
      watcher = undefined;
    },
  };
}
