/**
 * Starts an Entra emulator on 127.0.0.1 with the run's TLS material (and, for the default seed, a private copy
 * of the run's signing keys: harness-pool.ts), and gives tests an undici dispatcher that trusts its CA.
 */
import { Agent, request } from "undici";
import { type EntraSimulator, type EntraSimulatorOptions, startEntraSimulator } from "../../entra-simulator/server.js";
import type { TlsMaterial } from "../../stack/tls.js";
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
      ? await pooledEmulatorKeys(options.keysPerTenant ?? 2)
      : undefined;
  const sim = await startEntraSimulator({
    tls: tls.server,
    keysPerTenant: 2,
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
