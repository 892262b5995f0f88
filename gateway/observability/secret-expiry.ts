/**
 * Web app secret expiry notifications (docs/operations.md § Secret expiry, Configuration Manager 2006+ console notifications): a
 * warning 30 days before a secret expires and once it has expired, for imported and created apps alike,
 * evaluated at start and hourly (and after every configuration change), as a log line, a metric
 * (`entra_gateway_secret_expiry_timestamp_seconds`) and a `/readyz` detail.
 */
import type { Logger } from "pino";
import type { GatewayConfig } from "../config/types.js";
import { SECRET_EXPIRY_WARNING_MS } from "../config/validate/services.js";

/** Where one secret stands. `unknown`: the file gives no `secretExpiry`. */
export type SecretState = "ok" | "expiring" | "expired" | "unknown";

/** One web app secret's expiry. */
export interface SecretExpiry {
  readonly service: string;
  readonly tenantId: string;
  readonly origin: "imported" | "created";
  readonly expiresAt: string | undefined;
  readonly state: SecretState;
  /** Whole days left (negative once expired); undefined when unknown. */
  readonly daysLeft: number | undefined;
}

/**
 * Every service's secret expiry state at `nowMs`.
 *
 * @param config the configuration in force
 * @param nowMs the time to judge against
 */
export function secretExpiryStatus(config: GatewayConfig, nowMs: number): SecretExpiry[] {
  return config.azureServices.map((s) => {
    const at = s.webApp.secretExpiresAtMs;
    const left = at === undefined ? undefined : at - nowMs;
    const state: SecretState =
      left === undefined ? "unknown" : left <= 0 ? "expired" : left <= SECRET_EXPIRY_WARNING_MS ? "expiring" : "ok";
    return {
      service: s.name,
      tenantId: s.tenant.id,
      origin: s.webApp.origin,
      expiresAt: s.webApp.secretExpiry,
      state,
      daysLeft: left === undefined ? undefined : Math.floor(left / 86_400_000),
    };
  });
}

/** A running monitor. */
export interface SecretExpiryMonitor {
  /** Evaluates now (call after a configuration change) and logs what needs attention. */
  check(): readonly SecretExpiry[];
  stop(): void;
}

/**
 * Logs a warning for every secret that expires within 30 days or has expired: now, then every `intervalMs`.
 *
 * @param options the configuration source, the logger, the period (default one hour) and the clock
 */
export function startSecretExpiryMonitor(options: {
  readonly config: () => GatewayConfig;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly now?: () => number;
}): SecretExpiryMonitor {
  const now = options.now ?? Date.now;
  const check = (): readonly SecretExpiry[] => {
    const all = secretExpiryStatus(options.config(), now());
    for (const s of all) {
      if (s.state === "expiring") {
        options.logger.warn(
          { service: s.service, tenantId: s.tenantId, origin: s.origin, expiresAt: s.expiresAt, daysLeft: s.daysLeft },
          `web app secret of ${s.service} expires in ${s.daysLeft} days: renew it in Entra ID and update the configuration`,
        );
      } else if (s.state === "expired") {
        options.logger.warn(
          { service: s.service, tenantId: s.tenantId, origin: s.origin, expiresAt: s.expiresAt },
          `web app secret of ${s.service} has expired: renew it in Entra ID and update the configuration`,
        );
      }
    }
    return all;
  };
  check();
  const timer = setInterval(check, options.intervalMs ?? 3_600_000);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
