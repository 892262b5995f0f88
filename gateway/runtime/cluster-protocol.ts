/**
 * The messages between the cluster primary (`cluster-primary.ts`) and its workers (`cluster-worker.ts`), typed,
 * with the guards that admit them off the IPC channel and the sends that never throw.
 *
 * A change travels as a message with a sequence number and comes back as an acknowledgement carrying the same
 * number; the primary's broadcast resolves once every live worker has answered (or died, or timed out).
 * Key sets travel the other way round from changes: the primary is the host's only JWKS fetcher
 * (`cluster-keys.ts`) and sends every worker each key set after each attempt (`eg:keys`); a worker that meets
 * an unknown `kid` asks (`eg:keys-request`) and is answered with the set as the primary's store left it.
 * Every message type starts with `eg:`, so anything else on the channel (prom-client's aggregation requests)
 * is left alone.
 */
import type { Worker } from "node:cluster";
import type { Logger } from "pino";
import type { KeySetSnapshot, KeySetStatus } from "../auth/keys/jwks-store.js";
import type { Refusal } from "../console/refusals.js";
import type { Readiness } from "../http/health.js";
import type { TenantStates } from "../state/tenant-state.js";

/** Primary → worker. */
export type ToWorker =
  | {
      readonly t: "eg:config";
      readonly seq: number;
      /** The configuration file's text, validated again by the worker (never read from disk by it). */
      readonly text: string;
      readonly path: string;
      /** Runtime tenant states, laid over the validated file. */
      readonly states: TenantStates;
    }
  | {
      readonly t: "eg:keys";
      /** Present when the primary waits for an acknowledgement (an operator's refresh). */
      readonly seq?: number;
      readonly snapshots: readonly KeySetSnapshot[];
    }
  | { readonly t: "eg:status"; readonly seq: number }
  | { readonly t: "eg:ready"; readonly seq: number }
  /** The worker's recent refusals (the console's list). */
  | { readonly t: "eg:refusals"; readonly seq: number }
  | { readonly t: "eg:shutdown" };

/** Worker → primary. */
export type FromWorker =
  | { readonly t: "eg:hello" }
  | { readonly t: "eg:listening"; readonly url: string }
  | { readonly t: "eg:keys-request"; readonly setId: string; readonly reason: "unknown_kid" | "manual" }
  | {
      readonly t: "eg:ack";
      readonly seq: number;
      readonly ok: boolean;
      readonly error?: string;
      readonly statuses?: KeySetStatus[];
      readonly readiness?: Readiness;
      readonly refusals?: Refusal[];
    };

function isGatewayMessage(message: unknown): message is { readonly t: string } {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { t?: unknown }).t === "string" &&
    (message as { t: string }).t.startsWith("eg:")
  );
}

/** Is an IPC message one a worker sent to the primary? */
export const isFromWorker = isGatewayMessage as (message: unknown) => message is FromWorker;

/** Is an IPC message one the primary sent to a worker? */
export const isToWorker = isGatewayMessage as (message: unknown) => message is ToWorker;

/**
 * Sends to a worker unless the channel is gone; a failed send (EPIPE while a worker exits at the same time,
 * as on Ctrl-C, which signals every process of the group) is logged, never thrown.
 *
 * @param worker the recipient
 * @param message what to send
 * @param logger told (debug) when it was not delivered
 */
export function sendToWorker(worker: Worker, message: ToWorker, logger: Logger): void {
  if (!worker.isConnected()) return;
  worker.send(message, (err: Error | null) => {
    if (err) logger.debug({ worker: worker.id, err: err.message, t: message.t }, "message to worker not delivered");
  });
}

/**
 * Sends to the primary unless the channel is gone; a failed send (the primary already gone) is logged, never
 * thrown.
 *
 * @param message what to send
 * @param logger told (debug) when it was not delivered
 */
export function sendToPrimary(message: FromWorker, logger: Logger): void {
  if (!process.connected) return;
  process.send?.(message, undefined, {}, (err: Error | null) => {
    if (err) logger.debug({ err: err.message, t: message.t }, "message to primary not delivered");
  });
}
