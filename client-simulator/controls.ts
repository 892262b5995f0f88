/**
 * What the scenarios do *to* the stack and how they observe it, behind one interface so a run works the
 * same against a stack in another process (HTTPS: the emulator's `/_sim/` API, the gateway's admin API and
 * metrics, the MP's `/_mp/audit`) and in process (tests may replace any part with {@link SimulationHooks}).
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createHttpClient, type HttpAnswer, type HttpClient, jsonOf, stringProperty } from "./http.js";
import type { StackFile } from "./stack-file.js";

/** One MP audit entry, as far as the simulator reads it. */
export interface AuditEntryLike {
  readonly seq: number;
  readonly path: string;
  readonly status: number;
  readonly identity?: { readonly objectId?: string; readonly deviceId?: string; readonly tenantId?: string };
}

/** Reads the MP's audit. */
export interface MpAuditReader {
  /** The highest sequence number so far (0 when empty). */
  cursor(): Promise<number>;
  /** Entries after `seq`, oldest first. */
  entriesSince(seq: number): Promise<readonly AuditEntryLike[]>;
}

/**
 * Replaceable parts of a run. Defaults: the gateway's admin API (`stack.json` → `gateway.adminUrl`,
 * `adminKey`), its metrics (`gateway.metricsUrl`) and the MP's `/_mp/audit` over mTLS with the gateway's
 * client certificate from the stack's TLS directory.
 */
export interface SimulationHooks {
  /** Turns a tenant's Entra authentication on or off at the gateway. */
  setTenantEnabled?(tenantId: string, enabled: boolean): Promise<void>;
  /** Makes the gateway fetch every JWKS now (bypassing its cooldowns). Returns whether every fetch worked. */
  refreshGatewayKeys?(): Promise<boolean | undefined>;
  /**
   * The gateway's reason code for the rejected request(s) that carried the token with this fingerprint
   * (docs/architecture.md § Observability log lines), read once the run is over. Without it, reasons come from the metrics.
   */
  gatewayReason?(tokenFp: string): string | undefined;
  /** The MP's audit. */
  mpAudit?: MpAuditReader;
  /** Progress of the run (the CLI draws its progress line from it). */
  onProgress?(progress: Progress): void;
}

/** How far a run is. */
export interface Progress {
  readonly round: string;
  readonly roundIndex: number;
  readonly rounds: number;
  readonly done: number;
  readonly total: number;
  readonly requests: number;
  readonly failed: number;
}

/** The stack as the scenarios drive it. */
export interface StackControls {
  readonly http: HttpClient;
  readonly caPem: string;
  rotateKey(tenantId: string): Promise<{ readonly kid: string; readonly retiring: string }>;
  revokeKey(tenantId: string, kid: string): Promise<void>;
  currentKid(tenantId: string): Promise<string>;
  setOutage(enabled: boolean, targets?: readonly string[]): Promise<void>;
  setTenantEnabled(tenantId: string, enabled: boolean): Promise<void>;
  refreshGatewayKeys(): Promise<boolean | undefined>;
  /** The emulator's JWKS request counter over all tenants (`/_sim/stats`), outage-refused ones included. */
  keyFetches(): Promise<number | undefined>;
  /** `entra_gateway_requests_total` rejected counts by reason, or undefined without a metrics URL. */
  rejectionsByReason(): Promise<Map<string, number> | undefined>;
  readonly mpAudit: MpAuditReader | undefined;
  readonly gatewayReason: ((tokenFp: string) => string | undefined) | undefined;
  close(): Promise<void>;
}

/** Why a control could not run (e.g. no admin API in `stack.json`). */
export class ControlUnavailableError extends Error {}

/**
 * Parses Prometheus text exposition: the sum of `entra_gateway_requests_total` samples with
 * `outcome="rejected"`, by `reason` label.
 */
export function parseRejections(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("entra_gateway_requests_total{")) continue;
    const close = line.lastIndexOf("}");
    const labels = line.slice(line.indexOf("{") + 1, close);
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(" ")[0],
    );
    if (!/(?:^|,)outcome="rejected"/.test(labels) || !Number.isFinite(value)) continue;
    const reason = /(?:^|,)reason="([^"]*)"/.exec(labels)?.[1] ?? "";
    out.set(reason, (out.get(reason) ?? 0) + value);
  }
  return out;
}

