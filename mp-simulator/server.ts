/**
 * The management point simulator's HTTPS server (docs/architecture.md § Simulators): CM endpoints behind mTLS, the identity-header
 * contract, CCM tokens, content, AdminService, Entra user discovery, the audit, and the internal `/_mp/`
 * endpoints. `startMpSimulator()` listens and returns the bound address; nothing listens before.
 *
 * @example
 * const tls = await createTlsMaterial();
 * const mp = await startMpSimulator({ tls });
 * // the gateway connects with tls.gatewayClient as its client certificate
 * await mp.stop();
 */
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { type Logger, pino } from "pino";
import type { PemPair } from "../lib/pki.js";
import { createAdminService } from "./adminservice.js";
import { type Audit, type AuditCounts, type AuditOutcome, createAudit, outcomeOf } from "./audit.js";
import { handleCcmMessage } from "./ccm-messaging.js";
import {
  type CcmTokenService,
  createCcmTokenService,
  createMpSigningMaterial,
  type MpSigningMaterial,
} from "./ccm-token.js";
import { consumeUpload, contentBlock, createContentStream, parseRange } from "./content.js";
import { createUserDiscovery, type DiscoveryOptions, type DiscoveryStatus, type UserDiscovery } from "./discovery.js";
import { errorBody, MpError, odataErrorBody } from "./errors.js";
import {
  type ClientCertificateMode,
  describePeer,
  type EntraIdentity,
  foreignIdentityHeaders,
  hasIdentityHeaders,
  type PeerInfo,
  readIdentityHeaders,
} from "./identity.js";
import { type ClientRegistry, createClientRegistry } from "./registry.js";
import { type MpDescription, renderMpKeyInformation, renderMpList } from "./xml-bodies.js";

/** Options of {@link startMpSimulator}. */
export interface MpSimulatorOptions {
  /** The server certificate and the CA that client certificates must chain to (see `lib/pki.ts`). */
  readonly tls: { readonly server: PemPair; readonly ca: { readonly cert: string } };
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  readonly clientCertificate?: {
    /** Default `require`. */
    readonly mode?: ClientCertificateMode;
    /** Subject CNs allowed to call; default `["entra-gateway"]`; `[]` = any certificate of the CA. */
    readonly allowedSubjects?: readonly string[];
  };
  /** What the MP says about itself; defaults PS1 / MP01 / mp01.contoso.com / 9128. */
  readonly site?: Partial<MpDescription>;
  /** Default 8 h. */
  readonly ccmTokenLifetimeSec?: number;
  /** The MP's signing key; generated when absent. */
  readonly signing?: MpSigningMaterial;
  /** Largest JSON/XML body; default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** Largest upload on `/CCM_Incoming/`; default 128 MiB. */
  readonly uploadLimitBytes?: number;
  readonly content?: {
    /** Size of `/CCM_Client/…` bodies without `?size=`; default 1 MiB. */
    readonly defaultSizeBytes?: number;
    /** Largest `?size=`; default 16 GiB. */
    readonly maxSizeBytes?: number;
  };
  /** Entra user discovery; started at boot when given. */
  readonly discovery?: Omit<DiscoveryOptions, "logger" | "now">;
  /** Entries kept by the audit rings; default 10 000. */
  readonly auditCapacity?: number;
  /** Default: a silent logger. */
  readonly logger?: Logger;
  /** Clock in ms (tests pass a controllable one). */
  readonly now?: () => number;
}

/** The internal status document (`GET /_mp/status`). */
export interface MpStatus {
  readonly internal: true;
  readonly mp: MpDescription & { readonly url: string; readonly startedAt: string };
  readonly clientCertificate: { readonly mode: ClientCertificateMode; readonly allowedSubjects: readonly string[] };
  readonly audit: AuditCounts;
  readonly registeredClients: number;
  readonly discovery: DiscoveryStatus;
}

