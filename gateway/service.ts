/**
 * `startGatewayService()`: a gateway with its operations around it, in one process — the main listener
 * (`startGateway`), metrics, the admin API, hot reload (file watch, SIGHUP when asked, admin) and secret
 * expiry notifications, all driven from one configuration file. `serve --workers 1`, the local stack and
 * the tests use it; `serve --workers N` splits the same parts between a primary and workers (`cluster.ts`).
 *
 * @example
 * const svc = await startGatewayService({ configPath: "gateway.yaml", stateDir: ".state" });
 * console.log(svc.gateway.url, svc.admin?.url, svc.metrics?.url);
 * await svc.stop();
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { createLocalControl, type GatewayControl, type WorkerAck } from "./admin/control.js";
import { ensureAdminKeyFile } from "./admin/key.js";
import { type AdminServer, startAdminServer } from "./admin/server.js";
import { applyWithTenantStates, openTenantSwitch } from "./admin/tenant-switch.js";
import { formatProblems, type GatewayConfig, type ValidateOptions } from "./config/validate.js";
import { type ConfigReloader, createConfigReloader, validateConfigTextAt } from "./config/watch.js";
import { createLogger } from "./observability/logger.js";
import { type ControlMetrics, createControlMetrics, createRequestMetrics } from "./observability/metrics.js";
import { type MetricsServer, startMetricsServer } from "./observability/metrics-server.js";
import { type SecretExpiryMonitor, startSecretExpiryMonitor } from "./observability/secret-expiry.js";
import { type RunningGateway, type StartGatewayOptions, startGateway } from "./server.js";

/** Options of {@link startGatewayService}. */
export interface GatewayServiceOptions extends Omit<StartGatewayOptions, "config"> {
  /** The configuration file (YAML or JSON); watched, reloaded, written back by the admin API. */
  readonly configPath: string;
  /**
   * Where a generated admin key (`admin.key`) and the runtime tenant state (`tenant-state.json`) are kept;
   * without it, both last for this run only.
   */
  readonly stateDir?: string;
  /** Overrides of `admin.host/port` and `metrics.host/port` (tests bind 127.0.0.1:0). */
  readonly admin?: { readonly host?: string; readonly port?: number };
  readonly metrics?: { readonly host?: string; readonly port?: number };
  /** Watch the file for changes; default true. */
  readonly watch?: boolean;
  /** Reload on SIGHUP; default false (a library must not take over process signals unasked). */
  readonly reloadOnSighup?: boolean;
  readonly validateOptions?: ValidateOptions;
}

/** A running gateway service. */
export interface GatewayService {
  readonly gateway: RunningGateway;
  readonly admin: AdminServer | undefined;
  readonly metrics: MetricsServer | undefined;
  /** The admin key in force (from the configuration, the state directory, or generated for this run). */
  readonly adminKey: string;
  readonly reloader: ConfigReloader<readonly WorkerAck[]>;
  readonly control: GatewayControl;
  readonly registry: Registry;
  readonly controlMetrics: ControlMetrics;
  stop(): Promise<void>;
}

/**
 * Reads and validates the configuration file; throws the formatted problems when it is invalid.
 *
 * @param path the configuration file
 * @param options validation inputs
 */
