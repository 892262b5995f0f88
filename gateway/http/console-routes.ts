/**
 * The operator's console on the admin listener (docs/operations.md § Console), its HTTP side: server-rendered
 * pages under `/console` (what they render and keep is plain code in `gateway/console/`), signed in once with
 * the admin key, then a session cookie; every state-changing request carries the session's CSRF token and
 * comes from the console's own origin.
 *
 * The console is a client of the admin API, in process: it reads `GET /tenants` and `GET /readyz` and posts
 * the same admin calls an operator would with curl (`app.inject`, with the admin key and the operator's
 * address), so every action goes through the admin API's one path — its checks, its audit line, its metric.
 * What the admin API does not hold it gets from its dependencies: the metrics text (live traffic), the ring of
 * recent refusals, and the connection analyzer.
 *
 * | method | path | what |
 * |---|---|---|
 * | GET | `/console` | the dashboard; the sign-in page without a session |
 * | POST | `/console/session` | sign in: form field `key` |
 * | POST | `/console/sign-out` | end the session |
 * | GET | `/console/live` | the changing panels, rendered (the page's script polls it) |
 * | POST | `/console/tenants/{tenantId}/disable`, `…/enable` | the admin API's calls of the same name |
 * | POST | `/console/keys/refresh`, `/console/config/reload` | likewise (`/jwks/refresh`, `/config/reload`) |
 * | POST | `/console/analyze` | run the connection analyzer for form field `tenantId` |
 * | GET | `/console/assets/console.js`, `…/console.css` | the page's script and styles |
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { createAdminKeyCheck, keyFingerprint } from "../admin/key.js";
import type { ConsoleAnalyzer } from "../console/analysis.js";
import { CONSOLE_SCRIPT, CONSOLE_STYLES } from "../console/assets.js";
import type { Refusal } from "../console/refusals.js";
import { dashboardPage, livePanels, type ReadinessSummary, signInPage, type TenantRow } from "../console/render.js";
import {
  type ConsoleSession,
  createSessionStore,
  createSignInBrake,
  csrfMatches,
  type Flash,
  sessionCookieHeader,
} from "../console/session.js";
import { startTrafficSampler } from "../console/traffic.js";
import type { ControlMetrics } from "../observability/metrics.js";

/** What the console needs besides the admin listener it is registered on. */
export interface ConsoleDeps {
  /** The admin key: sign-in compares against it, and the console's admin calls carry it. */
  readonly key: string;
  /** The metrics text the metrics listener serves (live traffic is sampled from it). */
  readonly metricsText: () => Promise<string>;
  /** The recent refusals, newest first. */
  readonly refusals: () => readonly Refusal[] | Promise<readonly Refusal[]>;
  /** The connection analyzer; without it the console offers none. */
  readonly analyze?: ConsoleAnalyzer | undefined;
  readonly logger: Logger;
  /** Counts sign-ins (`entra_gateway_admin_requests_total{action="console.sign_in"}`) and analyzer runs. */
  readonly metrics?: ControlMetrics | undefined;
  /** Between live traffic samples, and between the page's polls of `/console/live`; default 5 s. */
  readonly sampleIntervalMs?: number | undefined;
  /** Settles when the serving process(es) listen: the traffic's first sample is taken then. */
  readonly serving?: PromiseLike<unknown> | undefined;
}

/** The Content-Security-Policy of every console answer: the gateway's own script and styles, nothing else. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Bounded form bodies: a sign-in key or a CSRF token and a tenant ID. */
const FORM_LIMIT_BYTES = 4096;

/** Route config marking console routes: the admin listener's bearer check leaves them to the console. */
const CONSOLE_ROUTE = { console: true } as const;

/**
 * Whether a request was routed to the console (which signs in with its own session) rather than to the admin
 * API (which needs `Authorization: Bearer`). Decided by the matched route, never by the path's text.
 */
export function isConsoleRequest(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { console?: boolean } | undefined)?.console === true;
}

