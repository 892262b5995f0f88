/**
 * The Entra ID emulator's HTTPS server: discovery, JWKS, token and device-code endpoints per tenant,
 * Microsoft Graph, and the `/_sim/` control API. `startEntraSimulator()` returns the bound address and a
 * `stop()`; nothing listens until it is called.
 *
 * @example
 * const sim = await startEntraSimulator({ tls: material.server });
 * const res = await fetch(`${sim.url}/${tenantId}/v2.0/.well-known/openid-configuration`, { dispatcher });
 * await sim.stop();
 */
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { PemPair } from "../lib/pki.js";
import {
  createStats,
  type Faults,
  type FaultTarget,
  type MintRequest,
  mintToken,
  registerControlRoutes,
  type Stats,
} from "./control.js";
import { createDirectory, type Directory } from "./directory.js";
import { DISCOVERY_CACHE_CONTROL, jwksDocument, openIdConfiguration } from "./discovery.js";
import { AadError, type AadErrorCode, aadErrorBody } from "./errors.js";
import {
  createGrantState,
  type EndpointVersion,
  type GrantContext,
  handleDeviceCodeRequest,
  handleTokenRequest,
} from "./grants.js";
import { GraphError, graphErrorBody, registerGraphRoutes } from "./graph.js";
import { createKeyStore, type KeyStore } from "./keys.js";
import { DEFAULT_SEED, type DirectoryTenant, materializeSeed, type SeedInput } from "./seed.js";

/** Options of {@link startEntraSimulator}. */
export interface EntraSimulatorOptions {
  /** Server certificate and key (PEM). */
  readonly tls: PemPair;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default: the built-in seed. */
  readonly seed?: SeedInput;
  /** Load signing keys from this file if it exists, and keep it current (docs/architecture.md § Interfaces `entra.signingKeys`). */
  readonly signingKeysFile?: string;
  /** Clock in ms (tests pass a controllable one). */
  readonly now?: () => number;
  /** Keys published per cloud at start; default 3. */
  readonly keysPerCloud?: number;
  /** How long a rotated-out key stays published; default 1 hour. */
  readonly rotationGraceMs?: number;
  /** Device-code polling interval announced to clients; default 5 s as Entra (tests use 1). */
  readonly deviceCodeIntervalSec?: number;
  /** Device-code lifetime; default 900 s as Entra. */
  readonly deviceCodeLifetimeSec?: number;
  /** Largest accepted request body; default 64 KiB. */
  readonly bodyLimitBytes?: number;
  /** Serve `/_sim/`; default true. */
  readonly controlApi?: boolean;
}

/** A running emulator. */
export interface EntraSimulator {
  /** Origin, e.g. `https://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  readonly directory: Directory;
  readonly keys: KeyStore;
  readonly faults: Faults;
  readonly stats: Stats;
  /** The tenant's authority URL for msal-node (`https://127.0.0.1:port/{tenantId}`). */
  authority(tenantId: string): string;
  /** `/_sim/mint` in process. */
  mint(request: MintRequest): string;
  stop(): Promise<void>;
}

const FORM = "application/x-www-form-urlencoded";

function isTenantSegment(s: string): boolean {
  return s.length > 0 && s.length <= 256;
}

/** Parses `Authorization: Basic` client credentials (RFC 6749 §2.3.1: form-urlencoded id and secret). */
function basicCredentials(req: FastifyRequest): { id: string; secret: string } | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new AadError("invalidClientSecret", "(basic)");
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    throw new AadError("malformedBody", "the Basic credentials are not URL-encoded");
  }
}

/** The form body, refusing anything that is not a well-formed urlencoded form with single-valued parameters. */
function formOf(req: FastifyRequest): URLSearchParams {
  if (!(req.body instanceof URLSearchParams)) {
    throw new AadError("malformedBody", `content type '${req.headers["content-type"] ?? "(none)"}'`);
  }
  const seen = new Set<string>();
  for (const key of req.body.keys()) {
    if (seen.has(key)) throw new AadError("malformedBody", `parameter '${key}' is repeated`);
    seen.add(key);
  }
  return req.body;
}

