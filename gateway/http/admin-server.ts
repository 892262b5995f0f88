/**
 * The admin API (docs/operations.md § Admin API) on its own listener, loopback by default. Every call needs
 * `Authorization: Bearer {adminKey}` (compared in constant time). Every call that changes something writes
 * an audit line: who (key fingerprint and remote address), what, when, and the result.
 *
 * Tenant disable/enable never touches the configuration file (`state/tenant-state.ts`): it works with a
 * read-only file and with a file that currently holds an invalid edit.
 *
 * | method | path | what |
 * |---|---|---|
 * | GET | `/tenants` | tenants: enabled and where that comes from (file, or admin: who, when), key state per token version, key ids, last fetch, secret expiry |
 * | POST | `/tenants/{tenantId}/disable` | refuse the tenant's tokens: runtime state, stored in the state directory, in force on every worker before the answer |
 * | POST | `/tenants/{tenantId}/enable` | accept them again, likewise |
 * | DELETE | `/tenants/{tenantId}/state` | drop the runtime state: the tenant follows the file's `disableAuthentication` again |
 * | GET | `/readyz` | readiness with its details per worker: key state per tenant, MP reachability, expiring secrets; the shared tenant state's connection |
 * | POST | `/jwks/refresh` | refresh every key set now, on every worker |
 * | POST | `/config/reload` | re-read the configuration file (refused when invalid; the last good one stays) |
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from "fastify";
import type { Logger } from "pino";
import type { GatewayControl, WorkerAck } from "../admin/control.js";
import { createAdminKeyCheck, keyFingerprint } from "../admin/key.js";
import type { TenantSwitch } from "../admin/tenant-switch.js";
import type { KeySetState, KeySetStatus } from "../auth/keys/jwks-store.js";
import { GUID_PATTERN } from "../config/schema.js";
import type { ConfigReloader, ReloadOutcome } from "../config/watch.js";
import type { ControlMetrics } from "../observability/metrics.js";
import { secretExpiryStatus } from "../observability/secret-expiry.js";
import { TenantStateUnavailableError } from "../state/tenant-state.js";
import { type ConsoleDeps, consolePlugin, isConsoleRequest } from "./console-plugin.js";
import { type ListenerTls, listeningUrl } from "./listener.js";

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  /** HTTPS when given (the main listener's certificate). */
  readonly tls?: ListenerTls | undefined;
  /** The admin key. */
  readonly key: string;
  /** The configuration file (named in audit lines of reloads). */
  readonly configPath: string;
  /** Runtime tenant state (disable/enable). */
  readonly tenants: TenantSwitch;
  readonly control: GatewayControl;
  readonly reloader: ConfigReloader<readonly WorkerAck[]>;
  readonly logger: Logger;
  readonly metrics?: ControlMetrics | undefined;
  /** The operator's console under `/console` (docs/operations.md § Console), when given. */
  readonly console?: Omit<ConsoleDeps, "key" | "logger" | "metrics"> | undefined;
}

