/**
 * `serve --workers N` (docs/operations.md § Workers): a node:cluster primary and N serving workers sharing the main port.
 *
 * The **primary** owns everything that must exist once: the configuration file (validation, watch, SIGHUP),
 * the runtime tenant state (`state/tenant-state.ts`), the admin API, the metrics listener (worker metrics aggregated with prom-client's
 * `AggregatorRegistry`, plus its own), secret expiry notifications and the workers' lives (a worker that
 * dies is replaced). The **workers** serve requests: each runs `startGateway` with its own key cache.
 *
 * Changes reach workers as messages with a sequence number and come back as acknowledgements: the
 * primary validates a new file, sends its text with the runtime tenant states, every worker validates it, lays
 * the states over it and swaps it in
 * (`authenticator.setConfig`) and acknowledges; the admin call that caused it answers only after every
 * live worker has. A worker that starts (or restarts) asks for the configuration in force rather than
 * reading the file, so it never serves an older or unvalidated one.
 *
 * SIGTERM / SIGINT to the primary: the admin API closes, every worker drains its in-flight requests (up to
 * `listen.drainTimeoutMs`, then closes what is left) and exits, then the primary exits 0. A worker signalled
 * directly drains and exits too. IPC sends never throw: a worker that exits while a message is on its way
 * (Ctrl-C signals the whole process group) costs a debug line, not an unhandled EPIPE.
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { AggregatorRegistry, Registry } from "prom-client";
import type { GatewayControl, WorkerAck } from "./admin/control.js";
import { type AdminServer, startAdminServer } from "./admin/server.js";
import { applyWithTenantStates, openTenantSwitch } from "./admin/tenant-switch.js";
import type { KeySetStatus } from "./auth/keys/jwks-store.js";
import type { GatewayConfig } from "./config/validate.js";
import { createConfigReloader, validateConfigTextAt } from "./config/watch.js";
import type { Readiness } from "./http/health.js";
import { createControlMetrics, createRequestMetrics } from "./observability/metrics.js";
import { type MetricsServer, startMetricsServer } from "./observability/metrics-server.js";
import { startSecretExpiryMonitor } from "./observability/secret-expiry.js";
import { type RunningGateway, startGateway } from "./server.js";
import { readConfigFile, resolveAdminKey } from "./service.js";
import { applyTenantStates, type TenantStates } from "./state/tenant-state.js";

/** Primary → worker. */
type ToWorker =
  | {
      readonly t: "eg:config";
      readonly seq: number;
      readonly text: string;
      readonly path: string;
      /** Runtime tenant states, laid over the validated file. */
      readonly states: TenantStates;
    }
  | { readonly t: "eg:jwks-refresh"; readonly seq: number }
  | { readonly t: "eg:status"; readonly seq: number }
  | { readonly t: "eg:ready"; readonly seq: number }
  | { readonly t: "eg:shutdown" };

/** Worker → primary. */
type FromWorker =
  | { readonly t: "eg:hello" }
  | { readonly t: "eg:listening"; readonly url: string }
  | {
      readonly t: "eg:ack";
      readonly seq: number;
      readonly ok: boolean;
      readonly error?: string;
      readonly statuses?: KeySetStatus[];
      readonly readiness?: Readiness;
    };

function isFromWorker(message: unknown): message is FromWorker {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { t?: unknown }).t === "string" &&
    (message as { t: string }).t.startsWith("eg:")
  );
}

/** How long the primary waits for a worker's acknowledgement. */
const ACK_TIMEOUT_MS = 15_000;

/** After a worker's drain deadline, how long the primary still waits before it kills the worker. */
const EXIT_GRACE_MS = 5_000;

/**
 * Sends an IPC message unless the channel is gone; a failed send (EPIPE while a worker exits at the same
 * time, as on Ctrl-C, which signals every process of the group) is logged, never thrown.
 */
function sendSafely(worker: Worker, message: ToWorker, logger: Logger): void {
  if (!worker.isConnected()) return;
  worker.send(message, (err: Error | null) => {
    if (err) logger.debug({ worker: worker.id, err: err.message, t: message.t }, "message to worker not delivered");
  });
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  readonly configPath: string;
  readonly workers: number;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly watch: boolean;
}

