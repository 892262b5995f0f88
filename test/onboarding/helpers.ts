/**
 * Helpers for the `services` CLI tests: an emulator over HTTPS, a configuration folder pointing at it, and a
 * runner that captures output, feeds stdin and approves administrator device codes as a browser would.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { ConfidentialClientApplication } from "@azure/msal-node";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type Authenticator, createAuthenticator } from "../../gateway/auth/authenticate.js";
import { createHttpJwksFetcher } from "../../gateway/auth/keys/http-fetcher.js";
import { createJwksStore } from "../../gateway/auth/keys/jwks-store.js";
import { readConfig } from "../../gateway/config/read.js";
import { runServicesCommand, type ServicesIo } from "../../gateway/onboarding/services.js";
import { createMsalNetworkClient } from "../../lib/msal-network.js";
import { type EmulatorHarness, startEmulator } from "../entra-simulator/harness.js";

export interface CliWorld {
  readonly h: EmulatorHarness;
  readonly dir: string;
  readonly configPath: string;
  readonly net: ReturnType<typeof createMsalNetworkClient>;
  /** A default-seed tenant by its initial domain. */
  tenant(name: string): DirectoryTenant;
  /** The admin of a tenant (UPN). */
  adminOf(tenant: DirectoryTenant): string;
  readConfig(): Promise<string>;
  /** Replaces `azureServices: [] …` of the base configuration with this YAML block. */
  writeServices(yaml: string): Promise<void>;
  close(): Promise<void>;
}

/** The configuration every test starts from (comments included, to prove they survive edits). */
export function baseConfig(authorityHost: string): string {
  return `# entra-gateway test configuration
azureServices: [] # onboarded with the services CLI
environments:
  AzurePublicCloud:
    authorityHost: ${authorityHost} # the local Entra emulator
    caFile: ca.pem
  AzureUSGovernmentCloud:
    authorityHost: ${authorityHost}
    caFile: ca.pem
upstream:
  url: https://127.0.0.1:9 # the MP, not contacted here
`;
}

/** Starts an emulator and a configuration folder pointing at it. */
export async function createCliWorld(configText?: (authorityHost: string) => string): Promise<CliWorld> {
  const h = await startEmulator({ deviceCodeIntervalSec: 1 });
  const dir = await mkdtemp(join(tmpdir(), "services-cli-"));
  await writeFile(join(dir, "ca.pem"), h.tls.ca.cert);
  const configPath = join(dir, "gateway.yaml");
  const host = new URL(h.sim.url).host;
  await writeFile(configPath, (configText ?? baseConfig)(host), { mode: 0o640 });
  const net = createMsalNetworkClient(h.tls.ca.cert);
  return {
    h,
    dir,
    configPath,
    net,
    tenant(name) {
      const t = h.sim.directory.tenants.find((x) => x.name === name);
      if (!t) throw new Error(`no tenant ${name}`);
      return t;
    },
    adminOf(t) {
      const admin = t.users.find((u) => u.isAdmin);
      if (!admin) throw new Error(`no admin in ${t.name}`);
      return admin.userPrincipalName;
    },
    readConfig: () => readFile(configPath, "utf8"),
    async writeServices(yaml) {
      const text = (configText ?? baseConfig)(host).replace(
        "azureServices: [] # onboarded with the services CLI\n",
        yaml,
      );
      await writeFile(configPath, text);
    },
    async close() {
      await net.close();
      await h.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Device codes the run printed (and that were approved). */
  readonly userCodes: readonly string[];
}

export interface RunOptions {
  /** Lines written to stdin (then it ends). */
  readonly input?: readonly string[];
  /** Approve every administrator device code as this user. */
  readonly approveAs?: string;
  readonly env?: Record<string, string>;
  readonly now?: () => number;
  readonly applyToRunningGateway?: ServicesIo["applyToRunningGateway"];
}

/** Runs `services …` with captured streams; `--config` and `--graph-url` are added. */
export async function runCli(world: CliWorld, argv: string[], options: RunOptions = {}): Promise<CliRun> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  const userCodes: string[] = [];
  const approvals: Promise<unknown>[] = [];
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
    for (const m of out.matchAll(/enter the code ([A-Z0-9]+)/g)) {
      const code = m[1]!;
      if (userCodes.includes(code) || options.approveAs === undefined) continue;
      userCodes.push(code);
      approvals.push(
        world.h.call("POST", "/_sim/devicecode/approve", { json: { userCode: code, upn: options.approveAs } }),
      );
    }
  });
  stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  if (options.input !== undefined) {
    stdin.end(options.input.map((l) => `${l}\n`).join(""));
  } else {
    stdin.end();
  }
  const graph = ["add", "renew-secret", "update-app-settings", "verify"].includes(argv[0] ?? "")
    ? ["--graph-url", world.h.sim.url]
    : [];
  const code = await runServicesCommand([...argv, "--config", world.configPath, ...graph], {
    stdin,
    stdout,
    stderr,
    env: { ...options.env },
    cwd: world.dir,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.applyToRunningGateway === undefined ? {} : { applyToRunningGateway: options.applyToRunningGateway }),
  });
  await Promise.all(approvals);
  return { code, stdout: out, stderr: err, userCodes };
}

