/**
 * The pools of the management points a CMG ID maps to belong to the same set as the configured upstream's,
 * so the drain deadline's `destroy()` reaches them too: a download from a second MP that never ends is cut,
 * not left holding the process (regression: those pools were once made inside the proxy route, outside the
 * server's shutdown).
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
});
