/**
 * The control plane, built once for whatever serves (docs/architecture.md § Composition): the reloader (file
 * watch, SIGHUP, admin), the runtime tenant switch followed from outside, secret expiry notifications, the
 * admin key, the admin listener and the metrics listener. It talks to the serving gateway(s) only through a
 * {@link GatewayControl}: in one process that is the gateway itself (`single-process.ts`), in a cluster the
 * primary's broadcast to its workers (`cluster-primary.ts`). That is the only difference between the two.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { GatewayControl, WorkerAck } from "../admin/control.js";
import { ensureAdminKeyFile } from "../admin/key.js";
import { applyWithTenantStates, type TenantSwitch } from "../admin/tenant-switch.js";
import type { ValidConfigRead } from "../config/read.js";
import type { GatewayConfig } from "../config/types.js";
import type { ValidateOptions } from "../config/validate.js";
import { type ConfigReloader, createConfigReloader } from "../config/watch.js";
import { createConsoleAnalyzer } from "../console/analysis.js";
import { type AdminServer, startAdminServer } from "../http/admin-server.js";
import { listenerTls } from "../http/listener.js";
import { type MetricsServer, startMetricsServer } from "../http/metrics-server.js";
import type { ControlMetrics } from "../observability/metrics.js";
import { startSecretExpiryMonitor } from "../observability/secret-expiry.js";

/** Where a listener binds, overriding the configuration (tests bind 127.0.0.1:0). */
export interface ListenerOverride {
  readonly host?: string;
  readonly port?: number;
}

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** The configuration file as read at start (`readConfig`). */
  readonly initial: ValidConfigRead;
  readonly tenants: TenantSwitch;
  /** The serving gateway(s). */
  readonly control: GatewayControl;
  readonly logger: Logger;
  /** Where a generated admin key is kept; without it, a key for this run only. */
  readonly stateDir?: string | undefined;
  readonly admin?: ListenerOverride | undefined;
  readonly metrics?: ListenerOverride | undefined;
  /** Watch the file for changes. */
  readonly watch: boolean;
  /** Reload on SIGHUP (a library must not take over process signals unasked). */
  readonly reloadOnSighup: boolean;
  readonly validateOptions?: ValidateOptions | undefined;
  readonly controlMetrics: ControlMetrics;
  /** What the metrics listener serves: this process's registry, or the cluster's aggregate. */
  readonly exposition: { readonly contentType: string; render(): Promise<string> };
  /** The main listener's URL once it listens (the console's connection analyzer goes through it). */
  readonly gatewayUrl: Promise<string>;
  /** Between the console's live traffic samples and its page's polls; default 5 s (tests shorten it). */
  readonly consoleSampleIntervalMs?: number | undefined;
}

/** A running control plane. */
export interface ControlPlane {
  readonly reloader: ConfigReloader<readonly WorkerAck[]>;
  /** The admin key in force (from the configuration, the state directory, or generated for this run). */
  readonly adminKey: string;
  readonly admin: AdminServer | undefined;
  readonly metrics: MetricsServer | undefined;
  /**
   * Stops taking changes (admin listener, reloads, signals, notifications), then runs `drain` (the serving
   * gateway(s) finish their requests), then closes the metrics listener: it stays scrapeable while they drain.
   */
  stop(drain: () => Promise<void>): Promise<void>;
}

/**
 * The admin key: configured, else kept in `stateDir`, else random for this run only.
 *
 * @param config the configuration
 * @param stateDir where a generated key is kept
 * @param logger told where the key is (never the key)
 */
export async function resolveAdminKey(
  config: GatewayConfig,
  stateDir: string | undefined,
  logger: Logger,
): Promise<string> {
  const configured = config.admin.key?.reveal();
  if (configured !== undefined) return configured;
  if (stateDir !== undefined) {
    const { key, file } = await ensureAdminKeyFile(stateDir);
    logger.info({ file }, "admin key: not configured (admin.key), using the one in the state directory");
    return key;
  }
  logger.warn("admin key: not configured and no state directory; generated one for this run only");
  return randomBytes(32).toString("base64url");
}

