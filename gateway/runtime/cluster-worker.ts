/**
 * A cluster worker of `serve --workers N`: says hello, is sent the configuration in force (validated again
 * here, runtime tenant states laid over it), serves on the shared port, applies what the primary sends and
 * answers each message with an acknowledgement (`cluster-protocol.ts`). It fetches no JWKS: its keys are a
 * replica of the primary's (`auth/keys/jwks-replica.ts`), asked for on an unknown `kid`. On shutdown, SIGTERM or a lost
 * primary it drains its in-flight requests and leaves.
 */
import type { Logger } from "pino";
import { AggregatorRegistry, Registry } from "prom-client";
import { createJwksReplica, type JwksReplica } from "../auth/keys/jwks-replica.js";
import type { KeySetSnapshot } from "../auth/keys/jwks-store.js";
import { validateConfigTextAt } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { createRefusalRing } from "../console/refusals.js";
import { type RunningGateway, startGateway } from "../http/server.js";
import { createRequestMetrics } from "../observability/metrics.js";
import { applyTenantStates } from "../state/tenant-state.js";
import { isToWorker, sendToPrimary, type ToWorker } from "./cluster-protocol.js";

/**
 * Runs this process as a cluster worker until it is told to stop.
 *
 * @param logger this worker's logger
 * @returns the exit code: 0 after a drain, 1 when the gateway could not start
 */
export function runClusterWorker(logger: Logger): Promise<number> {
  const registry = new Registry();
  // The primary fetches and counts JWKS fetches for the host.
  const metrics = createRequestMetrics(registry, { countsJwksFetches: false });
  const refusals = createRefusalRing();
  // The primary scrapes this registry over IPC; constructing an AggregatorRegistry installs the listener.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();

  let gateway: RunningGateway | undefined;
  let keys: JwksReplica | undefined;
  /** Key sets that arrived before the gateway (and its replica) started. */
  const early = new Map<string, KeySetSnapshot>();
  let stopping: Promise<void> | undefined;
  let chain: Promise<void> = Promise.resolve();
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  const send = (message: Parameters<typeof sendToPrimary>[0]) => sendToPrimary(message, logger);
  process.on("error", (err: Error) => logger.debug({ err: err.message }, "channel to primary failed"));

  const stop = () => {
    stopping ??= (async () => {
      logger.info("worker draining");
      // A shutdown is a shutdown: whatever stop() meets, the worker leaves (0 — it was asked to).
      await gateway
        ?.stop()
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, "worker stop failed"));
      logger.info("worker stopped");
      exit(0);
    })();
    return stopping;
  };

  const startConfigured = async (config: GatewayConfig): Promise<RunningGateway> => {
    keys = createJwksReplica({
      settings: config.auth.jwks,
      source: { request: (setId, reason) => send({ t: "eg:keys-request", setId, reason }) },
    });
    for (const snapshot of early.values()) keys.accept(snapshot);
    early.clear();
    const gw = await startGateway({
      config,
      logger,
      keys,
      onOutcome: (o) => {
        metrics.recordOutcome(o);
        refusals.record(o);
      },
      onVerified: metrics.recordIssuedAge,
    });
    metrics.attach(gw);
    return gw;
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
          if (gateway === undefined) exit(1);
        }
        return;
      }
      case "eg:status":
        send({ t: "eg:ack", seq: message.seq, ok: true, statuses: gateway?.keys.statuses() ?? [] });
        return;
      case "eg:ready":
        if (gateway === undefined) send({ t: "eg:ack", seq: message.seq, ok: false });
        else send({ t: "eg:ack", seq: message.seq, ok: true, readiness: await gateway.readiness() });
        return;
      case "eg:refusals":
        send({ t: "eg:ack", seq: message.seq, ok: true, refusals: [...refusals.list()] });
        return;
      case "eg:keys": // taken at once, on arrival
      case "eg:shutdown":
        return;
    }
  };

  /** Takes key sets at once, never behind a queued message: a starting gateway waits for them. */
  const acceptKeys = (snapshots: readonly KeySetSnapshot[], seq: number | undefined) => {
    for (const snapshot of snapshots) {
      if (keys === undefined) early.set(snapshot.id, snapshot);
      else keys.accept(snapshot);
    }
    if (seq !== undefined) send({ t: "eg:ack", seq, ok: true });
  };

  process.on("message", (message: unknown) => {
    if (!isToWorker(message)) return;
    if (message.t === "eg:shutdown") {
      void stop();
      return;
    }
    if (message.t === "eg:keys") {
      acceptKeys(message.snapshots, message.seq);
      return;
    }
    chain = chain
      .then(() => handle(message))
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
  return exited;
}