/**
 * Runs the cluster primary until SIGTERM/SIGINT. Resolves with the exit code once every worker is gone.
 *
 * @param options configuration file, worker count, state directory, logger
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger, configPath } = options;
  const initial = await readConfigFile(configPath);
  for (const warning of initial.warnings) logger.warn({ path: configPath }, `configuration: ${warning}`);
  const tenants = await openTenantSwitch(options.stateDir, logger, initial.config.sharedState);
  const config = tenants.effective(initial.config);

  const ownRegistry = new Registry();
  const controlMetrics = createControlMetrics(ownRegistry);
  const aggregator = new AggregatorRegistry();

  interface Member {
    readonly worker: Worker;
    configured: boolean;
    listening: boolean;
    readonly startedAt: number;
  }
  const members = new Map<number, Member>();
  const pending = new Map<
    number,
    { readonly waiting: Set<number>; readonly acks: WorkerAck[]; readonly done: (acks: WorkerAck[]) => void }
  >();
  let seq = 0;
  let current = { text: initial.text, config, states: tenants.states() };
  let shuttingDown = false;
  let url: string | undefined;
  let quickDeaths = 0;

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
      for (const m of targets) sendSafely(m.worker, make(s), logger);
      settle(s);
    });
  };
  const configuredMembers = () => [...members.values()].filter((m) => m.configured && m.worker.isConnected());

  /** Key-set statuses per `eg:status` sequence number, one list per worker. */
  const statusReplies = new Map<number, KeySetStatus[][]>();
  /** Readiness per `eg:ready` sequence number, one per worker. */
  const readyReplies = new Map<number, (Readiness & { worker: string })[]>();
  /** Asks every listening worker a question and gathers the answers their acknowledgements carry. */
  const collect = async <T>(t: "eg:status" | "eg:ready", replies: Map<number, T[]>): Promise<T[]> => {
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
      return ask(configuredMembers(), (s) => ({ t: "eg:config", seq: s, text, path: configPath, states }));
    },
    refreshJwks: () => ask(configuredMembers(), (s) => ({ t: "eg:jwks-refresh", seq: s })),
    keyStatuses: () => collect("eg:status", statusReplies),
    readiness: () => collect("eg:ready", readyReplies),
    workerCount: () => [...members.values()].filter((m) => m.listening).length,
  };

  let listenersUp = false;
  let announced = false;
  /** One "gateway ready" line, once every worker listens and the admin and metrics listeners are up. */
  const announce = () => {
    if (announced || !listenersUp || members.size === 0 || ![...members.values()].every((m) => m.listening)) return;
    announced = true;
    logger.info({ url, adminUrl: admin?.url, metricsUrl: metrics?.url, workers: members.size }, "gateway ready");
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
          const { text, states } = current;
          void ask([member], (s) => ({ t: "eg:config", seq: s, text, path: configPath, states })).then((acks) => {
            const ack = acks[0];
            if (ack !== undefined && !ack.ok) {
              logger.error({ worker: worker.id, err: ack.error }, "worker could not start");
            }
          });
          break;
        }
        case "eg:listening":
          member.listening = true;
          url ??= message.url;
          announce();
          break;
        case "eg:ack":
          if (message.statuses !== undefined) {
            const replies = statusReplies.get(message.seq) ?? [];
            replies.push(message.statuses);
            statusReplies.set(message.seq, replies);
          }
          if (message.readiness !== undefined) {
            const replies = readyReplies.get(message.seq) ?? [];
            replies.push({ worker: String(worker.id), ...message.readiness });
            readyReplies.set(message.seq, replies);
          }
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
    if (shuttingDown) return;
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal }, "worker died; starting a replacement");
    controlMetrics.recordWorkerRestart();
    // A worker that dies right after starting is probably crash-looping: back off.
    quickDeaths = member !== undefined && Date.now() - member.startedAt < 5_000 ? quickDeaths + 1 : 0;
    const delay = Math.min(10_000, quickDeaths === 0 ? 0 : 250 * 2 ** (quickDeaths - 1));
    setTimeout(() => {
      if (!shuttingDown) fork();
    }, delay).unref();
  });

  let monitor: { check(): unknown; stop(): void } | undefined;
  const reloader = createConfigReloader<readonly WorkerAck[]>({
    path: configPath,
    initial,
    logger,
    apply: applyWithTenantStates(control, tenants),
    onOutcome: (outcome) => {
      controlMetrics.recordReload(outcome.trigger, outcome.result);
      if (outcome.result === "applied") monitor?.check();
    },
  });
  monitor = startSecretExpiryMonitor({ config: () => reloader.config, logger });
  const unfollow = tenants.follow(() => applyWithTenantStates(control, tenants)(reloader.config, reloader.text));
  controlMetrics.attach({
    config: () => reloader.config,
    workers: () => control.workerCount(),
    sharedState: () => tenants.sharedState(),
  });

  cluster.setupPrimary({ silent: false });
  for (let i = 0; i < options.workers; i += 1) fork();

  const adminKey = await resolveAdminKey(config, options.stateDir, logger);
  const tls =
    config.listen.cert !== undefined && config.listen.key !== undefined
      ? { cert: config.listen.cert, key: config.listen.key.reveal() }
      : undefined;
  let admin: AdminServer | undefined;
  let metrics: MetricsServer | undefined;
  if (config.admin.enabled) {
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      tls,
      key: adminKey,
      configPath,
      tenants,
      control,
      reloader,
      logger,
      metrics: controlMetrics,
    });
  }
  if (config.metrics.enabled) {
    metrics = await startMetricsServer({
      host: config.metrics.host,
      port: config.metrics.port,
      contentType: ownRegistry.contentType,
      render: async () => `${await aggregator.clusterMetrics()}\n${await ownRegistry.metrics()}`,
      onError: (err) => logger.error({ err: err.message }, "metrics aggregation failed"),
    });
    logger.info({ url: metrics.url }, "metrics listening");
  }
  if (options.watch) reloader.watch();
  listenersUp = true;
  announce();

  return new Promise<number>((resolve) => {
    const onHup = () => void reloader.reload("signal");
    const shutdown = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info({ signal, workers: members.size }, "shutting down: draining workers");
      reloader.close();
      unfollow();
      monitor?.stop();
      void (async () => {
        await admin?.close().catch(() => undefined);
        // Each worker drains up to listen.drainTimeoutMs and exits; one that does not is killed after a grace.
        const killAfterMs = current.config.listen.drainTimeoutMs + EXIT_GRACE_MS;
        const exits = [...members.values()].map(
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
              if (m.worker.isConnected()) sendSafely(m.worker, { t: "eg:shutdown" }, logger);
              else m.worker.process.kill("SIGTERM");
            }),
        );
        await Promise.all(exits);
        await metrics?.close().catch(() => undefined);
        await tenants.close().catch(() => undefined);
        process.off("SIGHUP", onHup);
        logger.info("all workers stopped");
        resolve(0);
      })();
    };
    process.on("SIGHUP", onHup);
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
  });
}

