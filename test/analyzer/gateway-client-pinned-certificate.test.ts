/**
 * The analyzer's gateway client with a pinned certificate (the console runs the analyzer through the
 * gateway's own listener, whose certificate it knows but whose CA it may not): the listener's exact
 * certificate is accepted without any CA; any other certificate is refused, even one a trusted CA signed.
 */
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayClient } from "../../gateway/analyzer/through-gateway.js";
import type { TlsMaterial } from "../../lib/pki.js";
import { poolTlsMaterial } from "../harness-pool.js";

let tls: TlsMaterial;
let server: Server;
let url: string;

beforeAll(async () => {
  tls = await poolTlsMaterial();
  server = createServer({ cert: tls.server.cert, key: tls.server.key }, (_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const get = async (client: ReturnType<typeof createGatewayClient>) => {
  try {
    return await client.send("GET", "/", { signal: AbortSignal.timeout(10_000) });
  } finally {
    await client.close();
  }
};

describe("the analyzer's gateway client", () => {
  it("when the listener's own certificate is pinned, then it is trusted without its CA", async () => {
    expect((await get(createGatewayClient(url, [], 10_000, tls.server.cert))).status).toBe(200);
  });

  it("when another certificate is pinned, then the listener is refused, even with its CA trusted", async () => {
    await expect(get(createGatewayClient(url, [tls.ca.cert], 10_000, tls.gatewayClient.cert))).rejects.toThrow(
      /another certificate/,
    );
  });

  it("when nothing is pinned, then the CA decides as before", async () => {
    expect((await get(createGatewayClient(url, [tls.ca.cert], 10_000))).status).toBe(200);
    await expect(get(createGatewayClient(url, [], 10_000))).rejects.toThrow();
  });
});
