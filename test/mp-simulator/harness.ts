/**
 * Starts the management point simulator for one test file over real HTTPS with real mTLS: the run's TLS
 * material (the Entra emulator's too, when discovery runs against it), and undici dispatchers that present
 * the gateway's client certificate, another certificate of the same CA, or none.
 */
import type { Readable } from "node:stream";
import { Agent, request } from "undici";
import { issueCertificate, type TlsMaterial } from "../../lib/pki.js";
import type { DiscoveryOptions, DiscoveryTenantOptions } from "../../mp-simulator/discovery.js";
import type { EntraIdentity } from "../../mp-simulator/identity.js";
import { type MpSimulator, type MpSimulatorOptions, startMpSimulator } from "../../mp-simulator/server.js";
import { type EmulatorHarness, startEmulator } from "../entra-simulator/harness.js";
import { poolTlsMaterial } from "../harness-pool.js";

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

export interface CallInit {
  headers?: Record<string, string>;
  json?: unknown;
  body?: string | Buffer | Readable;
  /** Default: the gateway's dispatcher. */
  dispatcher?: Agent;
  identity?: EntraIdentity;
}

export interface MpHarness {
  readonly mp: MpSimulator;
  readonly tls: TlsMaterial;
  readonly emulator: EmulatorHarness | undefined;
  /** Presents the gateway's client certificate (CN entra-gateway). */
  readonly gateway: Agent;
  /** Presents no client certificate. */
  readonly anonymous: Agent;
  call(method: string, path: string, init?: CallInit): Promise<CallResult>;
  close(): Promise<void>;
}

/** The x-entra-* headers the gateway would send for `identity`. */
export function identityHeaders(identity: EntraIdentity): Record<string, string> {
  return {
    "x-entra-tenant-id": identity.tenantId,
    "x-entra-token-kind": identity.kind,
    ...(identity.objectId ? { "x-entra-object-id": identity.objectId } : {}),
    ...(identity.deviceId ? { "x-entra-device-id": identity.deviceId } : {}),
    ...(identity.clientAppId ? { "x-entra-client-app-id": identity.clientAppId } : {}),
  };
}

/** A client dispatcher trusting the CA, presenting `cert` if given. */
export function clientAgent(tls: TlsMaterial, cert?: { cert: string; key: string }): Agent {
  return new Agent({ connect: { ca: tls.ca.cert, ...(cert ? { cert: cert.cert, key: cert.key } : {}) } });
}

/** A client certificate of the same CA with another subject. */
export async function otherClientCertificate(tls: TlsMaterial, commonName = "intruder") {
  return issueCertificate(tls.ca, { commonName, usage: "client" });
}

/** Options of {@link startMp}. */
export interface StartMpOptions {
  /** Run discovery against a fresh Entra emulator with these overrides. */
  readonly discovery?: Partial<Omit<DiscoveryOptions, "authorityUrl" | "graphUrl">> | true;
  readonly mp?: Partial<MpSimulatorOptions>;
  /** Rewrites the discovery tenants built from the emulator's directory (e.g. a wrong secret). */
  readonly mapTenants?: (tenants: DiscoveryTenantOptions[]) => DiscoveryTenantOptions[];
  /** Runs after the emulator started and before the MP starts (e.g. to switch on an outage). */
  readonly beforeStart?: (emulator: EmulatorHarness) => Promise<void>;
}

/** Starts an MP (and an emulator when discovery is wanted). */
export async function startMp(options: StartMpOptions = {}): Promise<MpHarness> {
  let emulator: EmulatorHarness | undefined;
  let tls: TlsMaterial;
  let discovery: MpSimulatorOptions["discovery"];
  if (options.discovery) {
    emulator = await startEmulator();
    tls = emulator.tls;
    const overrides = options.discovery === true ? {} : options.discovery;
    const seeded = emulator.sim.directory.tenants.map((t) => {
      const server = emulator!.sim.directory.findApp(t, t.serverAppId)!;
      return {
        tenantId: t.id,
        clientId: server.appId,
        clientSecret: server.passwordCredentials[0]!.secretText,
        cloud: t.cloud,
        name: t.name,
      };
    });
    const tenants = options.mapTenants ? options.mapTenants(seeded) : seeded;
    await options.beforeStart?.(emulator);
    discovery = {
      tenants,
      authorityUrl: emulator.sim.url,
      graphUrl: emulator.sim.url,
      caPem: tls.ca.cert,
      retry: { initialDelayMs: 50, maxDelayMs: 1000 },
      ...overrides,
    };
  } else {
    tls = await poolTlsMaterial();
  }
  const mp = await startMpSimulator({ tls, ...(discovery ? { discovery } : {}), ...options.mp });
  const gateway = clientAgent(tls, tls.gatewayClient);
  const anonymous = clientAgent(tls);
  return {
    mp,
    tls,
    emulator,
    gateway,
    anonymous,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = {
        ...(init.identity ? identityHeaders(init.identity) : {}),
        ...init.headers,
      };
      let body = init.body ?? null;
      if (init.json !== undefined) {
        headers["content-type"] ??= "application/json";
        body = JSON.stringify(init.json);
      }
      const auditedBefore = mp.audit.counts().requests;
      const res = await request(`${mp.url}${path}`, {
        method: method as "GET",
        headers,
        body,
        dispatcher: init.dispatcher ?? gateway,
      });
      const text = await res.body.text();
      // The MP audits a request once its response has gone out, which can be after the client has read it:
      // wait for the entry, so tests read the audit after the request they made (successful reads of the
      // internal /_mp/ endpoints are not audited).
      if (!(path.toLowerCase().startsWith("/_mp/") && res.statusCode < 400)) {
        await waitFor(() => mp.audit.counts().requests > auditedBefore);
      }
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.statusCode, headers: res.headers, text, body: parsed };
    },
    async close() {
      await mp.stop();
      await Promise.all([gateway.close(), anonymous.close()]);
      await emulator?.close();
    },
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  stepMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A random GUID. */
export function guid(): string {
  return crypto.randomUUID();
}
