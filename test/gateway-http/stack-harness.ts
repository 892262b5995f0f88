/**
 * One stack per test file: emulator, MP simulator and gateway on 127.0.0.1 in a temp state directory (seeded
 * with the run's TLS material and emulator keys), plus helpers to call the gateway over real TLS and to get
 * real tokens from the emulator's grants.
 */

import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { importJWK, SignJWT } from "jose";
import { pino } from "pino";
import { Agent, request } from "undici";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type Stack, type StackOptions, startStack } from "../../stack/start-stack.js";
import { seedStackState } from "../harness-pool.js";

export interface StackHarness {
  readonly stack: Stack;
  readonly dispatcher: Agent;
  /** Every log line the stack wrote (JSON text). */
  readonly logLines: string[];
  /** Every bearer token sent through `gw()`; `close()` fails if any appears in a log line. */
  readonly tokensSent: Set<string>;
  tenant(prefix: string): DirectoryTenant;
  gw(
    method: string,
    path: string,
    init?: { token?: string; headers?: Record<string, string | string[]>; body?: string | Buffer | null },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any; text: string }>;
  entra(method: string, path: string, json?: unknown): Promise<any>;
  userToken(t: DirectoryTenant, index?: number, extra?: Record<string, string>): Promise<string>;
  deviceToken(t: DirectoryTenant, index?: number, withClient?: boolean): Promise<string>;
  deviceRequest(t: DirectoryTenant, index?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startStackHarness(options: StackOptions = {}): Promise<StackHarness> {
  const stateDir = await mkdtemp(join(tmpdir(), "entra-stack-"));
  const logLines: string[] = [];
  const tokensSent = new Set<string>();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line) logLines.push(line);
      cb();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  // The run's TLS material and emulator keys, copied into this stack's state (harness-pool.ts).
  await seedStackState(options.stateDir ?? stateDir, {
    customSeed: options.seed !== undefined,
    ...(options.entra?.keysPerCloud === undefined ? {} : { keysPerCloud: options.entra.keysPerCloud }),
  });
  const stack = await startStack({ stateDir, logger, ...options });
  const dispatcher = new Agent({ connect: { ca: stack.tls.ca.cert } });
  const json = async (res: Awaited<ReturnType<typeof request>>) => {
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.statusCode, headers: res.headers, body, text };
  };
  const entra = async (method: string, path: string, payload?: unknown) => {
    const init =
      payload === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(payload) };
    return (await json(await request(`${stack.entra.url}${path}`, { method: method as "GET", dispatcher, ...init })))
      .body;
  };
  const tokenForm = async (t: DirectoryTenant, form: Record<string, string>) => {
    const res = await request(`${stack.entra.url}/${t.id}/oauth2/token`, {
      method: "POST",
      dispatcher,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    const out = await json(res);
    if (out.status !== 200) throw new Error(`token request failed: ${out.text}`);
    return (out.body as { access_token: string }).access_token;
  };
  const server = (t: DirectoryTenant) => stack.entra.directory.findApp(t, t.serverAppId)!;
  const deviceRequest = async (t: DirectoryTenant, index = 0) => {
    const device = t.devices[index]!;
    return new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: device.deviceId })
      .setIssuer(device.deviceId)
      .setSubject(device.deviceId)
      .setAudience(
        `https://${t.cloud === "AzureUSGovernmentCloud" ? "login.microsoftonline.us" : "login.microsoftonline.com"}/${t.id}`,
      )
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(await importJWK(device.privateKeyJwk, "ES256"));
  };
  return {
    stack,
    dispatcher,
    logLines,
    tokensSent,
    tenant: (prefix) => stack.entra.directory.tenants.find((t) => t.name.startsWith(prefix))!,
    async gw(method, path, init = {}) {
      const headers: Record<string, string | string[]> = { ...init.headers };
      if (init.token !== undefined) {
        headers.authorization = `Bearer ${init.token}`;
        tokensSent.add(init.token);
      }
      const res = await request(`${stack.gateway.url}${path}`, {
        method: method as "GET",
        dispatcher,
        headers,
        body: init.body ?? null,
      });
      return json(res);
    },
    entra,
    userToken: (t, index = 1, extra = {}) => {
      const user = t.users[index]!;
      return tokenForm(t, {
        grant_type: "password",
        client_id: t.clientAppId,
        resource: server(t).identifierUris[0]!,
        username: user.userPrincipalName,
        password: user.password,
        ...extra,
      });
    },
    deviceToken: async (t, index = 0, withClient = false) =>
      tokenForm(t, {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        request: await deviceRequest(t, index),
        resource: server(t).identifierUris[0]!,
        ...(withClient ? { client_id: t.clientAppId } : {}),
      }),
    deviceRequest,
    async close() {
      await stack.stop();
      // docs/architecture.md § Observability: the token itself is never logged. Any signature segment in a log line is a leak.
      for (const token of tokensSent) {
        const signature = token.split(".")[2];
        const needle = signature && signature.length >= 16 ? signature : token;
        const leak = logLines.find((line) => line.includes(needle));
        if (leak) throw new Error(`a token appeared in a log line: ${leak.slice(0, 200)}`);
      }
      await dispatcher.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
