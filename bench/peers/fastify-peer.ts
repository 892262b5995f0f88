#!/usr/bin/env node
/**
 * Peer: the fast Node stack — fastify 5 + @fastify/jwt (fast-jwt) + get-jwks + @fastify/reply-from (undici),
 * as the plugins' READMEs wire them, plus the client-app check the gateway does. `--cache on` turns on
 * fast-jwt's verified-token cache (10 000 entries, 10 minutes); `--cache off` verifies every request.
 * JWKS are fetched with the global fetch, so the emulator's CA comes from `NODE_EXTRA_CA_CERTS`.
 */
import fastifyJwt from "@fastify/jwt";
import replyFrom from "@fastify/reply-from";
import Fastify, { type FastifyRequest } from "fastify";
import buildGetJwks from "get-jwks";
import { announceReady, parsePeerOptions } from "./peer-options.js";

const options = parsePeerOptions(process.argv.slice(2));
const jwks = new URL(options.jwksUri);
// get-jwks fetches `{domain}{jwksPath}`; the domain is the emulator's authority for the tenant.
const jwksPath = "/discovery/keys";
const domain = `${jwks.origin}${jwks.pathname.slice(0, -jwksPath.length)}`;
const getJwks = buildGetJwks({ max: 100, ttl: 600_000, jwksPath, issuersWhitelist: [domain] });

const app = Fastify({ logger: false });

await app.register(fastifyJwt, {
  decode: { complete: true },
  secret: (_request: FastifyRequest, token: unknown): Promise<string> => {
    const { header } = token as { header: { kid?: string; alg?: string } };
    return getJwks.getPublicKey({
      domain,
      ...(header.kid !== undefined ? { kid: header.kid } : {}),
      ...(header.alg !== undefined ? { alg: header.alg } : {}),
    });
  },
  verify: {
    algorithms: ["RS256"],
    allowedIss: options.issuer,
    allowedAud: options.audience,
    ...(options.cache ? { cache: 10_000, cacheTTL: 600_000 } : { cache: false }),
  },
});

await app.register(replyFrom, {
  base: options.mpUrl,
  undici: { connections: 128, pipelining: 1, connect: { ca: options.caPem } },
});

app.addHook("onRequest", async (request, reply) => {
  try {
    const payload = await request.jwtVerify<{ appid?: string }>();
    if (payload.appid !== options.clientAppId) return reply.code(401).send({ error: "invalid_token" });
  } catch {
    return reply.code(401).send({ error: "invalid_token" });
  }
});

app.all("/*", (request, reply) => reply.from(request.url));

const url = await app.listen({ host: "127.0.0.1", port: 0 });
announceReady(url, () => app.close());
