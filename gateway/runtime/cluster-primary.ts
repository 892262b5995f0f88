/**
 * The cluster primary of `serve --workers N` (docs/operations.md § Workers): N serving workers share the main
 * port; the primary keeps their lives (a worker that dies is replaced, with back-off when it crash-loops) and
 * is the {@link GatewayControl} the control plane talks to: a change goes to every worker as a message with a
 * sequence number (`cluster-protocol.ts`) and resolves once every live worker has acknowledged it. A worker
 * that starts (or restarts) says hello and is sent the configuration in force rather than reading the file, so
 * it never serves an older or unvalidated one. The primary is also the host's only JWKS fetcher
 * (`cluster-keys.ts`): workers serve replicas of its key sets. Worker metrics are aggregated with
 * prom-client's `AggregatorRegistry`, next to the primary's own (JWKS fetches among them).
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { GatewayControl, WorkerAck } from "../admin/control.js";
import type { KeySetStatus } from "../auth/keys/jwks-store.js";
import type { GatewayConfig } from "../config/types.js";
import { mergeRefusals, type Refusal } from "../console/refusals.js";
import type { Readiness } from "../http/health.js";
import type { ControlMetrics } from "../observability/metrics.js";
import type { TenantStates } from "../state/tenant-state.js";
import { createHostKeys } from "./cluster-keys.js";
import { isFromWorker, sendToWorker, type ToWorker } from "./cluster-protocol.js";

/** How long the primary waits for a worker's acknowledgement. */
const ACK_TIMEOUT_MS = 15_000;

/** After a worker's drain deadline, how long the primary still waits before it kills the worker. */
const EXIT_GRACE_MS = 5_000;

/** Options of {@link startClusterPrimary}. */
export interface ClusterPrimaryOptions {
  readonly configPath: string;
  readonly workers: number;
  /** The configuration in force at start: its text, the effective configuration, the runtime tenant states. */
  readonly initial: { readonly text: string; readonly config: GatewayConfig; readonly states: TenantStates };
  readonly logger: Logger;
  /** The primary's own registry, where `controlMetrics` (which counts worker restarts) lives. */
  readonly registry: Registry;
  readonly controlMetrics: ControlMetrics;
}

/** A running primary. */
export interface ClusterPrimary {
  /** The workers, as the control plane sees them. */
  readonly control: GatewayControl;
  /** The workers' metrics aggregated, then the primary's own `registry`. */
  readonly exposition: { readonly contentType: string; render(): Promise<string> };
  /** The primary's own registry (control-plane metrics). */
  readonly registry: Registry;
  /** Resolves with the main listener's URL once every worker started so far listens. */
  readonly listening: Promise<string>;
  /**
   * Asks every worker to drain (each up to `listen.drainTimeoutMs`, then killed after a grace) and resolves
   * once all are gone; no worker is replaced from then on.
   */
  drain(): Promise<void>;
}

interface Member {
  readonly worker: Worker;
  configured: boolean;
  listening: boolean;
  readonly startedAt: number;
}

/**
 * Forks the workers and returns the primary's side of them.
 *
 * @param options configuration in force, worker count, logger, registry
 */
