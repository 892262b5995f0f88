#!/usr/bin/env node
/**
 * Bench-only entry for the compiled gateway (`--gateway-entry bench`; the default is the CLI's `serve`):
 * `node dist/bench/serve-gateway.js --config FILE [--state-dir D] [--workers N] [--log-level warn]`.
 *
 * Loads the configuration through the same path as `serve` (`startGatewayService`: validated, watched,
 * metrics and admin listeners), logs at `warn`, and prints one line `{"ready":true,"url":…}` on stdout when
 * it listens. With `--workers N` (N > 1) a `node:cluster` primary forks N workers that share the listening
 * sockets (each worker listens on port 0; the cluster gives them one port), like `serve --workers N`, but every worker is a whole single process.
 * SIGTERM/SIGINT stop it gracefully, so `--cpu-prof` profiles are written.
 */
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { createLogger } from "../gateway/observability/logger.js";
import { startGatewayService } from "../gateway/runtime/start.js";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    "state-dir": { type: "string", default: ".state/bench" },
    workers: { type: "string", default: "1" },
    "log-level": { type: "string", default: "warn" },
  },
});

if (!values.config) {
  process.stderr.write("usage: serve-gateway --config FILE [--state-dir D] [--workers N] [--log-level L]\n");
  process.exit(2);
}
const configPath = values.config;
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) {
  process.stderr.write(`serve-gateway: --workers must be a positive integer, got ${values.workers}\n`);
  process.exit(2);
}

/** What a worker reports to the primary once it listens. */
interface ReadyMessage {
  readonly ready: true;
  readonly url: string;
  readonly metricsUrl: string;
}

async function serveOne(): Promise<ReadyMessage> {
  const logger = createLogger({ level: values["log-level"] });
  const service = await startGatewayService({
    configPath,
    stateDir: values["state-dir"],
    logger,
    host: "127.0.0.1",
    port: 0,
    admin: { host: "127.0.0.1", port: 0 },
    metrics: { host: "127.0.0.1", port: 0 },
  });
  const stop = async () => {
    await service.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
  process.once("disconnect", () => void stop());
  return { ready: true, url: service.gateway.url, metricsUrl: service.metrics?.url ?? "" };
}

if (workers === 1) {
  const ready = await serveOne();
  process.stdout.write(`${JSON.stringify({ ...ready, pid: process.pid, workers: 1 })}\n`);
} else if (cluster.isPrimary) {
  const readies: ReadyMessage[] = [];
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    worker.on("message", (message: ReadyMessage) => {
      if (message?.ready !== true) return;
      readies.push(message);
      if (readies.length === workers) {
        process.stdout.write(`${JSON.stringify({ ...readies[0], pid: process.pid, workers })}\n`);
      }
    });
  }
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    setTimeout(() => process.exit(0), 3_000).unref();
    cluster.on("exit", () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} else {
  const ready = await serveOne();
  process.send?.(ready);
}
