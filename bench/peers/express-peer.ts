#!/usr/bin/env node
/**
 * Peer: the common hand-rolled Node stack — express 5 + express-jwt + jwks-rsa + http-proxy-middleware —
 * written as its users write it (the libraries' README patterns), plus the client-app check the gateway
 * does. `node dist/bench/peers/express-peer.js --mp … --jwks … --issuer … --audience … --client-app … --ca …`
 */
import { Agent } from "node:https";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { expressjwt, type GetVerificationKey, type Request as JwtRequest } from "express-jwt";
import { createProxyMiddleware } from "http-proxy-middleware";
import jwksRsa from "jwks-rsa";
import { announceReady, parsePeerOptions } from "./peer-options.js";

const options = parsePeerOptions(process.argv.slice(2));
const app = express();
app.disable("x-powered-by");

app.use(
  expressjwt({
    secret: jwksRsa.expressJwtSecret({
      jwksUri: options.jwksUri,
      cache: true,
      cacheMaxEntries: 10,
      cacheMaxAge: 600_000,
      rateLimit: true,
      jwksRequestsPerMinute: 10,
      requestAgent: new Agent({ ca: options.caPem }),
    }) as GetVerificationKey,
    algorithms: ["RS256"],
    issuer: options.issuer,
    audience: options.audience,
  }),
);

// express-jwt checks signature, exp/nbf, issuer and audience; the CM client app is one more rule.
app.use((req: JwtRequest, res: Response, next: NextFunction) => {
  if (req.auth?.appid !== options.clientAppId) {
    res.status(401).json({ error: "invalid_token" });
    return;
  }
  next();
});

app.use(
  createProxyMiddleware({
    target: options.mpUrl,
    changeOrigin: true,
    secure: true,
    // A keep-alive agent towards the upstream, as any production user configures it.
    agent: new Agent({ keepAlive: true, maxSockets: 128, ca: options.caPem }),
  }),
);

app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
  res.status(err.status ?? 500).json({ error: err.name === "UnauthorizedError" ? "invalid_token" : "error" });
});

const server = app.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  announceReady(`http://127.0.0.1:${port}`, () => new Promise<void>((resolve) => server.close(() => resolve())));
});
