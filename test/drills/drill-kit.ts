/**
 * What the fault drills share: the compiled gateway served as a real process in front of a fault-injecting
 * upstream (in front of the local stack: `test/operations/stack-gateway.ts`), raw TLS clients that misbehave
 * on purpose, and small measuring helpers. Each drill is one file in this folder with a bounded run time.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { Agent } from "undici";
import { ensureTlsMaterial } from "../../lib/pki.js";
import { seedStackState } from "../harness-pool.js";
import { listenLocal, writeAnonymousConfig } from "../operations/anonymous-cluster.js";
import { buildCli, type ServedGateway, type ServeOptions, serveCli } from "../operations/helpers.js";

/** A plain-HTTP upstream whose answers misbehave by path. */
export interface FaultUpstream {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the fault upstream:
 * - `/reset?length=L&send=S`: declares `Content-Length: L`, sends S bytes, then resets the connection;
 * - `/download?bytes=N&ms=M`: streams N bytes evenly over about M ms;
 * - anything else: `200 ok`.
 */
export async function startFaultUpstream(): Promise<FaultUpstream> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const url = new URL(req.url ?? "/", "http://upstream");
    const num = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    if (url.pathname.endsWith("/reset")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": num("length", 50_000) });
      res.write(Buffer.alloc(num("send", 10_000), 0x61), () => setImmediate(() => res.socket?.resetAndDestroy()));
      return;
    }
    if (url.pathname.endsWith("/download")) {
      const bytes = num("bytes", 1_000_000);
      const steps = 20;
      const chunk = Math.ceil(bytes / steps);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes });
      let sent = 0;
      const timer = setInterval(() => {
        const n = Math.min(chunk, bytes - sent);
        sent += n;
        res.write(Buffer.alloc(n, 0x62));
        if (sent >= bytes) {
          clearInterval(timer);
          res.end();
        }
      }, num("ms", 1_000) / steps);
      res.once("close", () => clearInterval(timer));
      return;
    }
    res.end("ok");
  });
  return listenLocal(server);
}

/** A gateway process in front of the fault upstream, every path anonymous. */
export interface FaultGateway {
  /** The gateway process started last. */
  readonly gw: ServedGateway;
  /** Starts another gateway process on the same files (after the last one exited). */
  serveAgain(): Promise<ServedGateway>;
  readonly upstream: FaultUpstream;
  readonly dispatcher: Agent;
  readonly ca: string;
  readonly dir: string;
  readonly configFile: string;
  close(): Promise<void>;
}

/**
 * Serves the compiled gateway in front of {@link startFaultUpstream}.
 *
 * @param options worker count and configuration overrides (`listen`, `upstream` keys merged in)
 */
export async function serveFaultGateway(
  options: {
    workers?: number;
    listen?: Record<string, unknown>;
    upstream?: Record<string, unknown>;
    serve?: ServeOptions;
  } = {},
): Promise<FaultGateway> {
  const [main, dir, upstream] = await Promise.all([
    buildCli(),
    mkdtemp(join(tmpdir(), "entra-drill-")),
    startFaultUpstream(),
  ]);
  await seedStackState(dir, { customSeed: true }); // the run's pooled TLS material, when the pool exists
  const tls = await ensureTlsMaterial(dir);
  const configFile = await writeAnonymousConfig(dir, upstream.url, options);
  const args = ["--config", configFile, "--workers", String(options.workers ?? 1), "--state-dir", join(dir, "state")];
  const state = { gw: await serveCli(main, args, options.serve) };
  const dispatcher = new Agent({ connect: { ca: tls.ca.cert }, connections: 64 });
  return {
    get gw() {
      return state.gw;
    },
    async serveAgain() {
      state.gw = await serveCli(main, args, options.serve);
      return state.gw;
    },
    upstream,
    dispatcher,
    ca: tls.ca.cert,
    dir,
    configFile,
    async close() {
      await state.gw.stop();
      await upstream.close();
      await dispatcher.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A raw TLS connection to the gateway (for requests no well-behaved client library would send). */
export function rawTls(url: string, ca: string): Promise<TLSSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca, servername: "localhost" }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything a socket receives until it closes (or `limitMs` passes), and whether it closed. */
export function readUntilClosed(
  socket: TLSSocket,
  limitMs: number,
): Promise<{ readonly text: string; readonly closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed });
    };
    const timer = setTimeout(() => finish(false), limitMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
  });
}

/** The p-th percentile (0–100) of some numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
