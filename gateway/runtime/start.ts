/**
 * The one composition root (docs/architecture.md § Composition). `serve()` runs `entra-gateway serve`: one
 * process (`--workers 1`) or a cluster primary and its workers, chosen here and nowhere else; a forked
 * worker lands here too and becomes a worker. `startGatewayService()` is the same single process for
 * in-process use (the local stack, the bench, the tests).
 *
 * Both read the configuration once (`readConfig`), open the runtime tenant switch, start what serves, and put
 * the control plane (`control-plane.ts`) in front of it; "gateway ready" is logged here, once.
 *
 * @example
 * const svc = await startGatewayService({ configPath: "gateway.yaml", stateDir: ".state" });
 * console.log(svc.gateway.url, svc.admin?.url, svc.metrics?.url);
 * await svc.stop();
 */
import cluster from "node:cluster";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { openTenantSwitch, type TenantSwitch } from "../admin/tenant-switch.js";
import { readConfig, type ValidConfigRead } from "../config/read.js";
import { formatProblems, type ValidateOptions } from "../config/validate.js";
import { createLogger } from "../observability/logger.js";
import { createControlMetrics } from "../observability/metrics.js";
import { startClusterPrimary } from "./cluster-primary.js";
import { runClusterWorker } from "./cluster-worker.js";
import { startControlPlane } from "./control-plane.js";
import { type GatewayService, type SingleProcessSettings, startSingleProcess } from "./single-process.js";

/** Options of {@link startGatewayService}. */
export interface GatewayServiceOptions extends SingleProcessSettings {
  /** The configuration file (YAML or JSON); watched, reloaded, written back by the admin API. */
  readonly configPath: string;
}

/** Options of {@link serve}. */
export interface ServeOptions {
  readonly configPath: string;
  /** Serving processes: 1 serves in this process, more fork a cluster. */
  readonly workers: number;
  readonly stateDir: string;
  readonly watch: boolean;
  readonly logger: Logger;
}

/** The configuration read at start and the runtime tenant states laid over it. */
async function open(
  configPath: string,
  logger: Logger,
  stateDir: string | undefined,
  validateOptions?: ValidateOptions,
): Promise<{ readonly initial: ValidConfigRead; readonly tenants: TenantSwitch }> {
  const initial = await readConfig(configPath, validateOptions);
  if (!initial.ok) throw new Error(formatProblems(initial.problems));
  for (const warning of initial.warnings) logger.warn({ path: initial.path }, `configuration: ${warning}`);
  // The runtime tenant states are loaded here, before anything listens: a replica never reports ready
  // without them (with sharedState: read from Redis, the start fails when it cannot be reached).
  return { initial, tenants: await openTenantSwitch(stateDir, logger, initial.config.sharedState) };
}

/**
 * Starts the gateway and its control plane in this process, from a configuration file.
 *
 * @param options the file, listeners, state directory, hooks
 */
export async function startGatewayService(options: GatewayServiceOptions): Promise<GatewayService> {
  const { configPath, ...settings } = options;
  const logger = settings.logger ?? createLogger();
  const { initial, tenants } = await open(configPath, logger, settings.stateDir, settings.validateOptions);
  const service = await startSingleProcess(initial, tenants, { ...settings, logger }).catch(async (err: unknown) => {
    // A shared store's connections would keep a failed start's process alive.
    await tenants.close();
    throw err;
  });
  announceReady(logger, service.gateway.url, service.admin?.url, service.metrics?.url, 1);
  return service;
}

function announceReady(
  logger: Logger,
  url: string,
  adminUrl: string | undefined,
  metricsUrl: string | undefined,
  workers: number,
): void {
  logger.info({ url, adminUrl, metricsUrl, workers }, "gateway ready");
}

/** Resolves with the first of SIGTERM / SIGINT. */
function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", on);
      process.off("SIGINT", on);
      resolve(signal);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}

/**
 * `entra-gateway serve`: runs until SIGTERM or SIGINT, drains, and resolves with the exit code. SIGHUP
 * reloads the configuration.
 *
 * @param options the file, worker count, state directory, logger
 */
export async function serve(options: ServeOptions): Promise<number> {
  const { logger } = options;
  if (cluster.isWorker) return runClusterWorker(logger);
  const stopSignal = nextStopSignal();
  if (options.workers === 1) {
    const { configPath, stateDir, watch } = options;
    const service = await startGatewayService({ configPath, logger, stateDir, watch, reloadOnSighup: true });
    const signal = await stopSignal;
    logger.info({ signal }, "shutting down: draining in-flight requests");
    await service.stop();
    logger.info("stopped");
    return 0;
  }

  const { initial, tenants } = await open(options.configPath, logger, options.stateDir);
  const registry = new Registry();
  const controlMetrics = createControlMetrics(registry);
  const primary = startClusterPrimary({
    configPath: initial.path,
    workers: options.workers,
    initial: { text: initial.text, config: tenants.effective(initial.config), states: tenants.states() },
    logger,
    registry,
    controlMetrics,
  });
  const plane = await startControlPlane({
    initial,
    tenants,
    control: primary.control,
    logger,
    stateDir: options.stateDir,
    watch: options.watch,
    reloadOnSighup: true,
    controlMetrics,
    exposition: primary.exposition,
    gatewayUrl: primary.listening,
  }).catch(async (err: unknown) => {
    await primary.drain();
    await tenants.close();
    throw err;
  });
  void primary.listening.then((url) =>
    announceReady(logger, url, plane.admin?.url, plane.metrics?.url, primary.control.workerCount()),
  );
  const signal = await stopSignal;
  logger.info({ signal, workers: primary.control.workerCount() }, "shutting down: draining workers");
  await plane.stop(() => primary.drain());
  return 0;
}
