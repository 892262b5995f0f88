/**
 * `/healthz` (the process is alive) and `/readyz` (it can do its job: configuration loaded, keys present for
 * every enabled tenant, the management point reachable), both on the main listener without authentication
 * (docs/operations.md § Health). The public `/readyz` answers only `ready` / `not_ready`: which tenants exist,
 * their key state, whether the MP answers and which secrets expire are for operators, on the admin listener's
 * `GET /readyz`.
 */
import type { FastifyInstance } from "fastify";
import type { Authenticator } from "../auth/authenticate.js";
import { secretExpiryStatus } from "../observability/secret-expiry.js";
import type { UpstreamClient } from "./proxy.js";

/** The readiness verdict and its parts. */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: {
    readonly config: boolean;
    /** Key-set state per enabled tenant and token version (`fresh`, `stale`, `unavailable`). */
    readonly keys: Record<string, string>;
    readonly upstream: { readonly reachable: boolean; readonly error?: string };
    /**
     * Web app secrets that expire within 30 days (`expiring`) or have expired (`expired`), by service name.
     * Detail only: the gateway validates tokens without the secret, so readiness does not depend on it.
     */
    readonly secrets: Record<string, string>;
  };
}

/** Probes the upstream at most once per `intervalMs`; any HTTP answer counts as reachable. */
export function createUpstreamProbe(upstream: UpstreamClient, intervalMs = 2_000) {
  let last: { at: number; result: { reachable: boolean; error?: string } } | undefined;
  let inflight: Promise<{ reachable: boolean; error?: string }> | undefined;
  return async (): Promise<{ reachable: boolean; error?: string }> => {
    const now = Date.now();
    if (last && now - last.at < intervalMs) return last.result;
    inflight ??= upstream
      .forward({ method: "HEAD", path: "/", headers: { host: upstream.host }, body: null })
      .then(
        async (res) => {
          if (!Buffer.isBuffer(res.body)) res.body.resume();
          return { reachable: true };
        },
        (err: Error) => ({ reachable: false, error: err.message }),
      )
      .then((result) => {
        last = { at: Date.now(), result };
        inflight = undefined;
        return result;
      });
    return inflight;
  };
}

/** Computes readiness now. */
export async function readiness(
  authenticator: Authenticator,
  probe: () => Promise<{ reachable: boolean; error?: string }>,
): Promise<Readiness> {
  const disabled = new Set(authenticator.tenants.tenants.filter((t) => t.disabled).map((t) => t.tenantId));
  const keys: Record<string, string> = {};
  let keysReady = true;
  for (const s of authenticator.keys.statuses()) {
    if (disabled.has(s.tenantId)) continue;
    keys[`${s.tenantId}/v${s.version}`] = s.state;
    if (s.state === "unavailable") keysReady = false;
  }
  const upstream = await probe();
  const secrets: Record<string, string> = {};
  for (const s of secretExpiryStatus(authenticator.config, Date.now())) {
    if (s.state === "expiring" || s.state === "expired") secrets[s.service] = `${s.state} ${s.expiresAt ?? ""}`.trim();
  }
  return { ready: keysReady && upstream.reachable, checks: { config: true, keys, upstream, secrets } };
}

/** Computes this process's readiness (upstream probed at most every 2 s). */
export type ReadinessCheck = () => Promise<Readiness>;

/**
 * Creates the readiness check of one gateway process.
 *
 * @param authenticator configuration, tenants and key sets in force
 * @param upstream the pool probed for reachability
 */
export function createReadinessCheck(authenticator: Authenticator, upstream: UpstreamClient): ReadinessCheck {
  const probe = createUpstreamProbe(upstream);
  return () => readiness(authenticator, probe);
}

/** Registers `/healthz` and the public `/readyz` (verdict only, no detail). */
export function registerHealthRoutes(app: FastifyInstance, check: ReadinessCheck): void {
  app.get("/healthz", async (_req, reply) => reply.header("cache-control", "no-store").send({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const r = await check();
    return reply
      .code(r.ready ? 200 : 503)
      .header("cache-control", "no-store")
      .send({ status: r.ready ? "ready" : "not_ready" });
  });
}