/** A running management point simulator. */
export interface MpSimulator {
  /** Origin, e.g. `https://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  readonly audit: Audit;
  /** Entra user discovery, when configured. */
  readonly discovery: UserDiscovery | undefined;
  readonly registry: ClientRegistry;
  readonly signing: MpSigningMaterial;
  readonly ccmTokens: CcmTokenService;
  status(): MpStatus;
  stop(): Promise<void>;
}

/** What one request carries through the hooks. */
interface RequestState {
  readonly start: number;
  readonly peer: PeerInfo;
  identity?: EntraIdentity;
  identityHeadersIgnored?: boolean;
  foreignIdentityHeaders?: string[];
  reason?: string;
  bytesIn?: number;
  ccmSubject?: { tenantId: string; kind: string; subject: string };
  internal?: boolean;
}

const XML = "text/xml; charset=utf-8";
const INTERNAL_NOTE =
  "Internal endpoint of the management point simulator (not management point content; never proxied).";

/** Starts the simulator. */
export async function startMpSimulator(options: MpSimulatorOptions): Promise<MpSimulator> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: "silent" });
  const mode = options.clientCertificate?.mode ?? "require";
  const allowedSubjects = options.clientCertificate?.allowedSubjects ?? ["entra-gateway"];
  const policy = { mode, allowedSubjects };
  const site: MpDescription = {
    siteCode: options.site?.siteCode ?? "PS1",
    name: options.site?.name ?? "MP01",
    fqdn: options.site?.fqdn ?? "mp01.contoso.com",
    buildNumber: options.site?.buildNumber ?? 9128,
  };
  const signing = options.signing ?? (await createMpSigningMaterial());
  const ccmTokens = createCcmTokenService({
    material: signing,
    siteCode: site.siteCode,
    mpFqdn: site.fqdn,
    ...(options.ccmTokenLifetimeSec !== undefined ? { lifetimeSec: options.ccmTokenLifetimeSec } : {}),
    now,
  });
  const audit = createAudit({ ...(options.auditCapacity ? { capacity: options.auditCapacity } : {}), now });
  const registry = createClientRegistry({ now });
  const discovery = options.discovery ? createUserDiscovery({ ...options.discovery, logger, now }) : undefined;
  const adminService = createAdminService({ users: () => discovery?.users() ?? [], clients: () => registry.list() });
  const uploadLimit = options.uploadLimitBytes ?? 128 * 1024 * 1024;
  const defaultContentSize = options.content?.defaultSizeBytes ?? 1024 * 1024;
  const maxContentSize = options.content?.maxSizeBytes ?? 16 * 1024 ** 3;
  const startedAt = new Date(now()).toISOString();
  const states = new WeakMap<FastifyRequest, RequestState>();
  const stateOf = (req: FastifyRequest): RequestState => states.get(req)!;
  let baseUrl = "";

  const app: FastifyInstance = Fastify({
    https: {
      key: options.tls.server.key,
      cert: options.tls.server.cert,
      ...(mode === "off" ? {} : { ca: options.tls.ca.cert, requestCert: true, rejectUnauthorized: mode === "require" }),
    },
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    logger: false,
    routerOptions: { maxParamLength: 512, caseSensitive: false },
  });

  // TLS handshakes refused (no or untrusted client certificate) never become requests: count them here.
  app.server.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
    audit.refuseConnection({
      remoteAddress: socket.remoteAddress ?? "",
      code: err.code ?? "TLS_ERROR",
      message: err.message,
    });
    logger.info({ remoteAddress: socket.remoteAddress, code: err.code }, "mp: TLS connection refused");
  });

  for (const type of ["text/xml", "application/xml"]) {
    app.addContentTypeParser(type, { parseAs: "string" }, (_req, body, done) => done(null, body));
  }

  app.addHook("onRequest", async (req) => {
    const peer = describePeer(req.raw.socket as TLSSocket, policy);
    const state: RequestState = { start: performance.now(), peer };
    states.set(req, state);
    const foreign = foreignIdentityHeaders(req.headers);
    if (foreign.length > 0) state.foreignIdentityHeaders = foreign;
    const path = req.url.split("?")[0]!.toLowerCase();
    state.internal = path.startsWith("/_mp/");
    if (!peer.trusted) {
      if (hasIdentityHeaders(req.headers)) state.identityHeadersIgnored = true;
      // require: only the allowed certificate talks to the MP at all. optional: untrusted peers reach the
      // anonymous endpoint only, as an Internet-facing MP serves its MP list to anyone.
      const anonymous = mode === "optional" && path === "/sms_mp/.sms_aut";
      if (!anonymous) throw new MpError(peer.refusal ?? "client_certificate_required");
      return;
    }
    const identity = readIdentityHeaders(req.headers);
    if (identity) state.identity = identity;
  });

  app.addHook("onResponse", async (req, reply) => {
    const state = states.get(req);
    if (!state) return;
    const status = reply.statusCode;
    const outcome: AuditOutcome = outcomeOf(status, state.reason);
    // Successful reads of the internal endpoints are the observer, not traffic: not audited.
    if (state.internal && outcome === "served") return;
    const [path, query] = splitUrl(req.url);
    const entry = audit.record({
      method: req.method,
      path,
      ...(query ? { query } : {}),
      status,
      outcome,
      ...(state.reason ? { reason: state.reason } : {}),
      ...(state.identity ? { identity: state.identity } : {}),
      ...(state.identityHeadersIgnored ? { identityHeadersIgnored: true } : {}),
      ...(state.foreignIdentityHeaders ? { foreignIdentityHeaders: state.foreignIdentityHeaders } : {}),
      ...(state.ccmSubject ? { ccmSubject: state.ccmSubject } : {}),
      peer: state.peer,
      ...(state.bytesIn !== undefined ? { bytesIn: state.bytesIn } : {}),
      durationMs: Math.round((performance.now() - state.start) * 100) / 100,
    });
    const fields = { seq: entry.seq, method: entry.method, path, status, outcome, reason: entry.reason };
    if (status >= 500) logger.error(fields, "mp: request");
    else if (status >= 400) logger.info(fields, "mp: request");
    else logger.debug(fields, "mp: request");
  });

  const sendError = (req: FastifyRequest, reply: FastifyReply, err: MpError) => {
    const state = states.get(req);
    if (state) state.reason = err.code;
    if (err.code === "ccm_token_missing") reply.header("www-authenticate", 'Bearer realm="ccm_system_tokenauth"');
    else if (err.code === "ccm_token_invalid" || err.code === "ccm_token_expired") {
      reply.header("www-authenticate", 'Bearer realm="ccm_system_tokenauth", error="invalid_token"');
    }
    if (err.code === "body_too_large") reply.header("connection", "close");
    const odata = req.url.toLowerCase().startsWith("/adminservice/");
    return reply
      .code(err.status)
      .type("application/json; charset=utf-8")
      .send(odata ? odataErrorBody(err) : errorBody(err));
  };

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof MpError) return sendError(req, reply, err);
    const e = err as { code?: string; statusCode?: number; message?: string };
    if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") return sendError(req, reply, new MpError("body_too_large"));
    if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return sendError(req, reply, new MpError("unsupported_media_type", `'${req.headers["content-type"] ?? ""}'`));
    }
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(req, reply, new MpError("body_malformed", e.message ?? ""));
    }
    logger.error({ err, url: req.url }, "mp: internal error");
    return sendError(req, reply, new MpError("internal_error"));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = splitUrl(req.url)[0];
    const allowed = allowedMethods(path);
    if (allowed) {
      reply.header("allow", allowed.join(", "));
      return sendError(
        req,
        reply,
        new MpError("method_not_allowed", `${req.method} ${path} (allowed: ${allowed.join(", ")})`),
      );
    }
    return sendError(req, reply, new MpError("not_found", `${req.method} ${path}`));
  });

  const requireIdentity = (req: FastifyRequest): EntraIdentity => {
    const identity = stateOf(req).identity;
    if (!identity) throw new MpError("identity_missing");
    return identity;
  };

  // --- CM endpoints -------------------------------------------------------------------------------

  app.get("/SMS_MP/.sms_aut", async (req, reply) => {
    const query = (splitUrl(req.url)[1] ?? "").toUpperCase();
    if (query === "MPLIST") return reply.type(XML).send(renderMpList(site));
    if (query === "MPKEYINFORMATIONEX")
      return reply.type(XML).send(renderMpKeyInformation(site, signing.certificateDer));
    throw new MpError("query_invalid", "Supported: ?MPLIST, ?MPKEYINFORMATIONEX.");
  });

  app.post("/CCM_STS", async (req, reply) => {
    const identity = requireIdentity(req);
    if (req.body !== undefined && req.body !== null && (typeof req.body !== "object" || Array.isArray(req.body))) {
      throw new MpError("body_malformed", "The body, when present, must be a JSON object.");
    }
    const issued = await ccmTokens.issue(identity);
    return reply.header("cache-control", "no-store").send({
      token: issued.token,
      token_type: "CCM",
      kind: issued.kind,
      tenant_id: identity.tenantId,
      expires_in: issued.expiresIn,
      expires_on: issued.expiresOn,
    });
  });

  app.post("/ccm_system_tokenauth/request", async (req, reply) => {
    const header = req.headers.authorization;
    if (!header) throw new MpError("ccm_token_missing");
    const m = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(header);
    if (!m) throw new MpError("ccm_token_invalid", "(Authorization must be 'Bearer <CCM token>')");
    const principal = await ccmTokens.verify(m[1]!);
    stateOf(req).ccmSubject = { tenantId: principal.tenantId, kind: principal.kind, subject: principal.subject };
    if (typeof req.body !== "string" || req.body.trim() === "") {
      throw new MpError("body_malformed", "A CCM message (text/xml) is required.");
    }
    const result = handleCcmMessage({ mp: site, registry, now }, principal, req.body);
    return reply.type(XML).send(result.body);
  });

  app.get("/CCM_Client/*", async (req, reply) => {
    const [path, rawQuery] = splitUrl(req.url);
    const sizeParam = new URLSearchParams(rawQuery ?? "").get("size");
    let size = defaultContentSize;
    if (sizeParam !== null) {
      if (!/^\d{1,16}$/.test(sizeParam) || Number(sizeParam) > maxContentSize) {
        throw new MpError("query_invalid", `size must be 0..${maxContentSize}.`);
      }
      size = Number(sizeParam);
    }
    const range = parseRange(req.headers.range, size);
    const block = contentBlock(path.toLowerCase());
    reply
      .type("application/octet-stream")
      .header("accept-ranges", "bytes")
      .header("etag", `"${block.subarray(0, 8).toString("hex")}-${size.toString(16)}"`);
    if (size === 0) return reply.header("content-length", "0").send("");
    if (range) {
      reply
        .code(206)
        .header("content-range", `bytes ${range.start}-${range.end}/${size}`)
        .header("content-length", String(range.end - range.start + 1));
      return reply.send(createContentStream(block, range.start, range.end));
    }
    reply.header("content-length", String(size));
    return reply.send(createContentStream(block, 0, size - 1));
  });

  // Uploads stream through a hash; nothing is buffered, whatever the content type.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null, undefined));
    const upload = async (req: FastifyRequest, reply: FastifyReply) => {
      const declared = Number(req.headers["content-length"] ?? Number.NaN);
      if (declared > uploadLimit) throw new MpError("body_too_large", `The limit is ${uploadLimit} bytes.`);
      const result = await consumeUpload(req.raw, uploadLimit);
      stateOf(req).bytesIn = result.bytes;
      return reply.code(201).send({ path: splitUrl(req.url)[0], bytes: result.bytes, sha256: result.sha256 });
    };
    scope.post("/CCM_Incoming/*", upload);
    scope.put("/CCM_Incoming/*", upload);
  });

  app.get("/AdminService/*", async (req, reply) => {
    const identity = requireIdentity(req);
    // AdminService authenticates users (and Administration Service Management apps), not devices.
    if (identity.kind === "device") throw new MpError("token_kind_not_allowed", "AdminService needs a user identity.");
    const path = splitUrl(req.url)[0].slice("/AdminService".length);
    const result = adminService.handle(path, req.query as Record<string, unknown>, baseUrl);
    return reply.type(result.contentType).send(result.body);
  });

  // --- internal endpoints (/_mp/) ------------------------------------------------------------------

  const status = (): MpStatus => ({
    internal: true,
    mp: { ...site, url: baseUrl, startedAt },
    clientCertificate: { mode, allowedSubjects: [...allowedSubjects] },
    audit: audit.counts(),
    registeredClients: registry.list().length,
    discovery: discovery?.status() ?? { enabled: false, tenants: [] },
  });

  app.get("/_mp/status", async (_req, reply) =>
    reply.header("x-mp-internal", "1").send({ note: INTERNAL_NOTE, ...status() }),
  );

  app.get("/_mp/audit", async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const since = q.since !== undefined ? Number(q.since) : undefined;
    const limit = q.limit !== undefined ? Number(q.limit) : 1000;
    const outcome = q.outcome as AuditOutcome | undefined;
    if (
      (since !== undefined && !Number.isInteger(since)) ||
      !Number.isInteger(limit) ||
      limit < 0 ||
      (outcome !== undefined && !["served", "rejected", "refused", "error"].includes(outcome))
    ) {
      throw new MpError("query_invalid", "since, limit: integers; outcome: served|rejected|refused|error.");
    }
    return reply.header("x-mp-internal", "1").send({
      note: INTERNAL_NOTE,
      counts: audit.counts(),
      entries: audit.entries({
        ...(since !== undefined ? { since } : {}),
        ...(outcome ? { outcome } : {}),
        ...(q.path ? { pathPrefix: q.path } : {}),
        limit,
      }),
      refusedConnections: audit.refusedConnections(),
    });
  });

  app.post("/_mp/discovery/sync", async (req, reply) => {
    if (!discovery) throw new MpError("not_found", "Discovery is not configured.");
    const q = req.query as Record<string, string | undefined>;
    const kind = q.kind === "full" ? "full" : "delta";
    const tenants = await discovery.syncNow({ ...(q.tenantId ? { tenantId: q.tenantId } : {}), kind });
    return reply.header("x-mp-internal", "1").send({ note: INTERNAL_NOTE, tenants });
  });

  await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  baseUrl = `https://${host}:${address.port}`;
  logger.info({ url: baseUrl, clientCertificate: mode }, "mp: listening");
  discovery?.start();

  return {
    url: baseUrl,
    port: address.port,
    audit,
    discovery,
    registry,
    signing,
    ccmTokens,
    status,
    async stop() {
      await discovery?.stop();
      await app.close();
    },
  };
}

/** Methods of the endpoint at `path`, for 405 answers; `undefined` when no endpoint lives there. */
const ENDPOINT_METHODS: readonly [RegExp, readonly string[]][] = [
  [/^\/sms_mp\/\.sms_aut$/i, ["GET", "HEAD"]],
  [/^\/ccm_sts$/i, ["POST"]],
  [/^\/ccm_system_tokenauth\/request$/i, ["POST"]],
  [/^\/ccm_client\/./i, ["GET", "HEAD"]],
  [/^\/ccm_incoming\/./i, ["POST", "PUT"]],
  [/^\/adminservice\/./i, ["GET", "HEAD"]],
  [/^\/_mp\/(status|audit)$/i, ["GET", "HEAD"]],
  [/^\/_mp\/discovery\/sync$/i, ["POST"]],
];

function allowedMethods(path: string): readonly string[] | undefined {
  return ENDPOINT_METHODS.find(([re]) => re.test(path))?.[1];
}

function splitUrl(url: string): [string, string | undefined] {
  const q = url.indexOf("?");
  return q < 0 ? [url, undefined] : [url.slice(0, q), url.slice(q + 1)];
}
