/**
 * The pools of the management points a CMG ID maps to belong to the same set as the configured upstream's,
 * so the drain deadline's `destroy()` reaches them too: a download from a second MP that never ends is cut,
 * not left holding the process (regression: those pools were once made inside the proxy route, outside the
 * server's shutdown). And the leg reads the MP's header fields safely: a field named `__proto__` is dropped, never
 * taken for the object's prototype (which would fail the exchange).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { text as streamText } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstreams } from "../../gateway/http/proxy.js";
import { check } from "../gateway/config-helpers.js";

let first: Server;
let second: Server;
const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  first = createServer((_req, res) => res.end("first"));
  // Sends its headers and a first chunk, then never ends the body.
  second = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.write("x");
  });
});
afterAll(async () => {
  first.closeAllConnections();
  second.closeAllConnections();
  await Promise.all([new Promise((r) => first.close(r)), new Promise((r) => second.close(r))]);
});

/** A forwarded answer's body as text: read whole already, or streamed. */
const text = (body: Buffer | Readable) => (Buffer.isBuffer(body) ? Promise.resolve(body.toString()) : streamText(body));

describe("createUpstreams", () => {
  it("when a second MP's download never ends, then destroy() of the set cuts it", async () => {
    const [firstUrl, secondUrl] = await Promise.all([listen(first), listen(second)]);
    const result = check({ upstream: { url: firstUrl } });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    const set = createUpstreams(result.config.upstream);
    expect(set.forOrigin(firstUrl).host).toBe(set.host);
    const other = set.forOrigin(secondUrl);
    expect(set.forOrigin(secondUrl)).toBe(other);

    const get = { method: "GET", path: "/", headers: {}, body: null };
    const fromFirst = await set.forOrigin(firstUrl).forward(get);
    expect(await text(fromFirst.body)).toBe("first");
    const res = await other.forward(get);
    expect(res.status).toBe(200);
    const read = text(res.body).then(
      () => "ended",
      () => "cut",
    );
    await set.destroy();
    expect(await read).toBe("cut");
  });

  it("when the MP's answer has a field named __proto__, then it is dropped and the answer still goes through", async () => {
    const odd = createServer((_req, res) => {
      res.setHeader("__proto__", "x");
      res.setHeader("x-kept", "yes");
      res.end("fine");
    });
    const url = await listen(odd);
    try {
      const result = check({ upstream: { url } });
      if (!result.ok) throw new Error(result.problems.join("\n"));
      const set = createUpstreams(result.config.upstream);
      const res = await set.forward({ method: "GET", path: "/", headers: {}, body: null, bufferUpTo: 1024 });
      expect(res.status).toBe(200);
      expect(await text(res.body)).toBe("fine");
      expect(res.headers["x-kept"]).toBe("yes");
      expect(Object.hasOwn(res.headers, "__proto__")).toBe(false);
      await set.close();
    } finally {
      odd.closeAllConnections();
      await new Promise((r) => odd.close(r));
    }
  });
});