/**
 * Runs a cluster worker: asks the primary for the configuration, serves, applies what the primary sends,
 * drains and exits on shutdown.
 *
 * @param logger this worker's logger
 */
export async function runWorker(logger: Logger): Promise<void> {
  const registry = new Registry();
  const metrics = createRequestMetrics(registry);
  // The primary scrapes this registry over IPC; constructing an AggregatorRegistry installs the listener.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();

  let gateway: RunningGateway | undefined;
  let stopping: Promise<void> | undefined;
  let chain: Promise<void> = Promise.resolve();
  const send = (message: FromWorker) => {
    // The callback turns a failed send (the primary already gone) into a log line instead of an 'error' event.
    if (process.connected) {
      process.send?.(message, undefined, {}, (err: Error | null) => {
        if (err) logger.debug({ err: err.message, t: message.t }, "message to primary not delivered");
      });
    }
  };
  process.on("error", (err: Error) => logger.debug({ err: err.message }, "channel to primary failed"));

  const stop = () => {
    stopping ??= (async () => {
      logger.info("worker draining");
      // A shutdown is a shutdown: whatever stop() meets, the worker leaves (0 — it was asked to).
      await gateway
        ?.stop()
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, "worker stop failed"));
      logger.info("worker stopped");
      process.exit(0);
    })();
    return stopping;
  };

  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.t) {
      case "eg:config": {
        const result = validateConfigTextAt(message.text, message.path);
        if (!result.ok) {
          send({ t: "eg:ack", seq: message.seq, ok: false, error: result.problems.join("; ") });
          return;
        }
        const config = applyTenantStates(result.config, message.states);
        try {
          if (gateway === undefined) {
            gateway = await startConfigured(config);
            send({ t: "eg:listening", url: gateway.url });
          } else {
            gateway.authenticator.setConfig(config);
          }
          send({ t: "eg:ack", seq: message.seq, ok: true });
        } catch (err) {
          send({ t: "eg:ack", seq: message.seq, ok: false, error: (err as Error).message });
          if (gateway === undefined) process.exit(1);
        }
        return;
      }
      case "eg:jwks-refresh":
        await gateway?.keys.refreshAll();
        send({ t: "eg:ack", seq: message.seq, ok: gateway !== undefined });
        return;
      case "eg:status":
        send({ t: "eg:ack", seq: message.seq, ok: true, statuses: gateway?.keys.statuses() ?? [] });
        return;
      case "eg:ready":
        if (gateway === undefined) send({ t: "eg:ack", seq: message.seq, ok: false });
        else send({ t: "eg:ack", seq: message.seq, ok: true, readiness: await gateway.readiness() });
        return;
      case "eg:shutdown":
        await stop();
        return;
    }
  };

  const startConfigured = async (config: GatewayConfig): Promise<RunningGateway> => {
    const gw = await startGateway({
      config,
      logger,
      onOutcome: metrics.recordOutcome,
      onJwksFetch: metrics.recordJwksFetch,
      onVerified: metrics.recordIssuedAge,
    });
    metrics.attach(gw);
    return gw;
  };

  process.on("message", (message: unknown) => {
    if (typeof message !== "object" || message === null) return;
    const t = (message as { t?: unknown }).t;
    if (typeof t !== "string" || !t.startsWith("eg:")) return;
    if (t === "eg:shutdown") {
      void stop();
      return;
    }
    chain = chain
      .then(() => handle(message as ToWorker))
      .catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, "worker message failed");
      });
  });
  // Signalled directly, or orphaned: drain and go. SIGINT is a terminal's Ctrl-C, which reaches the primary
  // too: while it is there, it leads the shutdown (a worker leaving on its own would look like a death).
  process.once("SIGTERM", () => void stop());
  process.on("SIGINT", () => {
    if (!process.connected) void stop();
  });
  process.once("disconnect", () => void stop());
  send({ t: "eg:hello" });
}
