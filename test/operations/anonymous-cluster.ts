/**
 * A `serve --workers 2` gateway with no tenants: one anonymous route in front of a controllable plain-HTTP
 * upstream that holds every request until released (so "in flight" is a fact, not a timing guess).
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { stringify } from "yaml";
import { ensureTlsMaterial } from "../../lib/pki.js";
import { seedStackState } from "../harness-pool.js";
import { buildCli, type ServedGateway, serveCli } from "./helpers.js";

export interface HeldUpstream {
  readonly url: string;
  /** Requests received and not yet answered. */
  readonly held: ServerResponse[];
  received: number;
  release(): void;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0; the URL and a close that drops every connection. */
export async function listenLocal(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Writes `{dir}/gateway.yaml`: every path anonymous in front of `upstreamUrl`, TLS from `ensureTlsMaterial(dir)`,
 * every listener on 127.0.0.1:0; `listen` and `upstream` keys merged in.
 */
export async function writeAnonymousConfig(
  dir: string,
  upstreamUrl: string,
  extra: { listen?: Record<string, unknown>; upstream?: Record<string, unknown> } = {},
): Promise<string> {
  const configFile = join(dir, "gateway.yaml");
  await writeFile(
    configFile,
    stringify({
      upstream: { url: upstreamUrl, ...extra.upstream },
      routes: [{ prefix: "/", requirement: "anonymous" }],
      listen: {
        host: "127.0.0.1",
        port: 0,
        certFile: join(dir, "tls", "server.crt"),
        keyFile: join(dir, "tls", "server.key"),
        ...extra.listen,
      },
      admin: { host: "127.0.0.1", port: 0 },
      metrics: { host: "127.0.0.1", port: 0 },
    }),
  );
  return configFile;
}

export async function startHeldUpstream(): Promise<HeldUpstream> {
  const held: ServerResponse[] = [];
  let holding = true;
  const state = {
    received: 0,
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.received += 1;
    req.resume();
    if (holding) held.push(res);
    else res.end("ok");
  });
  const listening = await listenLocal(server);
  return {
    url: listening.url,
    held,
    get received() {
      return state.received;
    },
    release() {
      holding = false;
      for (const res of held.splice(0)) res.end("ok");
    },
    close: listening.close,
  };
}

export interface AnonymousCluster {
  readonly gw: ServedGateway;
  readonly upstream: HeldUpstream;
  readonly dispatcher: Agent;
  readonly dir: string;
  readonly configFile: string;
  close(): Promise<void>;
}

export async function startAnonymousCluster(extraArgs: readonly string[] = []): Promise<AnonymousCluster> {
  const [main, dir, upstream] = await Promise.all([
    buildCli(),
    mkdtemp(join(tmpdir(), "entra-ops-anon-")),
    startHeldUpstream(),
  ]);
  await seedStackState(dir);
  const tls = await ensureTlsMaterial(dir);
  const configFile = await writeAnonymousConfig(dir, upstream.url);
  const gw = await serveCli(main, [
    "--config",
    configFile,
    "--workers",
    "2",
    "--state-dir",
    join(dir, "state"),
    ...extraArgs,
  ]);
  const dispatcher = new Agent({ connect: { ca: tls.ca.cert }, connections: 64 });
  return {
    gw,
    upstream,
    dispatcher,
    dir,
    configFile,
    async close() {
      await gw.stop();
      upstream.release();
      await upstream.close();
      await dispatcher.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