/** An admin API answer, parsed. */
interface AdminAnswer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the admin API's JSON, read field by field below
  readonly body: any;
}

/**
 * Registers the console on the admin listener's fastify instance (in a scope of its own: its form parser and
 * headers do not reach the admin API).
 *
 * @example
 * await app.register(consolePlugin, { key, metricsText: () => registry.metrics(), refusals: ring.list, logger });
 */
export async function consolePlugin(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const log = deps.logger;
  const isAdmin = createAdminKeyCheck(deps.key);
  const keyFp = keyFingerprint(deps.key);
  const sessions = createSessionStore();
  const brake = createSignInBrake();
  const traffic = startTrafficSampler({
    read: deps.metricsText,
    ...(deps.sampleIntervalMs === undefined ? {} : { intervalMs: deps.sampleIntervalMs }),
    ...(deps.serving === undefined ? {} : { baseline: deps.serving }),
    onError: (err) => log.warn({ err: err.message }, "console: metrics sample failed"),
  });
  app.addHook("onClose", async () => traffic.stop());

  /** The console's own audit lines (sign-in, sign-out, analyzer), in the admin API's shape. */
  const audit = (
    req: FastifyRequest,
    action: string,
    target: string | undefined,
    result: string,
    signedIn: boolean,
  ) => {
    deps.metrics?.recordAdmin(action, result);
    log.info(
      {
        reqId: req.id,
        audit: {
          who: { key: signedIn ? keyFp : undefined, address: req.ip },
          action,
          target,
          result,
          at: new Date().toISOString(),
        },
      },
      "admin action",
    );
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: FORM_LIMIT_BYTES },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  const field = (req: FastifyRequest, name: string): string | undefined => {
    const body = req.body as Record<string, unknown> | undefined;
    const value = body !== null && typeof body === "object" ? body[name] : undefined;
    return typeof value === "string" ? value : undefined;
  };

  app.addHook("onSend", async (_req, reply) => {
    reply
      .header("content-security-policy", CONSOLE_CSP)
      .header("x-content-type-options", "nosniff")
      .header("x-frame-options", "DENY")
      // Not no-referrer: under it a browser sends `Origin: null` with every POST (Fetch standard, "append a
      // request Origin header"), and the origin check below could not tell the console's own forms apart.
      .header("referrer-policy", "same-origin")
      .header("cross-origin-opener-policy", "same-origin")
      .header("cross-origin-resource-policy", "same-origin")
      .header("cache-control", "no-store");
  });

  /** The admin API, called in process with the admin key on behalf of the signed-in operator. */
  const adminCall = async (req: FastifyRequest, method: "GET" | "POST", url: string): Promise<AdminAnswer> => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${deps.key}` },
      remoteAddress: req.ip,
    });
    let body: unknown;
    try {
      body = res.json();
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body };
  };

  const sendPage = (reply: FastifyReply, status: number, page: string) =>
    reply.code(status).type("text/html; charset=utf-8").send(page);

  /** RFC 6454 origin of this listener as the browser names it; a POST from anywhere else is refused. */
  const sameOrigin = (req: FastifyRequest) => {
    const { origin, host } = req.headers;
    return origin !== undefined && host !== undefined && origin === `${req.protocol}://${host}`;
  };

  /**
   * The checks of every state-changing request: own origin (403), a live session (401), its CSRF token from
   * the form or the `x-csrf-token` header (403). Answers and returns undefined when one fails.
   */
  const guardPost = (req: FastifyRequest, reply: FastifyReply): ConsoleSession | undefined => {
    if (!sameOrigin(req)) {
      void sendPage(reply, 403, signInPage("Refused: the request did not come from the console's own page."));
      return undefined;
    }
    const session = sessions.fromCookieHeader(req.headers.cookie);
    if (session === undefined) {
      void sendPage(reply, 401, signInPage("Your session has ended; sign in again."));
      return undefined;
    }
    const header = req.headers["x-csrf-token"];
    if (!csrfMatches(session, field(req, "csrf") ?? (typeof header === "string" ? header : undefined))) {
      void sendPage(reply, 403, signInPage("Refused: the request carried no valid CSRF token."));
      return undefined;
    }
    return session;
  };

  const tenantRows = (answer: AdminAnswer): readonly TenantRow[] | undefined =>
    answer.status === 200 && Array.isArray(answer.body?.tenants) ? (answer.body.tenants as TenantRow[]) : undefined;
  const readinessOf = (answer: AdminAnswer): ReadinessSummary | undefined => {
    const workers = answer.body?.workers;
    if (!Array.isArray(workers)) return undefined;
    return {
      ready: answer.status === 200,
      workers: workers.length,
      upstreamReachable: workers.every((w: { checks?: { upstream?: { reachable?: boolean } } }) =>
        Boolean(w.checks?.upstream?.reachable),
      ),
    };
  };
  const liveData = async (req: FastifyRequest, session: ConsoleSession) => {
    const [tenants, ready, refusals] = await Promise.all([
      adminCall(req, "GET", "/tenants"),
      adminCall(req, "GET", "/readyz"),
      deps.refusals(),
    ]);
    return {
      nowMs: Date.now(),
      csrf: session.csrf,
      tenants: tenantRows(tenants),
      readiness: readinessOf(ready),
      traffic: traffic.view(),
      refusals,
      analyzerAvailable: deps.analyze !== undefined,
      ...(deps.sampleIntervalMs === undefined ? {} : { refreshMs: deps.sampleIntervalMs }),
    };
  };

  const route = { config: CONSOLE_ROUTE };

  app.get("/console", route, async (req, reply) => {
    const session = sessions.fromCookieHeader(req.headers.cookie);
    if (session === undefined) return sendPage(reply, 200, signInPage());
    const flash = session.flash;
    session.flash = undefined;
    return sendPage(reply, 200, dashboardPage({ ...(await liveData(req, session)), flash }));
  });

  app.get("/console/live", route, async (req, reply) => {
    const session = sessions.fromCookieHeader(req.headers.cookie);
    if (session === undefined) return reply.code(401).send({ error: "unauthorized" });
    return reply.send(livePanels(await liveData(req, session)));
  });

  app.get("/console/assets/console.js", route, async (_req, reply) =>
    reply.type("text/javascript; charset=utf-8").send(CONSOLE_SCRIPT),
  );
  app.get("/console/assets/console.css", route, async (_req, reply) =>
    reply.type("text/css; charset=utf-8").send(CONSOLE_STYLES),
  );

  app.post("/console/session", route, async (req, reply) => {
    if (!sameOrigin(req)) {
      audit(req, "console.sign_in", undefined, "cross_origin", false);
      return sendPage(reply, 403, signInPage("Refused: sign in from the console's own page."));
    }
    const brakeState = brake.check(req.ip);
    if (!brakeState.allowed) {
      audit(req, "console.sign_in", undefined, "throttled", false);
      reply.header("retry-after", String(brakeState.retryAfterSec));
      return sendPage(reply, 429, signInPage("Too many wrong keys from this address; wait a minute."));
    }
    const presented = field(req, "key");
    // The same constant-time check as the admin API's bearer key.
    if (presented === undefined || !isAdmin(`Bearer ${presented}`)) {
      brake.failed(req.ip);
      audit(req, "console.sign_in", undefined, "refused", false);
      return sendPage(reply, 401, signInPage("That key was refused."));
    }
    brake.succeeded(req.ip);
    const { cookie } = sessions.open(req.ip);
    audit(req, "console.sign_in", undefined, "ok", true);
    return reply.code(303).header("set-cookie", sessionCookieHeader(cookie)).header("location", "/console").send();
  });

  app.post("/console/sign-out", route, async (req, reply) => {
    if (guardPost(req, reply) === undefined) return reply;
    sessions.close(req.headers.cookie);
    audit(req, "console.sign_out", undefined, "ok", true);
    return reply.code(303).header("set-cookie", sessionCookieHeader(undefined)).header("location", "/console").send();
  });

  /** One admin API call behind the console's checks; its answer becomes the next page's message. */
  const action =
    (path: (req: FastifyRequest) => string, describe: (answer: AdminAnswer) => Flash) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const session = guardPost(req, reply);
      if (session === undefined) return reply;
      session.flash = describe(await adminCall(req, "POST", path(req)));
      // Post/redirect/get: reloading the page shows it again, it does not repeat the action.
      return reply.code(303).header("location", "/console").send();
    };
  const failure = (what: string, answer: AdminAnswer): Flash => ({
    ok: false,
    text: `${what} failed (${answer.status}${typeof answer.body?.error === "string" ? ` ${answer.body.error}` : ""}).`,
    ...(typeof answer.body?.message === "string" ? { details: [answer.body.message] } : {}),
  });
  const tenantPath = (verb: "disable" | "enable") => (req: FastifyRequest) =>
    `/tenants/${encodeURIComponent((req.params as { tenantId?: string }).tenantId ?? "")}/${verb}`;
  const tenantChange = (verb: "disable" | "enable") =>
    action(tenantPath(verb), (a) =>
      a.status === 200
        ? {
            ok: true,
            text: `${a.body.service} (${a.body.tenantId}): Entra authentication ${a.body.enabled ? "enabled" : "disabled"}, in force on ${a.body.workers?.length ?? 0} serving ${a.body.workers?.length === 1 ? "process" : "processes"}.`,
          }
        : failure(verb === "disable" ? "Disabling the tenant" : "Enabling the tenant", a),
    );
  app.post("/console/tenants/:tenantId/disable", route, tenantChange("disable"));
  app.post("/console/tenants/:tenantId/enable", route, tenantChange("enable"));
  app.post(
    "/console/keys/refresh",
    route,
    action(
      () => "/jwks/refresh",
      (a) =>
        a.status === 200
          ? {
              ok: true,
              text: "Signing keys refreshed.",
              details: (a.body.keySets ?? []).map(
                (k: { id: string; state: string; keyCount: number }) => `${k.id}: ${k.state}, ${k.keyCount} keys`,
              ),
            }
          : failure("Refreshing the signing keys", a),
    ),
  );
  app.post(
    "/console/config/reload",
    route,
    action(
      () => "/config/reload",
      (a) => {
        if (a.status === 409) {
          return {
            ok: false,
            text: "The configuration file was refused; the last good one stays.",
            details: a.body.problems ?? [],
          };
        }
        if (a.status !== 200) return failure("Reloading the configuration", a);
        if (a.body.result === "unchanged") return { ok: true, text: "The configuration file is unchanged." };
        return {
          ok: true,
          text: "Configuration reloaded.",
          details: [
            ...(a.body.warnings ?? []),
            ...(a.body.restartRequired ?? []).map((k: string) => `${k}: applies after a restart`),
          ],
        };
      },
    ),
  );

  app.post("/console/analyze", route, async (req, reply) => {
    const session = guardPost(req, reply);
    if (session === undefined) return reply;
    const tenantId = (field(req, "tenantId") ?? "").slice(0, 64);
    if (deps.analyze === undefined) {
      session.flash = { ok: false, text: "The connection analyzer is not available in this gateway." };
    } else {
      try {
        const report = await deps.analyze(tenantId);
        audit(req, "console.analyze", tenantId, report.ok ? "pass" : "fail", true);
        session.flash = {
          ok: report.ok,
          text: report.ok ? "Connection analyzer: every stage passed." : "Connection analyzer: a stage failed.",
          analysis: report,
        };
      } catch (err) {
        audit(req, "console.analyze", tenantId, "error", true);
        session.flash = { ok: false, text: `The connection analyzer could not run: ${(err as Error).message}` };
      }
    }
    return reply.code(303).header("location", "/console").send();
  });
}
