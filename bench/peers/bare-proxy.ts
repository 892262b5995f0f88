#!/usr/bin/env node
/**
 * "The bare proxy" (= 1.0 in every gateway ratio): the least a fastify + undici pass-through proxy does, with
 * no authentication at all — one kept-alive undici `Pool` to the MP (HTTPS, the local CA), hop-by-hop
 * headers dropped both ways, the answer streamed back. What the gateway costs beyond this is the price of
 * its auth, its identity headers, its metrics and its logs.
 * `node dist/bench/peers/bare-proxy.js --mp URL --ca FILE [--connections N]`
 */
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { Pool } from "undici";
import { announceReady } from "./peer-options.js";

const { values } = parseArgs({
  options: {
    mp: { type: "string" },
    ca: { type: "string" },
    connections: { type: "string", default: "128" },
  },
  strict: false,
});
if (typeof values.mp !== "string" || typeof values.ca !== "string") throw new Error("usage: --mp URL --ca FILE");

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const origin = new URL(values.mp);
const pool = new Pool(origin.origin, {
  connections: Number(values.connections),
  pipelining: 1,
  connect: { ca: readFileSync(values.ca, "utf8") },
});

function withoutHopByHop(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", (_req, _payload, done) => done(null));
app.all("/*", async (request, reply) => {
  const headers = withoutHopByHop(request.headers);
  headers.host = origin.host;
  const res = await pool.request({
    method: request.method as "GET",
    path: request.url,
    headers,
    body: request.method === "GET" || request.method === "HEAD" ? null : request.raw,
  });
  return reply.code(res.statusCode).headers(withoutHopByHop(res.headers)).send(res.body);
});

const url = await app.listen({ host: "127.0.0.1", port: 0 });
announceReady(url, async () => {
  await app.close();
  await pool.close();
});
