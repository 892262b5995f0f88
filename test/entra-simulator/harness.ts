/**
 * Starts an Entra emulator on 127.0.0.1 with the run's TLS material (and, for the default seed, a private copy
 * of the run's signing keys: harness-pool.ts), and gives tests an undici dispatcher that trusts its CA.
 */
import { Agent, request } from "undici";
import { ADMIN_TOOL_CLIENT_ID } from "../../entra-simulator/grants.js";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type EntraSimulator, type EntraSimulatorOptions, startEntraSimulator } from "../../entra-simulator/server.js";
import type { TlsMaterial } from "../../lib/pki.js";
import { pooledEmulatorKeys, poolTlsMaterial } from "../harness-pool.js";

export interface EmulatorHarness {
  readonly sim: EntraSimulator;
  readonly tls: TlsMaterial;
  readonly dispatcher: Agent;
  /** JSON request to the emulator; returns status, headers and parsed body. */
  call(
    method: string,
    path: string,
    init?: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string>; body?: string },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>;
  close(): Promise<void>;
}

/** Starts an emulator (TLS material and signing keys are made once per run). */
export async function startEmulator(options: Partial<EntraSimulatorOptions> = {}): Promise<EmulatorHarness> {
  const tls = await poolTlsMaterial();
  // The pooled keys belong to the default seed; a test that names its own seed or key file gets fresh keys.
  const keys =
    options.seed === undefined && options.signingKeysFile === undefined
      ? await pooledEmulatorKeys(options.keysPerCloud ?? 2)
      : undefined;
  const sim = await startEntraSimulator({
    tls: tls.server,
    keysPerCloud: 2,
    ...(keys === undefined ? {} : { signingKeysFile: keys.file }),
    ...options,
  }).catch(async (err: unknown) => {
    await keys?.cleanup();
    throw err;
  });
  const dispatcher = new Agent({ connect: { ca: tls.ca.cert } });
  return {
    sim,
    tls,
    dispatcher,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      let body: string | null = init.body ?? null;
      if (init.form) {
        headers["content-type"] = "application/x-www-form-urlencoded";
        body = new URLSearchParams(init.form).toString();
      } else if (init.json !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(init.json);
      }
      const res = await request(`${sim.url}${path}`, { method: method as "GET", headers, body, dispatcher });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.statusCode, headers: res.headers, body: parsed };
    },
    async close() {
      await sim.stop();
      await dispatcher.close();
      await keys?.cleanup();
    },
  };
}

/**
 * `Authorization` headers of a Graph token for the tenant's administrator, signed in with the first-party
 * admin tool (the only way to get `Application.ReadWrite.All`).
 */
export async function adminGraphAuth(h: EmulatorHarness, tenant: DirectoryTenant): Promise<{ authorization: string }> {
  const admin = tenant.users.find((u) => u.isAdmin)!;
  const signIn = await h.call("POST", `/${tenant.id}/oauth2/v2.0/token`, {
    form: {
      grant_type: "password",
      client_id: ADMIN_TOOL_CLIENT_ID,
      scope: "https://graph.microsoft.com/.default",
      username: admin.userPrincipalName,
      password: admin.password,
    },
  });
  if (signIn.status !== 200) throw new Error(`admin sign-in failed: ${JSON.stringify(signIn.body)}`);
  return { authorization: `Bearer ${signIn.body.access_token}` };
}

/** `Authorization` headers of the server app's own Graph token (client credentials, `Directory.Read.All`). */
export async function appGraphAuth(h: EmulatorHarness, tenant: DirectoryTenant): Promise<{ authorization: string }> {
  const server = h.sim.directory.findApp(tenant, tenant.serverAppId)!;
  const res = await h.call("POST", `/${tenant.id}/oauth2/v2.0/token`, {
    form: {
      grant_type: "client_credentials",
      client_id: server.appId,
      client_secret: server.passwordCredentials[0]!.secretText,
      scope: "https://graph.microsoft.com/.default",
    },
  });
  if (res.status !== 200) throw new Error(`client credentials failed: ${JSON.stringify(res.body)}`);
  return { authorization: `Bearer ${res.body.access_token}` };
}
