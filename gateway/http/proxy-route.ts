/**
 * The proxy handler: authenticate the request (the pipeline of `auth/`), then stream it to the management
 * point and its answer back. Rejections are answered through `rejectionResponse` (the one mapping table) and
 * upstream failures through `UPSTREAM_FAILURES`; nothing here decides a status on its own.
 *
 * It works on Node's request and response objects, so the listener (`app.ts`) hands it a bodiless GET or
 * HEAD straight from the server, without fastify's routing and reply (measured: the larger part of what the
 * gateway cost beyond the bare proxy, docs/benchmarks.md); anything else comes through fastify's catch-all
 * route (`registerProxyRoute`), which parses forms and bounds bodies, then hands over the same way.
 */

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { pipeline } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Authenticator } from "../auth/authenticate.js";
import { type Rejection, reject, rejectionResponse } from "../auth/rejection.js";
import type { AuthResult } from "../auth/result.js";
import { bearerOf, tokenFingerprint } from "../observability/logger.js";
import { aadAuthInfo, isGuid, tenantIdParam } from "./aad-auth-info.js";
import { managementPointUrl, parseRequestTarget } from "./cmg-path.js";
import { clientResponseHeaders, upstreamRequestHeaders } from "./headers.js";
import { UPSTREAM_FAILURES, type UpstreamClient, UpstreamFailure, type Upstreams } from "./proxy.js";
import {
  BodyStalledError,
  BodyTooLargeError,
  declaredTooLarge,
  FORM_BUFFER_LIMIT_BYTES,
  hasBody,
  isFormBody,
  limitBody,
  watchBodyProgress,
} from "./request-body.js";

/** What the proxy route needs. */
export interface ProxyRouteDeps {
  readonly authenticator: Authenticator;
  readonly upstream: Upstreams;
  readonly log: Logger;
  /** Observers for metrics (operations issue); called once per request. */
  readonly onOutcome?: (outcome: RequestOutcome) => void;
}

/** What happened to one request, for metrics and logs. */
export interface RequestOutcome {
  /** `aadauthinfo`: answered by the gateway itself, `reason` `found` or `not_onboarded`. */
  readonly outcome: "proxied" | "rejected" | "upstream_error" | "too_large" | "client_timeout" | "aadauthinfo";
  readonly reason: string | undefined;
  /** The token's tenant; for `aadauthinfo`, the tenant ID asked (only when it is a GUID). */
  readonly tenantId: string | undefined;
  readonly status: number;
  /** Seconds spent in `authenticate` (absent when the request never reached it). */
  readonly authSeconds?: number;
  /** Seconds from sending upstream to the MP's response headers (proxied requests only). */
  readonly upstreamSeconds?: number;
  /** Refusals only: the request path without its query (the console's recent refusals). */
  readonly path?: string;
  /** Refusals only: the bearer token's fingerprint (`tokenFingerprint`), never the token. */
  readonly tokenFp?: string;
}

/** Upstream responses with a declared length up to this are buffered and written at once. */
const SMALL_BODY_BYTES = 64 * 1024;

/** Generic `error` values of JSON bodies for answers without an RFC 6750 error code. */
const GENERIC_ERROR: Readonly<Record<number, string>> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  408: "request_timeout",
  413: "request_too_large",
  502: "bad_gateway",
  503: "temporarily_unavailable",
  504: "gateway_timeout",
};

const JSON_TYPE = "application/json; charset=utf-8";

/** Writes a JSON answer (status, extra headers, body) and ends the response. */
function sendJson(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": JSON_TYPE, "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  error?: string,
  description?: string,
): void {
  const body =
    description === undefined
      ? { error: error ?? GENERIC_ERROR[status] ?? "error" }
      : { error, error_description: description };
  // Answered before the client finished its body: close, or Node would keep reading (and waiting for) the
  // rest of a body nobody needs — a slow client would keep its connection for as long as it likes.
  const close = !req.complete && hasBody(req) ? { connection: "close" } : undefined;
  sendJson(res, status, close === undefined ? headers : { ...headers, ...close }, body);
}