function targetOf(url: string): { target: FaultTarget; tenant: string } | undefined {
  const path = url.split("?")[0]!;
  const seg = path.split("/");
  if (seg[1] === "v1.0") return { target: "graph", tenant: "" };
  const tenant = seg[1] ?? "";
  if (path.includes("/.well-known/")) return { target: "discovery", tenant };
  if (path.includes("/discovery/")) return { target: "keys", tenant };
  if (path.includes("/oauth2/")) return { target: "token", tenant };
  return undefined;
}

/** Starts the emulator. */
export async function startEntraSimulator(options: EntraSimulatorOptions): Promise<EntraSimulator> {
  const now = options.now ?? Date.now;
  const tenants = materializeSeed(options.seed ?? DEFAULT_SEED, now());
  const directory = createDirectory(tenants);
  const keys = createKeyStore({
    now,
    rotationGraceMs: options.rotationGraceMs ?? 3_600_000,
    keysPerCloud: options.keysPerCloud ?? 3,
  });
  const keyFile = options.signingKeysFile;
  if (keyFile) await keys.load(keyFile);
  await Promise.all(tenants.map((t) => keys.ensureTenant(t.id, t.cloud)));
  if (keyFile) await keys.save(keyFile);

  const grants: GrantContext = {
    directory,
    keys,
    state: createGrantState(),
    now,
    deviceCodeIntervalSec: options.deviceCodeIntervalSec ?? 5,
    deviceCodeLifetimeSec: options.deviceCodeLifetimeSec ?? 900,
    refreshTokenLifetimeSec: 90 * 86_400,
  };
  const faults: Faults = { outage: undefined, latency: undefined };
  const stats = createStats();
  const hung = new Set<() => void>();
  const releaseHung = () => {
    for (const release of hung) release();
    hung.clear();
  };

  let baseUrl = "";
  const app: FastifyInstance = Fastify({
    https: { key: options.tls.key, cert: options.tls.cert },
    bodyLimit: options.bodyLimitBytes ?? 65_536,
    logger: false,
    // Entra tenant segments and Graph IDs are short; refuse absurd URLs early.
    routerOptions: { maxParamLength: 256 },
  });

  app.addContentTypeParser(FORM, { parseAs: "string" }, (_req, body, done) => {
    done(null, new URLSearchParams(body as string));
  });

  app.addHook("onRequest", async (req, reply) => {
    const t = targetOf(req.url);
    if (!t) return;
    stats[t.target][t.tenant] = (stats[t.target][t.tenant] ?? 0) + 1;
    const latency = faults.latency;
    if (latency?.targets.has(t.target)) await new Promise((r) => setTimeout(r, latency.ms));
    const outage = faults.outage;
    if (!outage?.targets.has(t.target)) return;
    if (outage.mode === "hang") {
      // Hold the request until the outage ends (or the emulator stops), as an unreachable IdP would.
      await new Promise<void>((resolve) => {
        hung.add(resolve);
        req.raw.once("close", () => {
          hung.delete(resolve);
          resolve();
        });
      });
      if (req.raw.destroyed || !faults.outage) return;
    }
    return reply
      .code(503)
      .header("retry-after", "30")
      .send(aadErrorBody(new AadError("temporarilyUnavailable"), new Date(now())));
  });

  app.setErrorHandler((err, req, reply) => {
    const at = new Date(now());
    if (err instanceof AadError) return reply.code(err.status).send(aadErrorBody(err, at));
    if (err instanceof GraphError) return reply.code(err.status).send(graphErrorBody(err, at));
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (req.url.startsWith("/v1.0/")) {
      return reply
        .code(status)
        .send(
          graphErrorBody(
            new GraphError(
              status,
              status === 413 ? "Request_EntityTooLarge" : "BadRequest",
              e.message ?? "bad request",
            ),
            at,
          ),
        );
    }
    const aad =
      e.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? new AadError("bodyTooLarge", String(options.bodyLimitBytes ?? 65_536))
        : status === 500
          ? new AadError("temporarilyUnavailable")
          : new AadError("malformedBody", e.message ?? "unreadable body");
    return reply.code(status === 500 ? 500 : aad.status === 413 ? 413 : status).send(aadErrorBody(aad, at));
  });

  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith("/v1.0/")) {
      return reply
        .code(404)
        .send(
          graphErrorBody(
            new GraphError(
              404,
              "Request_ResourceNotFound",
              `Resource not found for the segment '${req.url.split("?")[0]}'.`,
            ),
            new Date(now()),
          ),
        );
    }
    return reply
      .code(404)
      .send({ error: "not_found", error_description: `No such endpoint: ${req.method} ${req.url.split("?")[0]}` });
  });

  const tenantOf = (req: FastifyRequest, notFound: AadErrorCode = "tenantNotFound"): DirectoryTenant => {
    const id = (req.params as { tenant: string }).tenant;
    const tenant = isTenantSegment(id) ? directory.findTenant(id) : undefined;
    if (!tenant) throw new AadError(notFound, id);
    return tenant;
  };
  // Discovery and key endpoints answer an unknown tenant with `invalid_tenant` (the token endpoint: `invalid_request`).
  const discoveryTenantOf = (req: FastifyRequest): DirectoryTenant => tenantOf(req, "tenantNotFoundOnDiscovery");

  const sendDiscovery = (reply: FastifyReply, body: unknown) =>
    reply.header("cache-control", DISCOVERY_CACHE_CONTROL).header("access-control-allow-origin", "*").send(body);

  app.get("/:tenant/.well-known/openid-configuration", async (req, reply) =>
    sendDiscovery(reply, openIdConfiguration(discoveryTenantOf(req), 1, baseUrl)),
  );
  app.get("/:tenant/v2.0/.well-known/openid-configuration", async (req, reply) =>
    sendDiscovery(reply, openIdConfiguration(discoveryTenantOf(req), 2, baseUrl)),
  );
  app.get("/:tenant/discovery/keys", async (req, reply) =>
    sendDiscovery(reply, jwksDocument(discoveryTenantOf(req), 1, keys)),
  );
  app.get("/:tenant/discovery/v2.0/keys", async (req, reply) =>
    sendDiscovery(reply, jwksDocument(discoveryTenantOf(req), 2, keys)),
  );

  const tokenRoute = (endpoint: EndpointVersion) => async (req: FastifyRequest, reply: FastifyReply) => {
    const tenant = tenantOf(req);
    const body = await handleTokenRequest(grants, tenant, endpoint, formOf(req), basicCredentials(req));
    return reply.header("cache-control", "no-store, no-cache").header("pragma", "no-cache").send(body);
  };
  app.post("/:tenant/oauth2/token", tokenRoute("v1"));
  app.post("/:tenant/oauth2/v2.0/token", tokenRoute("v2"));
  const deviceCodeRoute = (endpoint: EndpointVersion) => async (req: FastifyRequest) =>
    handleDeviceCodeRequest(grants, tenantOf(req), endpoint, formOf(req));
  app.post("/:tenant/oauth2/devicecode", deviceCodeRoute("v1"));
  app.post("/:tenant/oauth2/v2.0/devicecode", deviceCodeRoute("v2"));

  registerGraphRoutes(app, { directory, keys, now, baseUrl: () => baseUrl });

  if (options.controlApi ?? true) {
    await app.register(async (scope) =>
      registerControlRoutes(scope, {
        directory,
        keys,
        grants,
        faults,
        stats,
        now,
        releaseHung,
        onKeysChanged: async () => {
          if (keyFile) await keys.save(keyFile);
        },
      }),
    );
  }

  await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  baseUrl = `https://${host}:${address.port}`;

  return {
    url: baseUrl,
    port: address.port,
    directory,
    keys,
    faults,
    stats,
    authority: (tenantId) => `${baseUrl}/${tenantId}`,
    mint: (request) => mintToken(directory, keys, now(), request),
    async stop() {
      faults.outage = undefined;
      releaseHung();
      await app.close();
    },
  };
}