/** Creates the controls for `stack`; `hooks` replace the defaults. */
export async function createStackControls(stack: StackFile, hooks: SimulationHooks = {}): Promise<StackControls> {
  const caPem = await readFile(stack.caCert, "utf8");
  const http = createHttpClient({ ca: caPem });
  const entra = stack.entra.url;
  const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await http.send({
      method: "POST",
      url,
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    if (res.status < 200 || res.status >= 300) throw new Error(`POST ${url} answered ${res.status}: ${res.text}`);
    return jsonOf(res);
  };
  /** POST to the gateway's admin API; answers 2xx (or one of `tolerate`), throws otherwise. */
  const admin = async (path: string, tolerate: readonly number[] = []): Promise<HttpAnswer> => {
    const { adminUrl, adminKey } = stack.gateway;
    if (!adminUrl || !adminKey) {
      throw new ControlUnavailableError(
        "this scenario needs the gateway's admin API, and stack.json has no gateway.adminUrl/adminKey",
      );
    }
    const url = `${adminUrl}${path}`;
    const res = await http.send({ method: "POST", url, headers: { authorization: `Bearer ${adminKey}` } });
    if ((res.status < 200 || res.status >= 300) && !tolerate.includes(res.status)) {
      throw new Error(`POST ${url} answered ${res.status}: ${res.text.slice(0, 300)}`);
    }
    return res;
  };

  // The MP's audit answers only the gateway's mTLS identity: its client certificate sits next to the CA.
  let mpAudit = hooks.mpAudit;
  let auditHttp: HttpClient | undefined;
  if (!mpAudit) {
    const tlsDir = dirname(stack.caCert);
    const material = await Promise.all([
      readFile(join(tlsDir, "gateway-client.crt"), "utf8"),
      readFile(join(tlsDir, "gateway-client.key"), "utf8"),
    ]).catch(() => undefined);
    if (material) {
      const client = createHttpClient({ ca: caPem, cert: material[0], key: material[1], connections: 2 });
      auditHttp = client;
      const page = async (since: number) => {
        const res = await client.send({ method: "GET", url: `${stack.mp.url}/_mp/audit?since=${since}&limit=1000` });
        if (res.status !== 200) throw new Error(`GET /_mp/audit answered ${res.status}: ${res.text.slice(0, 200)}`);
        const body = jsonOf(res) as { counts?: { requests?: number }; entries?: AuditEntryLike[] } | undefined;
        return { entries: body?.entries ?? [], requests: body?.counts?.requests ?? 0 };
      };
      mpAudit = {
        async cursor() {
          // `counts.requests` never wraps and equals the last sequence number.
          return (await page(0)).requests;
        },
        async entriesSince(seq) {
          const all: AuditEntryLike[] = [];
          let since = seq;
          for (;;) {
            const { entries } = await page(since);
            all.push(...entries);
            if (entries.length < 1000) return all;
            since = entries[entries.length - 1]!.seq;
          }
        },
      };
    }
  }

  return {
    http,
    caPem,
    async rotateKey(tenantId) {
      const body = await post(`${entra}/_sim/keys/rotate`, { tenantId });
      const kid = stringProperty(body, "kid");
      const retiring = stringProperty(body, "retiring");
      if (kid === undefined || retiring === undefined) throw new Error("/_sim/keys/rotate: unexpected answer");
      return { kid, retiring };
    },
    async revokeKey(tenantId, kid) {
      await post(`${entra}/_sim/keys/revoke`, { tenantId, kid });
    },
    async currentKid(tenantId) {
      const res = await http.send({ method: "GET", url: `${entra}/_sim/keys/${tenantId}` });
      const kid = stringProperty(jsonOf(res), "current");
      if (kid === undefined) throw new Error(`GET /_sim/keys/${tenantId} answered ${res.status}`);
      return kid;
    },
    async setOutage(enabled, targets = ["keys"]) {
      await post(`${entra}/_sim/outage`, enabled ? { enabled, mode: "503", targets } : { enabled });
    },
    async setTenantEnabled(tenantId, enabled) {
      if (hooks.setTenantEnabled) return hooks.setTenantEnabled(tenantId, enabled);
      await admin(`/tenants/${tenantId}/${enabled ? "enable" : "disable"}`);
    },
    async refreshGatewayKeys() {
      if (hooks.refreshGatewayKeys) return hooks.refreshGatewayKeys();
      // The answer lists every key set; one that is not fresh or carries an error was not fetched (the gateway
      // keeps its last good keys). 500: a worker could not run the refresh at all.
      const res = await admin("/jwks/refresh", [500]);
      if (res.status !== 200) return false;
      const sets = (jsonOf(res) as { keySets?: { state?: string; lastError?: string | null }[] } | undefined)?.keySets;
      if (sets === undefined) return undefined;
      return sets.every((k) => k.state === "fresh" && (k.lastError === undefined || k.lastError === null));
    },
    async keyFetches() {
      const res = await http.send({ method: "GET", url: `${entra}/_sim/stats` });
      const keys = (jsonOf(res) as { keys?: Record<string, number> } | undefined)?.keys;
      if (res.status !== 200 || keys === undefined) return undefined;
      return Object.values(keys).reduce((a, b) => a + b, 0);
    },
    async rejectionsByReason() {
      const url = stack.gateway.metricsUrl;
      if (!url) return undefined;
      const res = await http.send({ method: "GET", url: url.endsWith("/metrics") ? url : `${url}/metrics` });
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
      return parseRejections(res.text);
    },
    mpAudit,
    gatewayReason: hooks.gatewayReason,
    async close() {
      await http.close();
      await auditHttp?.close();
    },
  };
}
