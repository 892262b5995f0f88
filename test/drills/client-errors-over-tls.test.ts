/**
 * Drill: clients that never make a whole request. Over TLS, a header block above 64 KiB is answered 431 and
 * a header that never ends is answered 408 at `listen.headersTimeoutMs` — both delivered, not a silent close.
 * Open connections are capped per worker (`listen.maxConnections`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../operations/helpers.js";
import { type FaultGateway, rawTls, readUntilClosed, serveFaultGateway } from "./drill-kit.js";

let f: FaultGateway;
beforeAll(async () => {
  f = await serveFaultGateway({ listen: { headersTimeoutMs: 1_500, maxConnections: 3 } });
});
afterAll(() => f?.close());

describe("requests that never become one", () => {
  it("when a header block is larger than 64 KiB, then the client reads a 431 over TLS", async () => {
    const socket = await rawTls(f.gw.url, f.ca);
    const answer = readUntilClosed(socket, 10_000);
    socket.write(`GET / HTTP/1.1\r\nHost: gateway\r\nX-Filler: ${"a".repeat(70 * 1024)}\r\n\r\n`);
    const { text, closed } = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 431 /);
    expect(text).toContain('"error":"request_header_fields_too_large"');
    expect(closed).toBe(true);
  });

  it("when a header block is never finished, then the client reads a 408 and the connection closes", async () => {
    const socket = await rawTls(f.gw.url, f.ca);
    const answer = readUntilClosed(socket, 15_000);
    socket.write("GET / HTTP/1.1\r\nHost: gateway\r\nX-Half: ");
    const { text, closed } = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(closed).toBe(true);
  });

  it("when a worker holds listen.maxConnections connections, then one more is refused until one closes", async () => {
    const held = [await rawTls(f.gw.url, f.ca), await rawTls(f.gw.url, f.ca), await rawTls(f.gw.url, f.ca)];
    try {
      // The listener closes the extra connection before the TLS handshake completes.
      await expect(rawTls(f.gw.url, f.ca)).rejects.toThrow();
      held.pop()?.destroy();
      await eventually(async () => {
        const socket = await rawTls(f.gw.url, f.ca).catch(() => undefined);
        socket?.destroy();
        return socket !== undefined;
      }, "a connection accepted again");
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