const ROUTE_UNKNOWN = Object.freeze(reject("route_unknown"));
const MANAGEMENT_POINT_UNKNOWN = Object.freeze(reject("management_point_unknown"));

/**
 * Every `Authorization` value of the request. Node keeps only the first of repeated Authorization headers in
 * `req.headers`, and two credentials must be seen (and refused); the raw list is scanned instead of building
 * `headersDistinct` (an object of arrays of every header) on each request.
 */
function authorizationValues(req: IncomingMessage): string | string[] | undefined {
  const raw = req.rawHeaders;
  let found: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 13 || name.toLowerCase() !== "authorization") continue;
    const value = raw[i + 1]!;
    if (found === undefined) found = value;
    else if (typeof found === "string") found = [found, value];
    else found.push(value);
  }
  return found;
}

/** What the listener knows of a request besides Node's objects. */
export interface ProxyRequestContext {
  /** The request's ID (`X-Request-Id` upstream, `reqId` in logs). */
  readonly id: string;
  /** The body of an `application/x-www-form-urlencoded` request, read (bounded) by fastify. */
  readonly formBody?: string | undefined;
}

/** Handles one request end to end; never throws (a bug is answered 500 and logged). */
export type ProxyHandler = (req: IncomingMessage, res: ServerResponse, ctx: ProxyRequestContext) => Promise<void>;