export async function readConfigFile(
  path: string,
  options: ValidateOptions = {},
): Promise<{ readonly config: GatewayConfig; readonly text: string; readonly warnings: readonly string[] }> {
  const text = await readFile(resolve(path), "utf8");
  const result = validateConfigTextAt(text, path, options);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return { config: result.config, text, warnings: result.warnings };
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

/** Starts the gateway and its operations from a configuration file. */
export async function startGatewayService(options: GatewayServiceOptions): Promise<GatewayService> {
  const logger = options.logger ?? createLogger();
  const configPath = resolve(options.configPath);
  const initial = await readConfigFile(configPath, options.validateOptions);
  for (const warning of initial.warnings) logger.warn({ path: configPath }, `configuration: ${warning}`);
  const tenants = await openTenantSwitch(options.stateDir, logger, initial.config.sharedState);
  const config = tenants.effective(initial.config);

  const registry = new Registry();
  const requestMetrics = createRequestMetrics(registry);
  const controlMetrics = createControlMetrics(registry);
  const {
    configPath: _p,
    stateDir: _s,
    admin: _a,
    metrics: _m,
    watch: _w,
    reloadOnSighup: _h,
    ...gatewayOptions
  } = options;
  const gateway = await startGateway({
    ...gatewayOptions,
    config,
    logger,
    onOutcome: (o) => {
      requestMetrics.recordOutcome(o);
      options.onOutcome?.(o);
    },
    onJwksFetch: (e) => {
      requestMetrics.recordJwksFetch(e);
      options.onJwksFetch?.(e);
    },
    onVerified: (tenantId, age) => {
      requestMetrics.recordIssuedAge(tenantId, age);
      options.onVerified?.(tenantId, age);
    },
  });
  requestMetrics.attach(gateway);
  const control = createLocalControl(gateway);
  const parts: { stop(): Promise<void> | void }[] = [];
  const stopParts = async () => {
    for (const part of parts.reverse()) await Promise.resolve(part.stop()).catch(() => undefined);
  };
  parts.push(gateway);
  try {
    let monitor: SecretExpiryMonitor | undefined;
    const reloader = createConfigReloader<readonly WorkerAck[]>({
      path: configPath,
      initial,
      logger,
      ...(options.validateOptions ? { validateOptions: options.validateOptions } : {}),
      apply: applyWithTenantStates(control, tenants),
      onOutcome: (outcome) => {
        controlMetrics.recordReload(outcome.trigger, outcome.result);
        if (outcome.result === "applied") monitor?.check();
      },
    });
    parts.push({ stop: () => reloader.close() });
    const unfollow = tenants.follow(() => applyWithTenantStates(control, tenants)(reloader.config, reloader.text));
    parts.push({ stop: unfollow });
    monitor = startSecretExpiryMonitor({ config: () => reloader.config, logger });
    parts.push(monitor);
    parts.push({ stop: () => tenants.close() });
    controlMetrics.attach({ config: () => reloader.config, sharedState: () => tenants.sharedState() });
    if (options.watch ?? true) reloader.watch();
    if (options.reloadOnSighup === true) {
      const onHup = () => void reloader.reload("signal");
      process.on("SIGHUP", onHup);
      parts.push({ stop: () => void process.off("SIGHUP", onHup) });
    }

    const adminKey = await resolveAdminKey(config, options.stateDir, logger);
    const tls =
      config.listen.cert !== undefined && config.listen.key !== undefined
        ? { cert: config.listen.cert, key: config.listen.key.reveal() }
        : undefined;
    let admin: AdminServer | undefined;
    if (config.admin.enabled) {
      admin = await startAdminServer({
        host: options.admin?.host ?? config.admin.host,
        port: options.admin?.port ?? config.admin.port,
        tls,
        key: adminKey,
        configPath,
        tenants,
        control,
        reloader,
        logger,
        metrics: controlMetrics,
      });
      const a = admin;
      parts.push({ stop: () => a.close() });
    }
    let metrics: MetricsServer | undefined;
    if (config.metrics.enabled) {
      metrics = await startMetricsServer({
        host: options.metrics?.host ?? config.metrics.host,
        port: options.metrics?.port ?? config.metrics.port,
        contentType: registry.contentType,
        render: () => registry.metrics(),
        onError: (err) => logger.error({ err: err.message }, "metrics rendering failed"),
      });
      const m = metrics;
      // Closed last: metrics stay scrapeable while the main listener drains.
      parts.unshift({ stop: () => m.close() });
      logger.info({ url: metrics.url }, "metrics listening");
    }
    let stopped: Promise<void> | undefined;
    return {
      gateway,
      admin,
      metrics,
      adminKey,
      reloader,
      control,
      registry,
      controlMetrics,
      stop() {
        stopped ??= stopParts();
        return stopped;
      },
    };
  } catch (err) {
    await stopParts();
    throw err;
  }
}
