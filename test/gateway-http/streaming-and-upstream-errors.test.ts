/**
 * Bodies stream both ways with bounded memory (docs/architecture.md § Proxy), and upstream failures become 502/504, never 500.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pino } from "pino";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { formatProblems, validateConfig } from "../../gateway/config/validate.js";
import { type RunningGateway, startGateway } from "../../gateway/http/server.js";
import { buildCli, type ServedGateway, serveCli } from "../operations/helpers.js";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness({ mp: { uploadLimitBytes: 512 * 1024 * 1024 } });
});
afterAll(() => h?.close());

const MB = 1024 * 1024;
const SIZE = 50 * MB;
/**
 * Peak RSS counts garbage the GC has not collected yet, and how much of it there is depends on the Node
 * version's GC heuristics (≈ 10 MB on Node 20, up to ≈ 48 MB on Node 24 for a fast 50 MB transfer). So the
 * memory check streams 256 MB and allows 64 MB: a proxy that holds the body grows by the body's size
 * (176 MB for 50 MB when mutated to buffer), one that streams does not grow with it.
 */
const MEMORY_CHECK_SIZE = 256 * MB;
const MAX_GROWTH = 64 * MB;

/** Peak resident memory (VmHWM) of a process, in bytes: the kernel's high-water mark, no sampling needed. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error("no VmHWM in /proc status");
  return Number(kb) * 1024;
}

/** A body of `size` bytes from one reused 64 KiB chunk, hashed as it goes. */
function bigBody(size: number): { stream: Readable; digest: () => string } {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const hash = createHash("sha256");
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return this.push(null);
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest("hex") };
}

async function gatewayWithUpstream(
  url: string,
  edit: (upstream: Record<string, unknown>) => void = () => {},
): Promise<RunningGateway> {
  const file = h.stack.gatewayConfigFile;
  const raw = parseYaml(await readFile(file, "utf8")) as Record<string, any>;
  raw.upstream.url = url;
  edit(raw.upstream);
  const result = validateConfig(raw, { baseDir: dirname(file) });
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return startGateway({ config: result.config, logger: pino({ level: "silent" }), host: "127.0.0.1", port: 0 });
}

describe("streaming", () => {
  // The gateway runs compiled, in its own process, so its peak RSS is its alone (production mode).
  let served: ServedGateway;
  beforeAll(async () => {
    const main = await buildCli();
    const stateDir = dirname(h.stack.gatewayConfigFile);
    served = await serveCli(main, [
      "--config",
      h.stack.gatewayConfigFile,
      "--workers",
      "1",
      "--state-dir",
      join(stateDir, "child"),
      "--no-watch",
    ]);
  }, 240_000);
  afterAll(() => served?.stop());

  it("when a client downloads 50 MB through the gateway, then every byte arrives and the gateway's peak memory does not grow with the body", async () => {
    const token = await h.userToken(h.tenant("contoso"), 1);
    const download = async (size: number) => {
      const res = await request(`${served.url}/CCM_Client/pkg/big.bin?size=${size}`, {
        dispatcher: h.dispatcher,
        headers: { authorization: `Bearer ${token}` },
      });
      let bytes = 0;
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      return { status: res.statusCode, bytes };
    };
    expect(await download(4 * MB)).toEqual({ status: 200, bytes: 4 * MB }); // warm: pools, TLS, JIT
    expect(await download(SIZE)).toEqual({ status: 200, bytes: SIZE });
    const before = await peakRss(served.child.pid!);
    expect(await download(MEMORY_CHECK_SIZE)).toEqual({ status: 200, bytes: MEMORY_CHECK_SIZE });
    // Buffering the body would lift the high-water mark by at least the body's size.
    expect((await peakRss(served.child.pid!)) - before).toBeLessThan(MAX_GROWTH);
  }, 90_000);

  it("when a client uploads 50 MB through the gateway, then the MP receives every byte and the gateway's peak memory does not grow with the body", async () => {
    const token = await h.deviceToken(h.tenant("contoso"), 11);
    const upload = async (size: number) => {
      const body = bigBody(size);
      const res = await request(`${served.url}/CCM_Incoming/upload.bin`, {
        method: "POST",
        dispatcher: h.dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/octet-stream",
          "content-length": String(size),
        },
        body: body.stream,
      });
      return {
        status: res.statusCode,
        body: (await res.body.json()) as { bytes: number; sha256: string },
        digest: body.digest(),
      };
    };
    const warm = await upload(4 * MB);
    expect(warm.status).toBe(201);
    const result = await upload(SIZE);
    expect(result.status).toBe(201);
    expect(result.body).toMatchObject({ bytes: SIZE, sha256: result.digest });
    const before = await peakRss(served.child.pid!);
    const big = await upload(MEMORY_CHECK_SIZE);
    expect(big.body).toMatchObject({ bytes: MEMORY_CHECK_SIZE, sha256: big.digest });
    expect((await peakRss(served.child.pid!)) - before).toBeLessThan(MAX_GROWTH);
  }, 90_000);

  it("when a declared body exceeds the listener's limit, then 413 before anything reaches the MP", async () => {
    const gw = await gatewayWithUpstream(h.stack.mp.url, () => {});
    // A client of its own, closed before the gateway stops: the request it gave up on leaves its connection
    // open (the gateway still expects the declared body), and the drain would wait for it.
    const client = new Agent({ connect: { ca: h.stack.tls.ca.cert } });
    try {
      const before = h.stack.mp.audit.counts().requests;
      const token = await h.deviceToken(h.tenant("contoso"), 12);
      const limit = gw.authenticator.config.listen.bodyLimitBytes;
      const res = await request(`${gw.url}/CCM_Incoming/x`, {
        method: "POST",
        dispatcher: client,
        headers: { authorization: `Bearer ${token}`, "content-length": String(limit + 1) },
        body: "x",
      }).catch((err: Error) => err);
      if (!(res instanceof Error)) {
        expect(res.statusCode).toBe(413);
        await res.body.dump();
      }
      expect(h.stack.mp.audit.counts().requests).toBe(before);
    } finally {
      await client.destroy();
      await gw.stop();
    }
  });
});

describe("upstream failures", () => {
  it("when the MP refuses connections, then 502 (not 500)", async () => {
    const gw = await gatewayWithUpstream("https://127.0.0.1:1");
    try {
      const token = await h.userToken(h.tenant("contoso"), 2);
      const res = await request(`${gw.url}/CCM_STS`, {
        method: "POST",
        dispatcher: h.dispatcher,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(502);
      expect(await res.body.json()).toMatchObject({ error: "bad_gateway" });
    } finally {
      await gw.stop();
    }
  });

  it("when the MP accepts but never answers, then 504 after the headers timeout", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const stall = createTlsServer({ key: h.stack.tls.server.key, cert: h.stack.tls.server.cert }, () => {
      // never respond
    });
    stall.on("secureConnection", (s) => sockets.add(s));
    await new Promise<void>((r) => stall.listen(0, "127.0.0.1", r));
    const port = (stall.address() as AddressInfo).port;
    const gw = await gatewayWithUpstream(`https://127.0.0.1:${port}`, (u) => {
      u.headersTimeoutMs = 300;
      delete u.clientCertFile;
      delete u.clientKeyFile;
    });
    try {
      const token = await h.userToken(h.tenant("contoso"), 3);
      const res = await request(`${gw.url}/CCM_STS`, {
        method: "POST",
        dispatcher: h.dispatcher,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(504);
      expect(await res.body.json()).toMatchObject({ error: "gateway_timeout" });
    } finally {
      await gw.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => stall.close(r));
    }
  });
});
