/**
 * One process serves (`serve --workers 1`, the local stack, the tests): the main listener (`http/server.ts`)
 * with this process's request metrics, and the control plane in front of it, which reaches the gateway
 * directly (`createLocalControl`).
 */
import { Registry } from "prom-client";
import { createLocalControl, type GatewayControl, type WorkerAck } from "../admin/control.js";
import type { TenantSwitch } from "../admin/tenant-switch.js";
import type { ValidConfigRead } from "../config/read.js";
import type { ValidateOptions } from "../config/validate.js";
import type { ConfigReloader } from "../config/watch.js";
import { createRefusalRing } from "../console/refusals.js";
import type { AdminServer } from "../http/admin-server.js";
import type { MetricsServer } from "../http/metrics-server.js";
import { type RunningGateway, type StartGatewayOptions, startGateway } from "../http/server.js";
import { type ControlMetrics, createControlMetrics, createRequestMetrics } from "../observability/metrics.js";
import { type ListenerOverride, startControlPlane } from "./control-plane.js";

/** What one serving process is started with, besides the configuration read at start. */
export interface SingleProcessSettings extends Omit<StartGatewayOptions, "config"> {
  /**
   * Where a generated admin key (`admin.key`) and the runtime tenant state (`tenant-state.json`) are kept;
   * without it, both last for this run only.
   */
  readonly stateDir?: string;
  /** Overrides of `admin.host/port` and `metrics.host/port` (tests bind 127.0.0.1:0). */
  readonly admin?: ListenerOverride;
  readonly metrics?: ListenerOverride;
  /** Watch the file for changes; default true. */
  readonly watch?: boolean;
  /** Reload on SIGHUP; default false (a library must not take over process signals unasked). */
  readonly reloadOnSighup?: boolean;
  readonly validateOptions?: ValidateOptions;
  /** Between the console's live traffic samples and its page's polls; default 5 s (tests shorten it). */
  readonly consoleSampleIntervalMs?: number;
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
  /** Closes the control plane, drains the gateway, then closes the metrics listener. */
  stop(): Promise<void>;
}

/**
 * Starts the gateway and its control plane in this process.
 *
 * @param initial the configuration file as read at start
 * @param tenants the runtime tenant switch
 * @param settings listeners, state directory, hooks
 */
export async function startSingleProcess(
  initial: ValidConfigRead,
  tenants: TenantSwitch,
  settings: SingleProcessSettings,
): Promise<GatewayService> {
  const registry = new Registry();
  const requestMetrics = createRequestMetrics(registry);
  const controlMetrics = createControlMetrics(registry);
  const refusals = createRefusalRing();
  const {
    stateDir,
    admin: adminOverride,
    metrics: metricsOverride,
    watch,
    reloadOnSighup,
    validateOptions,
    consoleSampleIntervalMs,
    ...gatewayOptions
  } = settings;
  const gateway = await startGateway({
    ...gatewayOptions,
    config: tenants.effective(initial.config),
    onOutcome: (o) => {
      requestMetrics.recordOutcome(o);
      refusals.record(o);
      settings.onOutcome?.(o);
    },
    onJwksFetch: (e) => {
      requestMetrics.recordJwksFetch(e);
      settings.onJwksFetch?.(e);
    },
    onVerified: (tenantId, age) => {
      requestMetrics.recordIssuedAge(tenantId, age);
      settings.onVerified?.(tenantId, age);
    },
  });
  requestMetrics.attach(gateway);
  const control = createLocalControl(gateway, refusals);
  const plane = await startControlPlane({
    initial,
    tenants,
    control,
    logger: gateway.logger,
    stateDir,
    admin: adminOverride,
    metrics: metricsOverride,
    watch: watch ?? true,
    reloadOnSighup: reloadOnSighup ?? false,
    validateOptions,
    controlMetrics,
    exposition: { contentType: registry.contentType, render: () => registry.metrics() },
    gatewayUrl: Promise.resolve(gateway.url),
    consoleSampleIntervalMs,
  }).catch(async (err: unknown) => {
    await gateway.stop().catch(() => undefined);
    throw err;
  });
  return {
    gateway,
    admin: plane.admin,
    metrics: plane.metrics,
    adminKey: plane.adminKey,
    reloader: plane.reloader,
    control,
    registry,
    controlMetrics,
    stop: () => plane.stop(() => gateway.stop()),
  };
}
