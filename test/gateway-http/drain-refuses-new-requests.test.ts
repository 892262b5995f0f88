/**
 * While the gateway drains, a request that arrives on a connection already open is answered 503 with
 * `Connection: close`, whichever way it would have come in: bodiless GETs go from the server straight to the
 * proxy handler, everything else through fastify (app.ts), and neither may start new upstream work.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { Client } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../../gateway/http/server.js";
import { check } from "../gateway/config-helpers.js";

let upstream: Server;
const held: ServerResponse[] = [];
const seen: string[] = [];

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === "/hold") held.push(res);
    else res.end("ok");
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

async function passthroughGateway(): Promise<RunningGateway> {
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const result = check({ upstream: { url }, routes: [{ prefix: "/", requirement: "passthrough" }] });
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return startGateway({ config: result.config, logger: pino({ level: "silent" }), host: "127.0.0.1", port: 0 });
}

describe("listener", () => {
  it("when the gateway listens, then idle keep-alive connections last 72 s and no overall deadline cuts a long upload (fastify's settings)", async () => {
    const gw = await passthroughGateway();
    try {
      expect(gw.app.server.keepAliveTimeout).toBe(72_000);
      expect(gw.app.server.requestTimeout).toBe(0);
    } finally {
      await gw.stop();
    }
  });
});

describe("drain", () => {
  it.each([
    { kind: "a bodiless GET (straight to the proxy handler)", method: "GET" as const, body: undefined },
    { kind: "a POST with a body (through fastify)", method: "POST" as const, body: "x=1" },
  ])(
    "when $kind is pipelined behind a request in flight and the gateway starts draining, then it gets 503 and never reaches the MP",
    async ({ method, body }) => {
      const gw = await passthroughGateway();
      const client = new Client(gw.url, { pipelining: 2 });
      try {
        const first = client.request({ method: "GET", path: "/hold" });
        const heldBefore = held.length;
        await expect.poll(() => held.length).toBe(heldBefore + 1);
        // Sent on the same connection; the server reads it only once the first answer is done.
        const second = client.request({
          method,
          path: `/after-${method}`,
          ...(body === undefined ? {} : { body, headers: { "content-type": "text/plain" } }),
        });
        const stopped = gw.stop();
        // Draining has begun once the listener no longer accepts connections.
        await expect.poll(() => gw.app.server.listening).toBe(false);
        held.at(-1)!.end("held");
        expect(await (await first).body.text()).toBe("held");
        const res = await second;
        expect(res.statusCode).toBe(503);
        expect(res.headers.connection).toBe("close");
        await res.body.dump();
        await stopped;
        expect(seen.filter((s) => s.endsWith(`/after-${method}`))).toEqual([]);
      } finally {
        await client.destroy();
        await gw.stop();
      }
    },
  );
});