/** Creates the proxy handler. */
export function createProxyHandler(deps: ProxyRouteDeps): ProxyHandler {
  const { authenticator, log } = deps;
  const bodyLimit = () => authenticator.config.listen.bodyLimitBytes;

  /** Metrics for every request; a log line (with the token's fingerprint, hashed only then) when enabled. */
  const record = (
    req: IncomingMessage,
    ctx: ProxyRequestContext,
    outcome: RequestOutcome,
    withToken: boolean,
    error?: unknown,
  ) => {
    deps.onOutcome?.(outcome);
    const level = outcome.status >= 500 ? "error" : "info";
    if (!log.isLevelEnabled(level)) return;
    const token = withToken && outcome.tokenFp === undefined ? bearerOf(req.headers.authorization) : undefined;
    log[level](
      {
        reqId: ctx.id,
        method: req.method,
        path: req.url!.split("?", 1)[0],
        status: outcome.status,
        outcome: outcome.outcome,
        reason: outcome.reason,
        tenantId: outcome.tenantId,
        tokenFp: token === undefined ? outcome.tokenFp : tokenFingerprint(token),
        ...(error instanceof UpstreamFailure
          ? { upstreamError: (error.cause as { code?: string } | undefined)?.code ?? String(error.cause) }
          : {}),
      },
      "request",
    );
  };

  const answerRejection = (
    req: IncomingMessage,
    res: ServerResponse,
    ctx: ProxyRequestContext,
    rejection: Rejection,
    authSeconds: number,
  ) => {
    const { status, headers, error, errorDescription } = rejectionResponse(rejection, authenticator.config.auth.realm);
    // A refusal is hashed once whether or not it is logged: the console lists recent refusals by fingerprint.
    const token = bearerOf(req.headers.authorization);
    record(
      req,
      ctx,
      {
        outcome: "rejected",
        reason: rejection.reason,
        tenantId: rejection.tenant?.tenantId,
        status,
        authSeconds,
        path: req.url!.split("?", 1)[0]!,
        ...(token === undefined ? {} : { tokenFp: tokenFingerprint(token) }),
      },
      true,
    );
    sendError(req, res, status, headers, error, errorDescription);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, ctx: ProxyRequestContext): Promise<void> => {
    // Which management point, which of its paths (CMG forms: route rules apply to the inner path).
    const target = parseRequestTarget(req.url!);
    if (target.kind === "aadAuthInfo") {
      // docs/architecture.md § Data flow, step 4: what a client asks Entra for, from the configuration (onboarded, enabled tenants only).
      if (req.method !== "GET" && req.method !== "HEAD") return sendError(req, res, 404, {});
      const asked = tenantIdParam(target.query);
      const info = aadAuthInfo(authenticator.config, asked);
      // Logged and counted (docs/operations.md § Metrics); the ID asked is client bytes: logged only as a GUID.
      const tenantId = asked !== undefined && isGuid(asked) ? asked.toLowerCase() : undefined;
      const status = info === undefined ? 404 : 200;
      record(req, ctx, { outcome: "aadauthinfo", reason: info ? "found" : "not_onboarded", tenantId, status }, false);
      if (!info) return sendJson(res, 404, {}, { error: "tenant_not_onboarded" });
      return sendJson(res, 200, { "cache-control": "no-store" }, info);
    }
    if (target.kind === "badId") return answerRejection(req, res, ctx, ROUTE_UNKNOWN, 0);
    let upstream: UpstreamClient = deps.upstream;
    let url = req.url!;
    if (target.kind === "cmg") {
      const mpUrl = managementPointUrl(authenticator.config, target.mpId);
      // An ID the gateway does not route: 404, nothing forwarded (not even an authenticated request).
      if (mpUrl === undefined) return answerRejection(req, res, ctx, MANAGEMENT_POINT_UNKNOWN, 0);
      upstream = deps.upstream.forOrigin(mpUrl);
      url = target.url;
    }
    const raw = req;
    const withBody = hasBody(raw);
    if (withBody && declaredTooLarge(raw, bodyLimit())) {
      record(req, ctx, { outcome: "too_large", reason: undefined, tenantId: undefined, status: 413 }, false);
      return sendError(req, res, 413, { connection: "close" });
    }
    const form = withBody && isFormBody(raw) ? ctx.formBody : undefined;
    const authStarted = performance.now();
    const pending = authenticator.authenticate({
      url,
      authorization: authorizationValues(req),
      formBody: form,
    });
    const result: AuthResult = pending instanceof Promise ? await pending : pending;
    const upstreamStarted = performance.now();
    const authSeconds = (upstreamStarted - authStarted) / 1000;
    if (!result.ok) return answerRejection(req, res, ctx, result, authSeconds);

    const principal = result.principal;
    const headers = upstreamRequestHeaders(req.headers, {
      upstreamHost: upstream.host,
      clientIp: req.socket.remoteAddress ?? "",
      requestId: ctx.id,
      principal,
      forwardAuthorization: result.route.forwardAuthorization,
    });
    let body: NodeJS.ReadableStream | string | null = null;
    if (form !== undefined) {
      body = form;
      headers["content-length"] = String(Buffer.byteLength(form));
    } else if (withBody) {
      body = raw.headers["content-length"] === undefined ? raw.pipe(limitBody(bodyLimit())) : raw;
    }
    // A client that goes away mid-upload aborts the upstream request; bodiless requests are short and need
    // no per-request AbortController (measurable on the hot path).
    let abort: AbortController | undefined;
    let stopWatch: (() => void) | undefined;
    const onClose = () => {
      if (!res.writableEnded || !raw.complete) abort?.abort();
    };
    if (body !== null) {
      abort = new AbortController();
      res.once("close", onClose);
      if (form === undefined) {
        // A trickled or stalled upload is cut off (408) instead of holding an upstream connection.
        const { bodyTimeoutMs, bodyMinBytesPerSec } = authenticator.config.listen;
        const controller = abort;
        stopWatch = watchBodyProgress(raw, bodyTimeoutMs, bodyMinBytesPerSec, (stalled) => {
          if (res.writableEnded) raw.socket.destroy();
          else controller.abort(stalled);
        });
      }
    }
    const tenantId = principal?.tenantId;
    try {
      const upstreamRes = await upstream.forward({
        method: req.method!,
        path: url,
        headers,
        body: body as never,
        admission: principal === undefined ? "unauthenticated" : "authenticated",
        bufferUpTo: req.method === "HEAD" ? 0 : SMALL_BODY_BYTES,
        ...(abort ? { signal: abort.signal } : {}),
      });
      const upstreamSeconds = (performance.now() - upstreamStarted) / 1000;
      const proxied: RequestOutcome = {
        outcome: "proxied",
        reason: undefined,
        tenantId,
        status: upstreamRes.status,
        authSeconds,
        upstreamSeconds,
      };
      // docs/architecture.md § Proxy: small bodies arrive read whole (one write instead of a stream pipeline:
      // measurably cheaper; a body that breaks off is still a clean 502); anything larger or of unknown length
      // streams with bounded memory.
      const answer = upstreamRes.body;
      if (Buffer.isBuffer(answer)) {
        record(req, ctx, proxied, true);
        res.writeHead(upstreamRes.status, clientResponseHeaders(upstreamRes.headers));
        res.end(answer);
        return;
      }
      // Streamed: the status is on its way, so the outcome is known only at the end — a body the MP breaks
      // off is counted (once) as an upstream error, not as the status the client already got.
      let counted = false;
      answer.once("error", (err) => {
        if (counted) return;
        counted = true;
        const failure = new UpstreamFailure("upstream_aborted", err);
        record(
          req,
          ctx,
          {
            outcome: "upstream_error",
            reason: failure.code,
            tenantId,
            status: upstreamRes.status,
            authSeconds,
            upstreamSeconds,
          },
          true,
          failure,
        );
      });
      res.once("close", () => {
        if (counted) return;
        counted = true;
        record(req, ctx, proxied, true);
      });
      res.writeHead(upstreamRes.status, clientResponseHeaders(upstreamRes.headers));
      // A client that goes away stops the answer (and the upstream request); an answer that breaks off cuts
      // the client's connection, so a truncated body is never taken for a whole one.
      pipeline(answer, res, () => undefined);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof BodyTooLargeError || err instanceof BodyTooLargeError) {
        record(req, ctx, { outcome: "too_large", reason: undefined, tenantId, status: 413 }, false);
        return sendError(req, res, 413, { connection: "close" });
      }
      if (abort?.signal.reason instanceof BodyStalledError) {
        record(req, ctx, { outcome: "client_timeout", reason: "body_stalled", tenantId, status: 408 }, false);
        return sendError(req, res, 408, { connection: "close" });
      }
      const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure("upstream_unreachable", err);
      record(
        req,
        ctx,
        {
          outcome: "upstream_error",
          reason: failure.code,
          tenantId,
          status: failure.status,
          authSeconds,
          upstreamSeconds: (performance.now() - upstreamStarted) / 1000,
        },
        true,
        failure,
      );
      const { retryAfterSec, message } = UPSTREAM_FAILURES[failure.code];
      return sendError(
        req,
        res,
        failure.status,
        retryAfterSec > 0 ? { "retry-after": String(retryAfterSec) } : {},
        GENERIC_ERROR[failure.status],
        message,
      );
    } finally {
      stopWatch?.();
      if (abort) res.off("close", onClose);
    }
  };

  return async (req, res, ctx) => {
    try {
      await handle(req, res, ctx);
    } catch (err) {
      // A bug, not a client's doing: logged without headers, answered 500 (or the connection cut mid-answer).
      const e = err as { message?: string; code?: string };
      log.error({ reqId: ctx.id, err: { message: e.message, code: e.code } }, "unexpected error");
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, {}, { error: "internal_error" });
    }
  };
}

/** The methods the proxy forwards; fastify answers any other with 404. */
const PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/**
 * Registers the catch-all route for what the listener does not hand to `proxy` itself (requests with a body,
 * other methods): fastify reads a form (bounded, RFC 6750 §2.2) and leaves any other body to stream, then
 * `proxy` answers on Node's objects.
 */
export function registerProxyRoute(app: FastifyInstance, proxy: ProxyHandler): void {
  // Bodies are not parsed: the stream goes upstream as it arrives. Forms are read (bounded) for RFC 6750 §2.2.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: FORM_BUFFER_LIMIT_BYTES },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser("*", (_req, _payload, done) => done(null));
  app.route({
    method: [...PROXIED_METHODS],
    url: "/*",
    handler: (req, reply) => {
      reply.hijack();
      return proxy(req.raw, reply.raw, { id: req.id, formBody: typeof req.body === "string" ? req.body : undefined });
    },
  });
}
