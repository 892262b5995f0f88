/**
 * Hooks for a run against a stack in the same process (`startStack()`): the gateway's exact rejection
 * reasons from its log lines, the MP's audit read directly, and JWKS refreshes and tenant flags on the
 * running gateway where its admin API is not in `stack.json`.
 */
import { Writable } from "node:stream";
import type { MpAuditReader, SimulationHooks } from "../client-simulator/controls.js";
import type { GatewayConfig } from "../gateway/config/types.js";
import type { Stack } from "./start-stack.js";

/** A pino destination that remembers the gateway's rejection reason per token fingerprint. */
export interface GatewayLogTap {
  /** Give this to `pino(options, destination)` (any level up to `info`). */
  readonly destination: Writable;
  /** The reason of the last rejected request that carried the token with this fingerprint. */
  reasonOf(tokenFp: string): string | undefined;
  /** Every line seen (JSON text), for debugging a failed run. */
  readonly lines: readonly string[];
}

/** Creates a {@link GatewayLogTap}. Lines are the gateway's `request` lines (docs/architecture.md § Observability). */
export function createGatewayLogTap(options: { readonly keepLines?: boolean } = {}): GatewayLogTap {
  const reasons = new Map<string, string>();
  const lines: string[] = [];
  let partial = "";
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = partial + String(chunk);
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        if (!line) continue;
        if (options.keepLines) lines.push(line);
        if (!line.includes('"tokenFp"') || !line.includes('"rejected"')) continue;
        try {
          const entry = JSON.parse(line) as { outcome?: string; reason?: string; tokenFp?: string };
          if (entry.outcome === "rejected" && entry.tokenFp && entry.reason) reasons.set(entry.tokenFp, entry.reason);
        } catch {
          // not JSON: not a gateway line
        }
      }
      callback();
    },
  });
  return { destination, reasonOf: (fp) => reasons.get(fp), lines };
}

/** Reads the in-process MP simulators' audits (every management point of the stack). */
export function inProcessAudit(stack: Pick<Stack, "mp"> & Partial<Pick<Stack, "mps">>): MpAuditReader {
  const mps = stack.mps ?? [stack.mp];
  return {
    async cursor() {
      return mps.map((mp) => mp.audit.counts().requests);
    },
    async entriesSince(cursor) {
      return mps.flatMap((mp, i) => mp.audit.entries({ since: cursor[i] ?? 0 }));
    },
  };
}

/** A copy of `config` with one tenant's Entra authentication switched (what the admin API writes). */
function withTenant(config: GatewayConfig, tenantId: string, enabled: boolean): GatewayConfig {
  return {
    ...config,
    azureServices: config.azureServices.map((s) =>
      s.tenant.id === tenantId ? { ...s, disableAuthentication: !enabled } : s,
    ),
  };
}

/**
 * Hooks for an in-process stack. `viaAdminApi` keeps the admin API's default for tenant flags and JWKS
 * refreshes (use it when `stack.json` has `gateway.adminUrl`); otherwise they act on the running gateway.
 */
export function inProcessHooks(
  stack: Pick<Stack, "mp" | "gateway"> & Partial<Pick<Stack, "mps">>,
  tap?: GatewayLogTap,
  options: { readonly viaAdminApi?: boolean } = {},
): SimulationHooks {
  const direct: SimulationHooks = {
    async setTenantEnabled(tenantId, enabled) {
      const gw = stack.gateway;
      gw.authenticator.setConfig(withTenant(gw.authenticator.config, tenantId, enabled));
    },
    async refreshGatewayKeys() {
      await stack.gateway.keys.refreshAll();
      return stack.gateway.keys.statuses().every((s) => s.consecutiveFailures === 0);
    },
  };
  return {
    mpAudit: inProcessAudit(stack),
    ...(tap ? { gatewayReason: tap.reasonOf } : {}),
    ...(options.viaAdminApi ? {} : direct),
  };
}