/** A running admin listener. */
export interface AdminServer {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

const STATE_RANK: Readonly<Record<KeySetState, number>> = { fresh: 0, stale: 1, unavailable: 2 };

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Merges the key-set statuses of every worker: worst state wins, counts per state kept. */
function mergeKeyStatuses(perWorker: readonly (readonly KeySetStatus[])[]) {
  const byId = new Map<string, { worst: KeySetStatus; states: Record<KeySetState, number> }>();
  for (const statuses of perWorker) {
    for (const s of statuses) {
      const seen = byId.get(s.id);
      if (seen === undefined) {
        byId.set(s.id, { worst: s, states: { fresh: 0, stale: 0, unavailable: 0, [s.state]: 1 } });
      } else {
        seen.states[s.state] += 1;
        if (STATE_RANK[s.state] > STATE_RANK[seen.worst.state]) seen.worst = s;
      }
    }
  }
  return byId;
}

/**
 * Starts the admin listener.
 *
 * @param options listener, key, configuration file, the serving processes and the reloader
 * @example
 * const admin = await startAdminServer({ host: "127.0.0.1", port: 9444, key, configPath, tenants, control, reloader, logger });
 * // curl -H "Authorization: Bearer $KEY" -X POST $URL/tenants/$TID/disable
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { control, reloader, metrics } = options;
  const log = options.logger.child({ component: "admin" });
  const isAdmin = createAdminKeyCheck(options.key);
  const keyFp = keyFingerprint(options.key);
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    trustProxy: false,
    forceCloseConnections: true,
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  const audit = (req: FastifyRequest, action: string, target: string | undefined, result: string, extra = {}) => {
    metrics?.recordAdmin(action, result);
    log.info(
      {
        reqId: req.id,
        audit: { who: { key: keyFp, address: req.ip }, action, target, result, at: new Date().toISOString() },
        ...extra,
      },
      "admin action",
    );
  };

  app.addHook("onRequest", async (req, reply) => {
    // The console signs its operators in itself (session cookie, CSRF token) and calls this API in process.
    if (isAdmin(req.headers.authorization) || isConsoleRequest(req)) return;
    // Refused attempts are audited too (who tried, from where), without what they sent.
    metrics?.recordAdmin("authenticate", "refused");
    log.info(
      {
        reqId: req.id,
        audit: {
          who: { key: undefined, address: req.ip },
          action: `${req.method} ${req.url.split("?", 1)[0]}`,
          result: "unauthorized",
          at: new Date().toISOString(),
        },
      },
      "admin request refused",
    );
    return reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="entra-gateway-admin"')
      .send({ error: "unauthorized", message: "Authorization: Bearer {admin key} required" });
  });

  app.get("/tenants", async (_req, reply) => {
    const config = reloader.config;
    const states = options.tenants.states();
    const keys = mergeKeyStatuses(await control.keyStatuses());
    const secrets = secretExpiryStatus(config, Date.now());
    const tenants = config.azureServices.map((s, i) => {
      const secret = secrets[i];
      const sets = [...keys.values()].filter(
        (k) => k.worst.tenantId === s.tenant.id && k.worst.environment === s.environment,
      );
      const state = s.type === "cloudManagement" ? states[s.tenant.id.toLowerCase()] : undefined;
      return {
        tenantId: s.tenant.id,
        tenantName: s.tenant.name,
        service: s.name,
        type: s.type,
        environment: s.environment,
        enabled: !(state?.disabled ?? s.disableAuthentication),
        // Runtime state wins over the file (docs/operations.md, "Runtime tenant state").
        origin:
          state === undefined
            ? { source: "file" }
            : { source: "admin", by: state.by, at: state.at, fileSays: { enabled: !s.disableAuthentication } },
        adminServiceManagement: s.adminServiceManagement,
        keys: sets
          .sort((a, b) => a.worst.version - b.worst.version)
          .map(({ worst, states }) => ({
            version: worst.version,
            state: worst.state,
            workers: states,
            keyCount: worst.keyCount,
            kids: worst.kids,
            url: worst.url,
            lastFetchAt: iso(worst.fetchedAtMs),
            lastAttemptAt: iso(worst.lastAttemptAtMs),
            nextAttemptAt: iso(worst.nextAttemptAtMs),
            lastError: worst.lastError,
            consecutiveFailures: worst.consecutiveFailures,
          })),
        secret: {
          origin: secret?.origin,
          expiresAt: secret?.expiresAt,
          state: secret?.state,
          daysLeft: secret?.daysLeft,
        },
      };
    });
    return reply.header("cache-control", "no-store").send({ workers: control.workerCount(), tenants });
  });

  const answerReload = (reply: FastifyReply, outcome: ReloadOutcome<readonly WorkerAck[]>) => {
    if (outcome.result === "refused") {
      return reply.code(409).send({ result: "refused", problems: outcome.problems, warnings: outcome.warnings });
    }
    if (outcome.result === "unchanged") return reply.send({ result: "unchanged" });
    const failed = outcome.report.filter((a) => !a.ok);
    return reply.code(failed.length === 0 ? 200 : 500).send({
      result: failed.length === 0 ? "applied" : "partially_applied",
      warnings: outcome.warnings,
      restartRequired: outcome.restartRequired,
      workers: outcome.report,
    });
  };

  /** The cloud management service of a tenant ID from the path, or an answer already sent. */
  const tenantOf = (req: FastifyRequest, reply: FastifyReply, action: string) => {
    const raw = (req.params as { tenantId?: string }).tenantId ?? "";
    if (!GUID_PATTERN.test(raw)) {
      audit(req, action, raw.slice(0, 64), "bad_request");
      void reply.code(400).send({ error: "invalid_request", message: "tenantId must be a GUID" });
      return undefined;
    }
    const tenantId = raw.toLowerCase();
    const service = reloader.config.azureServices.find(
      (s) => s.type === "cloudManagement" && s.tenant.id.toLowerCase() === tenantId,
    );
    if (service === undefined) {
      audit(req, action, tenantId, "tenant_unknown");
      void reply
        .code(404)
        .send({ error: "tenant_unknown", message: `no cloud management service for tenant ${tenantId}` });
      return undefined;
    }
    return { tenantId, service };
  };

