import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpJwksFetcher } from "../../gateway/auth/keys/http-fetcher.js";
import { poolTlsMaterial } from "../harness-pool.js";
import { baseConfigInput, makeConfig } from "./fixtures.js";

let server: Server;
let origin: string;
let ca: string;
const served: string[] = [];

beforeAll(async () => {
  const tls = await poolTlsMaterial();
  ca = tls.ca.cert;
  server = createServer({ cert: tls.server.cert, key: tls.server.key }, (req, res) => {
    served.push(req.url ?? "");
    if (req.url === "/t/discovery/keys") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [] }));
    } else if (req.url === "/big") {
      res.end(JSON.stringify({ keys: [], pad: "x".repeat(10_000) }));
    } else if (req.url === "/redirect") {
      res.writeHead(302, { location: "/t/discovery/keys" }).end();
    } else {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function fetcherWithCa(withCa: boolean) {
  const config = makeConfig({
    ...baseConfigInput(),
    environments: { AzurePublicCloud: withCa ? { authorityHost: "localhost", ca } : { authorityHost: "localhost" } },
  });
  return createHttpJwksFetcher(config.environments);
}

const ctx = (maxBytes = 1_000_000) => ({
  environment: "AzurePublicCloud" as const,
  signal: new AbortController().signal,
  maxBytes,
});

describe("HTTPS JWKS fetcher", () => {
  it("when the authority's CA is configured for the environment, then the document is fetched and parsed", async () => {
    const f = fetcherWithCa(true);
    await expect(f.fetch(`${origin}/t/discovery/keys`, ctx())).resolves.toEqual({ keys: [] });
    await f.close();
  });

  it("when the CA is not configured, then TLS verification fails", async () => {
    const f = fetcherWithCa(false);
    await expect(f.fetch(`${origin}/t/discovery/keys`, ctx())).rejects.toThrow();
    await f.close();
  });

  it("when the answer is not 200 (errors, redirects), then the fetch fails and redirects are not followed", async () => {
    const f = fetcherWithCa(true);
    served.length = 0;
    await expect(f.fetch(`${origin}/fail`, ctx())).rejects.toThrow(/HTTP 500/);
    await expect(f.fetch(`${origin}/redirect`, ctx())).rejects.toThrow(/HTTP 302/);
    expect(served).toEqual(["/fail", "/redirect"]);
    await f.close();
  });

  it("when the body exceeds maxBytes, then the fetch fails", async () => {
    const f = fetcherWithCa(true);
    await expect(f.fetch(`${origin}/big`, ctx(1_000))).rejects.toThrow(/larger than 1000 bytes/);
    await f.close();
  });
});