/**
 * Starts the control plane in front of serving gateway(s) that already exist (or are starting).
 *
 * @param options the file read at start, the tenant switch, the serving processes, listeners
 * @example
 * const plane = await startControlPlane({ initial, tenants, control, logger, watch: true, reloadOnSighup: true, controlMetrics, exposition });
 * await plane.stop(() => gateway.stop());
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { initial, tenants, control, logger, controlMetrics } = options;
  const config = initial.config;
  const parts: { stop(): Promise<void> | void }[] = [];
  const stopParts = async () => {
    for (const part of parts.splice(0).reverse()) await Promise.resolve(part.stop()).catch(() => undefined);
  };
  let metrics: MetricsServer | undefined;
  try {
    let monitor: { check(): unknown } | undefined;
    const apply = applyWithTenantStates(control, tenants);
    const reloader = createConfigReloader<readonly WorkerAck[]>({
      path: initial.path,
      initial,
      logger,
      ...(options.validateOptions ? { validateOptions: options.validateOptions } : {}),
      apply,
      onOutcome: (outcome) => {
        controlMetrics.recordReload(outcome.trigger, outcome.result);
        if (outcome.result === "applied") monitor?.check();
      },
    });
    parts.push({ stop: () => reloader.close() });
    // Closed last of the parts (they stop in reverse): the shared store's connections.
    parts.push({ stop: () => tenants.close() });
    const unfollow = tenants.follow(() => apply(reloader.config, reloader.text));
    parts.push({ stop: unfollow });
    const expiry = startSecretExpiryMonitor({ config: () => reloader.config, logger });
    monitor = expiry;
    parts.push(expiry);
    controlMetrics.attach({
      config: () => reloader.config,
      workers: () => control.workerCount(),
      sharedState: () => tenants.sharedState(),
    });
    if (options.watch) reloader.watch();
    if (options.reloadOnSighup) {
      const onHup = () => void reloader.reload("signal");
      process.on("SIGHUP", onHup);
      parts.push({ stop: () => void process.off("SIGHUP", onHup) });
    }

    const adminKey = await resolveAdminKey(config, options.stateDir, logger);
    let admin: AdminServer | undefined;
    if (config.admin.enabled) {
      admin = await startAdminServer({
        host: options.admin?.host ?? config.admin.host,
        port: options.admin?.port ?? config.admin.port,
        tls: listenerTls(config.listen),
        key: adminKey,
        configPath: initial.path,
        tenants,
        control,
        reloader,
        logger,
        metrics: controlMetrics,
        // The console's live traffic is sampled from what the metrics listener serves.
        console: {
          metricsText: () => options.exposition.render(),
          refusals: () => control.recentRefusals(),
          analyze: createConsoleAnalyzer({
            config: () => reloader.config,
            gatewayUrl: options.gatewayUrl,
            certificate: config.listen.cert,
            logger,
          }),
          sampleIntervalMs: options.consoleSampleIntervalMs,
          serving: options.gatewayUrl,
        },
      });
      const a = admin;
      parts.push({ stop: () => a.close() });
    }
    if (config.metrics.enabled) {
      metrics = await startMetricsServer({
        host: options.metrics?.host ?? config.metrics.host,
        port: options.metrics?.port ?? config.metrics.port,
        contentType: options.exposition.contentType,
        render: () => options.exposition.render(),
        onError: (err) => logger.error({ err: err.message }, "metrics rendering failed"),
      });
      logger.info({ url: metrics.url }, "metrics listening");
    }
    let stopped: Promise<void> | undefined;
    return {
      reloader,
      adminKey,
      admin,
      metrics,
      stop(drain) {
        stopped ??= (async () => {
          await stopParts();
          await drain().catch((err: unknown) => logger.error({ err: (err as Error).message }, "drain failed"));
          await metrics?.close().catch(() => undefined);
        })();
        return stopped;
      },
    };
  } catch (err) {
    await stopParts();
    await metrics?.close().catch(() => undefined);
    throw err;
  }
}