/** Client credentials with a secret against the emulator: the token's claims, or the AADSTS error message. */
export async function clientCredentials(
  world: CliWorld,
  tenantId: string,
  clientId: string,
  secret: string,
  scope = "https://graph.microsoft.com/.default",
): Promise<{ ok: true; claims: Record<string, unknown>; token: string } | { ok: false; message: string }> {
  const cca = new ConfidentialClientApplication({
    auth: {
      clientId,
      clientSecret: secret,
      authority: world.h.sim.authority(tenantId),
      knownAuthorities: [new URL(world.h.sim.url).host],
    },
    system: { networkClient: world.net },
  });
  try {
    const result = await cca.acquireTokenByClientCredential({ scopes: [scope], skipCache: true });
    return { ok: true, claims: decodeClaims(result!.accessToken), token: result!.accessToken };
  } catch (e) {
    return { ok: false, message: String((e as { errorMessage?: string }).errorMessage ?? e) };
  }
}

export function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

/** The seeded server app's secret of a tenant (simulation material). */
export function seededServerSecret(t: DirectoryTenant): string {
  const server = t.apps.find((a) => a.appId === t.serverAppId)!;
  return server.passwordCredentials[0]!.secretText;
}

/** The gateway's pure auth pipeline over the configuration file, fetching keys from the emulator over HTTPS. */
export async function createPipeline(
  configPath: string,
  env: Record<string, string> = {},
): Promise<{ auth: Authenticator; close(): Promise<void> }> {
  const loaded = await readConfig(configPath, { env });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  const fetcher = createHttpJwksFetcher(loaded.config.environments);
  const keys = createJwksStore({ fetcher: fetcher.fetch, settings: loaded.config.auth.jwks });
  const auth = createAuthenticator({ config: loaded.config, keys });
  await keys.whenSettled();
  return {
    auth,
    async close() {
      keys.close();
      await fetcher.close();
    },
  };
}

/** A cloud management service of a seeded tenant, imported, its secret inline (YAML block for `azureServices`). */
export function seededServiceYaml(name: string, t: DirectoryTenant, extra = ""): string {
  const server = t.apps.find((a) => a.appId === t.serverAppId)!;
  return `  - name: ${name} # seeded tenant
    type: cloudManagement
    tenant: { id: ${t.id}, name: ${t.name} }
    webApp:
      name: ConfigMgrService
      clientId: ${t.serverAppId}
      appIdUri: ${server.identifierUris[0]}
      secret: { value: ${seededServerSecret(t)} }
      secretExpiry: 2030-01-01
    nativeApp: { name: ConfigMgrClient, clientId: ${t.clientAppId} }
    disableAuthentication: false # CM 2010+
${extra}`;
}
