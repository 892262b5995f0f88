/**
 * A real `redis-server` (Debian's package; `.ci/run` installs it) for the tests of the shared tenant state:
 * started on a free 127.0.0.1 port without persistence, ready once it answers PING, stopped after. It can be
 * stopped and started again on the same port, which is how the tests make an outage.
 *
 * Where `redis-server` is missing, {@link redisTests} says so loudly and the tests are skipped — except in CI
 * (`CI` set, as `.ci/run` runs), where they run and fail: CI must never pass by skipping them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** The `redis-server` binary on PATH (or Debian's place), or undefined. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const path = join(dir, "redis-server");
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** True where the run is CI's (`.ci/run` runs with `CI=true`). */
function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/**
 * Whether the Redis tests run here: `skip` is true only where `redis-server` is missing outside CI (with a
 * warning naming the fix). In CI a missing binary is a failure of the tests, not a skip.
 */
export function redisTests(): { readonly skip: boolean } {
  if (findRedisServer() !== undefined || inCi()) return { skip: false };
  console.warn(
    "\n*** SKIPPED: the shared tenant state tests need redis-server (apt-get install -y redis-server); " +
      "in CI they fail instead ***\n",
  );
  return { skip: true };
}

/** A running (or stopped, restartable) redis-server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:{port}` */
  readonly url: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Ends the process (SIGKILL: an outage, not a clean shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), and waits for PING. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** One PING over a fresh connection: true when the answer is +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
  });
}

/**
 * Starts a redis-server on a free loopback port and waits until it answers PING.
 *
 * @example
 * const redis = await startRedisServer();
 * const store = createRedisTenantStateStore({ url: redis.url });
 * await redis.stop(); // outage
 * await redis.start(); // back, empty
 * await redis.close();
 */
export async function startRedisServer(): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined) {
    throw new Error("redis-server not found: install Debian's redis-server package (.ci/run does it in CI)");
  }
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "redis-test-"));
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    if (child !== undefined) throw new Error("redis-server already running");
    output = "";
    const started = spawn(
      binary,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--daemonize",
        "no",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = started;
    started.stdout?.on("data", (c: Buffer) => {
      output = (output + c.toString()).slice(-4_000);
    });
    started.stderr?.on("data", (c: Buffer) => {
      output = (output + c.toString()).slice(-4_000);
    });
    started.once("exit", () => {
      if (child === started) child = undefined;
    });
    const until = Date.now() + 15_000;
    while (!(await ping(port))) {
      if (child !== started) throw new Error(`redis-server exited at start:\n${output}`);
      if (Date.now() > until) throw new Error(`redis-server did not answer PING on ${port}:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const stop = async () => {
    const running = child;
    if (running === undefined) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback TCP relay to a port that a test can cut (every connection dropped, new ones refused) and restore. */
export interface ConnectionCutter {
  /** `redis://127.0.0.1:{relay port}` */
  readonly url: string;
  /** Drops every relayed connection and refuses new ones until {@link restore}. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * Starts a relay in front of `targetPort`: one client's view of Redis can then go away and come back while
 * Redis itself stays up for the others (a network partition of one replica).
 *
 * @param targetPort the redis-server's port
 */
export async function startConnectionCutter(targetPort: number): Promise<ConnectionCutter> {
  let isCut = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url: `redis://127.0.0.1:${address.port}`,
    cut() {
      isCut = true;
      cutAll();
    },
    restore() {
      isCut = false;
    },
    async close() {
      cutAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