export function startClusterPrimary(options: ClusterPrimaryOptions): ClusterPrimary {
  const { logger, configPath, controlMetrics } = options;
  const aggregator = new AggregatorRegistry();
  const members = new Map<number, Member>();
  const pending = new Map<
    number,
    { readonly waiting: Set<number>; readonly acks: WorkerAck[]; readonly done: (acks: WorkerAck[]) => void }
  >();
  let seq = 0;
  let current = options.initial;
  let draining = false;
  let url: string | undefined;
  let quickDeaths = 0;
  let announceListening: (url: string) => void = () => undefined;
  const listening = new Promise<string>((resolve) => {
    announceListening = resolve;
  });

  const settle = (s: number) => {
    const p = pending.get(s);
    if (p !== undefined && p.waiting.size === 0) {
      pending.delete(s);
      p.done(p.acks);
    }
  };
  const noteAck = (s: number, member: Member, ack: Omit<WorkerAck, "worker" | "pid">) => {
    const p = pending.get(s);
    if (p === undefined || !p.waiting.delete(member.worker.id)) return;
    p.acks.push({ worker: String(member.worker.id), pid: member.worker.process.pid ?? 0, ...ack });
    settle(s);
  };

  /** Sends to the given workers and waits for each one's acknowledgement (or its death, or a timeout). */
  const ask = (targets: readonly Member[], make: (seq: number) => ToWorker): Promise<WorkerAck[]> => {
    const s = ++seq;
    return new Promise<WorkerAck[]>((resolve) => {
      const waiting = new Set(targets.map((m) => m.worker.id));
      const timer = setTimeout(() => {
        const p = pending.get(s);
        if (p === undefined) return;
        for (const id of p.waiting) {
          const m = members.get(id);
          p.acks.push({ worker: String(id), pid: m?.worker.process.pid ?? 0, ok: false, error: "no answer" });
        }
        p.waiting.clear();
        settle(s);
      }, ACK_TIMEOUT_MS);
      timer.unref();
      pending.set(s, {
        waiting,
        acks: [],
        done: (acks) => {
          clearTimeout(timer);
          resolve(acks);
        },
      });
      for (const m of targets) sendToWorker(m.worker, make(s), logger);
      settle(s);
    });
  };
  const configuredMembers = () => [...members.values()].filter((m) => m.configured && m.worker.isConnected());
  // Every key set goes to every worker after each attempt: all workers switch keys together.
  const hostKeys = createHostKeys({
    config: current.config,
    logger,
    registry: options.registry,
    onSnapshot: (snapshot) => {
      for (const m of members.values()) sendToWorker(m.worker, { t: "eg:keys", snapshots: [snapshot] }, logger);
    },
  });
  const configMessage = (s: number): ToWorker => ({
    t: "eg:config",
    seq: s,
    text: current.text,
    path: configPath,
    states: current.states,
  });

  /** Key-set statuses per `eg:status` sequence number, one list per worker. */
  const statusReplies = new Map<number, KeySetStatus[][]>();
  /** Readiness per `eg:ready` sequence number, one per worker. */
  const readyReplies = new Map<number, (Readiness & { worker: string })[]>();
  /** Recent refusals per `eg:refusals` sequence number, one list per worker. */
  const refusalReplies = new Map<number, Refusal[][]>();
  /** Files one worker's answer under the sequence number it answers. */
  const gather = <T>(replies: Map<number, T[]>, s: number, answer: T) => {
    const list = replies.get(s) ?? [];
    list.push(answer);
    replies.set(s, list);
  };
  /** Asks every listening worker a question and gathers the answers their acknowledgements carry. */
  const collect = async <T>(t: "eg:status" | "eg:ready" | "eg:refusals", replies: Map<number, T[]>): Promise<T[]> => {
    let asked = 0;
    await ask(
      configuredMembers().filter((m) => m.listening),
      (s) => {
        asked = s;
        return { t, seq: s };
      },
    );
    const out = replies.get(asked) ?? [];
    replies.delete(asked);
    return out;
  };
  const control: GatewayControl = {
    async applyConfig(next: GatewayConfig, text: string, states: TenantStates) {
      // Workers that say hello from now on get this one; configured workers get it after the last, in order.
      current = { text, config: next, states };
      hostKeys.sync(next);
      return ask(configuredMembers(), configMessage);
    },
    async refreshJwks() {
      await hostKeys.refreshAll();
      // Answered once every worker holds the refreshed keys.
      return ask(configuredMembers(), (s) => ({ t: "eg:keys", seq: s, snapshots: hostKeys.snapshots() }));
    },
    keyStatuses: () => collect("eg:status", statusReplies),
    readiness: () => collect("eg:ready", readyReplies),
    workerCount: () => [...members.values()].filter((m) => m.listening).length,
    recentRefusals: async () => mergeRefusals(await collect("eg:refusals", refusalReplies)),
  };

  const fork = () => {
    const worker = cluster.fork();
    const member: Member = { worker, configured: false, listening: false, startedAt: Date.now() };
    members.set(worker.id, member);
    // IPC errors (EPIPE from a worker already gone) must not crash the primary.
    worker.on("error", (err: Error) => logger.debug({ worker: worker.id, err: err.message }, "worker channel error"));
    worker.on("message", (message: unknown) => {
      if (!isFromWorker(message)) return;
      switch (message.t) {
        case "eg:hello": {
          member.configured = true;
          // The keys first: the worker waits for them before it listens.
          sendToWorker(worker, { t: "eg:keys", snapshots: hostKeys.snapshots() }, logger);
          void ask([member], configMessage).then((acks) => {
            const ack = acks[0];
            if (ack !== undefined && !ack.ok) {
              logger.error({ worker: worker.id, err: ack.error }, "worker could not start");
            }
          });
          break;
        }
        case "eg:keys-request":
          if (typeof message.setId !== "string") break;
          void hostKeys.answer(message.setId, message.reason === "manual" ? "manual" : "unknown_kid").then(
            (snapshot) => {
              if (snapshot !== undefined) sendToWorker(worker, { t: "eg:keys", snapshots: [snapshot] }, logger);
            },
            (err: unknown) => logger.error({ setId: message.setId, err: (err as Error).message }, "key request failed"),
          );
          break;
        case "eg:listening":
          member.listening = true;
          url ??= message.url;
          if ([...members.values()].every((m) => m.listening)) announceListening(url);
          break;
        case "eg:ack":
          if (message.statuses !== undefined) gather(statusReplies, message.seq, message.statuses);
          if (message.readiness !== undefined) {
            gather(readyReplies, message.seq, { worker: String(worker.id), ...message.readiness });
          }
          if (message.refusals !== undefined) gather(refusalReplies, message.seq, message.refusals);
          noteAck(
            message.seq,
            member,
            message.error === undefined ? { ok: message.ok } : { ok: message.ok, error: message.error },
          );
          break;
      }
    });
  };
  cluster.on("exit", (worker, code, signal) => {
    const member = members.get(worker.id);
    members.delete(worker.id);
    for (const [s, p] of pending) {
      if (p.waiting.delete(worker.id)) {
        p.acks.push({
          worker: String(worker.id),
          pid: worker.process.pid ?? 0,
          ok: false,
          error: "worker exited; its replacement starts with the configuration in force",
        });
        settle(s);
      }
    }
    if (draining) return;
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, "worker died; starting a replacement");
    controlMetrics.recordWorkerRestart();
    // A worker that dies right after starting is probably crash-looping: back off.
    quickDeaths = member !== undefined && Date.now() - member.startedAt < 5_000 ? quickDeaths + 1 : 0;
    const delay = Math.min(10_000, quickDeaths === 0 ? 0 : 250 * 2 ** (quickDeaths - 1));
    setTimeout(() => {
      if (!draining) fork();
    }, delay).unref();
  });

  cluster.setupPrimary({ silent: false });
  for (let i = 0; i < options.workers; i += 1) fork();

  return {
    control,
    registry: options.registry,
    exposition: {
      contentType: options.registry.contentType,
      render: async () => `${await aggregator.clusterMetrics()}\n${await options.registry.metrics()}`,
    },
    listening,
    async drain() {
      draining = true;
      // Each worker drains up to listen.drainTimeoutMs and exits; one that does not is killed after a grace.
      const killAfterMs = current.config.listen.drainTimeoutMs + EXIT_GRACE_MS;
      await Promise.all(
        [...members.values()].map(
          (m) =>
            new Promise<void>((done) => {
              if (m.worker.isDead()) return done();
              const killer = setTimeout(() => {
                logger.error({ worker: m.worker.id, pid: m.worker.process.pid }, "worker did not exit: killing it");
                m.worker.process.kill("SIGKILL");
              }, killAfterMs);
              m.worker.once("exit", () => {
                clearTimeout(killer);
                done();
              });
              if (m.worker.isConnected()) sendToWorker(m.worker, { t: "eg:shutdown" }, logger);
              else m.worker.process.kill("SIGTERM");
            }),
        ),
      );
      await hostKeys.close();
      logger.info("all workers stopped");
    },
  };
}
