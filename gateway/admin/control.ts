/**
 * What the admin API and the reloader need from the serving processes, whether they are this process
 * (`createLocalControl`) or a `--workers N` cluster (`runtime/cluster-primary.ts`): apply a configuration, refresh keys,
 * report key state — each resolving only once every serving process has done it.
 */
import type { Authenticator } from "../auth/authenticate.js";
import type { KeySetStatus } from "../auth/keys/jwks-store.js";
import type { GatewayConfig } from "../config/types.js";
import type { Refusal, RefusalRing } from "../console/refusals.js";
import type { Readiness, ReadinessCheck } from "../http/health.js";
import type { TenantStates } from "../state/tenant-state.js";

/** One serving process's answer to a broadcast. */
export interface WorkerAck {
  /** `local`, or the cluster worker id. */
  readonly worker: string;
  readonly pid: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** The serving processes, as the control plane sees them. */
export interface GatewayControl {
  /**
   * Swaps `config` (the file's, runtime tenant states applied) in everywhere. `text` is the file it was
   * validated from and `states` the runtime tenant states, for workers that re-validate and re-apply them.
   */
  applyConfig(config: GatewayConfig, text: string, states: TenantStates): Promise<readonly WorkerAck[]>;
  /** Forces a JWKS refresh everywhere (bypasses cooldown and budget). */
  refreshJwks(): Promise<readonly WorkerAck[]>;
  /** Key-set statuses, one list per serving process. */
  keyStatuses(): Promise<readonly (readonly KeySetStatus[])[]>;
  /** Readiness with its details, one per serving process. */
  readiness(): Promise<readonly (Readiness & { readonly worker: string })[]>;
  /** Live serving processes. */
  workerCount(): number;
  /** The requests refused most recently, newest first, across every serving process (the console). */
  recentRefusals(): Promise<readonly Refusal[]>;
}

/**
 * The control of a single in-process gateway.
 *
 * @param gateway the gateway's authenticator (its key store included) and readiness check
 * @param refusals the ring its refusals are recorded in
 */
export function createLocalControl(
  gateway: {
    readonly authenticator: Authenticator;
    readonly readiness: ReadinessCheck;
  },
  refusals?: RefusalRing,
): GatewayControl {
  const { authenticator } = gateway;
  const ack = (error?: unknown): WorkerAck =>
    error === undefined
      ? { worker: "local", pid: process.pid, ok: true }
      : { worker: "local", pid: process.pid, ok: false, error: error instanceof Error ? error.message : String(error) };
  return {
    async applyConfig(config) {
      try {
        authenticator.setConfig(config);
        return [ack()];
      } catch (err) {
        return [ack(err)];
      }
    },
    async refreshJwks() {
      try {
        await authenticator.keys.refreshAll();
        return [ack()];
      } catch (err) {
        return [ack(err)];
      }
    },
    async keyStatuses() {
      return [authenticator.keys.statuses()];
    },
    async readiness() {
      return [{ worker: "local", ...(await gateway.readiness()) }];
    },
    workerCount: () => 1,
    recentRefusals: async () => refusals?.list() ?? [],
  };
}