  /** Stores a runtime state change, then puts it in force on every worker before answering. */
  const changeTenant =
    (action: string, change: (tenantId: string, by: string) => Promise<void>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const found = tenantOf(req, reply, action);
      if (found === undefined) return reply;
      const { tenantId, service } = found;
      const by = `admin key ${keyFp} from ${req.ip}`;
      try {
        await change(tenantId, by);
      } catch (err) {
        // Not stored means not in force: an operator must never believe a change took that did not. A shared
        // store that cannot be reached (TenantStateUnavailableError) is the usual case: no local change either.
        audit(req, action, tenantId, "state_unavailable", { err: (err as Error).message });
        const where = options.tenants.where;
        return reply
          .code(503)
          .header("retry-after", "5")
          .send({
            error: "state_unavailable",
            message:
              err instanceof TenantStateUnavailableError
                ? `shared tenant state (${where}) unreachable: nothing changed on any replica; retry once it is back`
                : `runtime tenant state (${where}) not written`,
          });
      }
      const tenants = options.tenants;
      const acks = await control.applyConfig(tenants.effective(reloader.config), reloader.text, tenants.states());
      const failed = acks.filter((a) => !a.ok);
      const state = tenants.states()[tenantId];
      const enabled = !(state?.disabled ?? service.disableAuthentication);
      audit(req, action, tenantId, failed.length === 0 ? "ok" : "not_applied", { service: service.name, enabled });
      return reply.code(failed.length === 0 ? 200 : 500).send({
        tenantId,
        service: service.name,
        enabled,
        origin: state === undefined ? { source: "file" } : { source: "admin", by: state.by, at: state.at },
        inForce: failed.length === 0,
        workers: acks,
      });
    };
  const setTenant = (disabled: boolean) =>
    changeTenant(disabled ? "tenant.disable" : "tenant.enable", (tenantId, by) =>
      options.tenants.set(tenantId, { disabled, by, at: new Date().toISOString() }),
    );
  app.post("/tenants/:tenantId/disable", setTenant(true));
  app.post("/tenants/:tenantId/enable", setTenant(false));
  app.delete(
    "/tenants/:tenantId/state",
    changeTenant("tenant.clear", (tenantId) => options.tenants.clear(tenantId)),
  );

  app.get("/readyz", async (_req, reply) => {
    const workers = await control.readiness();
    const ready = workers.length > 0 && workers.every((w) => w.ready);
    // Shared state down does not make the replica unready: it serves with the last known states (fail
    // static); taking every replica out of its load balancer at once would be the outage instead.
    const sharedState = options.tenants.sharedState();
    return reply
      .code(ready ? 200 : 503)
      .header("cache-control", "no-store")
      .send({ status: ready ? "ready" : "not_ready", workers, ...(sharedState === undefined ? {} : { sharedState }) });
  });

  app.post("/jwks/refresh", async (req, reply) => {
    const acks = await control.refreshJwks();
    const failed = acks.filter((a) => !a.ok);
    audit(req, "jwks.refresh", undefined, failed.length === 0 ? "ok" : "failed");
    const statuses = mergeKeyStatuses(await control.keyStatuses());
    return reply.code(failed.length === 0 ? 200 : 500).send({
      workers: acks,
      keySets: [...statuses.values()].map(({ worst, states }) => ({
        id: worst.id,
        state: worst.state,
        workers: states,
        keyCount: worst.keyCount,
        lastFetchAt: iso(worst.fetchedAtMs),
        lastError: worst.lastError,
      })),
    });
  });

  app.post("/config/reload", async (req, reply) => {
    const outcome = await reloader.reload("admin");
    audit(req, "config.reload", options.configPath, outcome.result);
    return answerReload(reply, outcome);
  });

  if (options.console !== undefined) {
    await app.register(consolePlugin, { ...options.console, key: options.key, logger: log, metrics });
  }

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: "not_found" }));
  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: "invalid_request" });
    }
    log.error({ reqId: req.id, err: { message: (err as Error).message } }, "admin API error");
    return reply.code(500).send({ error: "internal_error" });
  });

  await app.listen({ host: options.host, port: options.port });
  const { url, port } = listeningUrl(app.server, options.tls !== undefined);
  log.info({ url, key: keyFp }, "admin API listening");
  return { url, port, app, close: () => app.close() };
}
