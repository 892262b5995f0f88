/**
 * What the admin API and the reloader need from the serving processes, whether they are this process
 * (`createLocalControl`) or a `--workers N` cluster (`cluster.ts`): apply a configuration, refresh keys,
 * report key state — each resolving only once every serving process has done it.
 */
import type { Authenticator } from "../auth/authenticate.js";
import type { KeySetStatus } from "../auth/keys/jwks-store.js";
import type { GatewayConfig } from "../config/validate.js";

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
  /** Swaps `config` in everywhere (`text` is what it was validated from, for workers to re-validate). */
  applyConfig(config: GatewayConfig, text: string): Promise<readonly WorkerAck[]>;
  /** Forces a JWKS refresh everywhere (bypasses cooldown and budget). */
  refreshJwks(): Promise<readonly WorkerAck[]>;
  /** Key-set statuses, one list per serving process. */
  keyStatuses(): Promise<readonly (readonly KeySetStatus[])[]>;
  /** Live serving processes. */
  workerCount(): number;
}

/**
 * The control of a single in-process gateway.
 *
 * @param authenticator the gateway's authenticator (its key store included)
 */
export function createLocalControl(authenticator: Authenticator): GatewayControl {
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
    workerCount: () => 1,
  };
}
