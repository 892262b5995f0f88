/**
 * What do the servers under test share? One Entra emulator (in the bench process: it mints tokens ahead of
 * time and serves the JWKS every server validates against), one management point simulator (its own
 * process, client certificates `off` so the direct baseline and every peer reach it alike), the TLS
 * material of `.state/bench/`, and the gateway configurations written from the emulator's directory.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { stringify as toYaml } from "yaml";
import { CLOUDS, type CloudName, issuerFor } from "../entra-simulator/clouds.js";
import { type EntraSimulator, startEntraSimulator } from "../entra-simulator/server.js";
import { ensureTlsMaterial, type TlsMaterial } from "../lib/pki.js";
import { TOKEN_LIFETIME_SEC } from "./tokens.js";

/** One seeded tenant as the bench sees it. */
export interface BenchTenant {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly cloud: CloudName;
  readonly serverAppId: string;
  readonly appIdUri: string;
  readonly serverSecret: string;
  readonly serverDisplayName: string;
  readonly clientAppId: string;
  readonly users: readonly string[];
  readonly deviceIds: readonly string[];
  /** v1 issuer exactly as the emulator issues it. */
  readonly issuerV1: string;
  readonly issuerV2: string;
}

/** The shared part of a bench run. */
export interface BenchStack {
  readonly stateDir: string;
  readonly tls: TlsMaterial;
  readonly tlsDir: string;
  readonly caFile: string;
  readonly entra: EntraSimulator;
  readonly tenants: readonly BenchTenant[];
  /** The tenant of the `warm`/`cold` workloads and of the peers (the first public-cloud tenant with users). */
  readonly benchTenant: BenchTenant;
  /** JWKS URL (v1 keys) of the bench tenant at the emulator. */
  readonly benchJwksUri: string;
  stop(): Promise<void>;
}

/** Starts the emulator with persistent keys under `stateDir` (so tokens minted earlier stay valid). */
export async function startBenchStack(stateDir: string): Promise<BenchStack> {
  const dir = resolve(stateDir);
  const tls = await ensureTlsMaterial(dir);
  const entra = await startEntraSimulator({
    tls: tls.server,
    host: "127.0.0.1",
    port: 0,
    signingKeysFile: join(dir, "entra", "signing-keys.json"),
  });
  const tenants: BenchTenant[] = entra.directory.tenants.map((t) => {
    const server = entra.directory.findApp(t, t.serverAppId)!;
    const cloud = CLOUDS[t.cloud];
    return {
      id: t.id,
      name: t.name,
      displayName: t.displayName,
      cloud: t.cloud,
      serverAppId: server.appId,
      appIdUri: server.identifierUris[0]!,
      serverSecret: server.passwordCredentials[0]!.secretText,
      serverDisplayName: server.displayName,
      clientAppId: t.clientAppId,
      users: t.users.map((u) => u.userPrincipalName),
      deviceIds: t.devices.map((d) => d.deviceId),
      issuerV1: issuerFor(cloud.v1Issuer, t.id),
      issuerV2: issuerFor(cloud.v2Issuer, t.id),
    };
  });
  const benchTenant = tenants.find((t) => t.cloud === "AzurePublicCloud" && t.users.length > 0);
  if (!benchTenant) throw new Error("the emulator's seed has no public-cloud tenant with users");
  const tlsDir = join(dir, "tls");
  return {
    stateDir: dir,
    tls,
    tlsDir,
    caFile: join(tlsDir, "ca.crt"),
    entra,
    tenants,
    benchTenant,
    benchJwksUri: `${entra.url}/${benchTenant.id}/discovery/keys`,
    stop: () => entra.stop(),
  };
}

/** Options of {@link writeGatewayConfig}. */
export interface GatewayConfigOptions {
  readonly file: string;
  readonly mpUrl: string;
  /** `false`: every path `passthrough` (the `proxy-noauth` baseline: same process, pool and upstream). */
  readonly auth: boolean;
  /** Serve the client leg over TLS (default plain HTTP, like every peer). */
  readonly listenTls: boolean;
  /** Verified-token cache size (the RSS measurement raises it above 100 000). */
  readonly verifiedCacheEntries?: number;
  readonly verifiedCacheBytes?: number;
  /** Fixed ports (the gateway CLI is started with them, then probed); default 0 (any). */
  readonly ports?: { readonly listen: number; readonly admin: number; readonly metrics: number };
}

/**
 * Writes a gateway configuration for the bench: every seeded tenant onboarded and enabled, no
 * Administration-Service-only tenant (so every workload token is valid on every path), the bench paths
 * requiring an Entra user or device token, the MP over HTTPS with the pinned CA and the client certificate.
 */
export async function writeGatewayConfig(stack: BenchStack, options: GatewayConfigOptions): Promise<string> {
  const secretsDir = join(stack.stateDir, "secrets");
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  const services = [];
  for (const t of stack.tenants) {
    const secretFile = join(secretsDir, `${t.id}.secret`);
    await writeFile(secretFile, t.serverSecret, { mode: 0o600 });
    await chmod(secretFile, 0o600);
    services.push({
      name: `${t.displayName.split(" ")[0]} cloud management`,
      type: "cloudManagement",
      environment: t.cloud,
      adminServiceManagement: false,
      disableAuthentication: false,
      tenant: { id: t.id, name: t.name },
      webApp: {
        name: t.serverDisplayName,
        clientId: t.serverAppId,
        appIdUri: t.appIdUri,
        secret: { fromFile: secretFile },
        origin: "created",
      },
      nativeApp: { name: "ConfigMgrClient", clientId: t.clientAppId },
    });
  }
  const authorityHost = new URL(stack.entra.url).host;
  const environment = { authorityHost, caFile: stack.caFile };
  // The small-body endpoint (`/SMS_MP/.sms_aut?MPLIST`) is anonymous in CM's defaults; the bench makes it
  // require a token so that the auth path and the baseline proxy exactly the same request and answer.
  const routes = options.auth
    ? [
        { prefix: "/SMS_MP/", requirement: "entra", forwardAuthorization: false },
        { prefix: "/CCM_Client/", requirement: "entra", forwardAuthorization: false },
      ]
    : [{ prefix: "/", requirement: "passthrough", forwardAuthorization: false }];
  const raw = {
    azureServices: services,
    environments: { AzurePublicCloud: environment, AzureUSGovernmentCloud: environment },
    routes,
    auth: {
      jwks: { diskCacheDir: join(stack.stateDir, "jwks") },
      // The bench's tokens live a week so a minted pool is reused between runs; the lifetime bound (28 h by
      // default) is raised to admit them — it is still checked on every token, at the same cost.
      maxTokenLifetimeSec: TOKEN_LIFETIME_SEC + 3_600,
      ...(options.verifiedCacheEntries
        ? {
            verifiedCache: {
              maxEntries: options.verifiedCacheEntries,
              maxBytes: options.verifiedCacheBytes ?? 1_073_741_824,
            },
          }
        : {}),
    },
    upstream: options.mpUrl.startsWith("https:")
      ? {
          url: options.mpUrl,
          caFile: stack.caFile,
          clientCertFile: join(stack.tlsDir, "gateway-client.crt"),
          clientKeyFile: join(stack.tlsDir, "gateway-client.key"),
        }
      : { url: options.mpUrl },
    listen: {
      host: "127.0.0.1",
      port: options.ports?.listen ?? 0,
      ...(options.listenTls
        ? { certFile: join(stack.tlsDir, "server.crt"), keyFile: join(stack.tlsDir, "server.key") }
        : {}),
    },
    admin: { host: "127.0.0.1", port: options.ports?.admin ?? 0 },
    metrics: { host: "127.0.0.1", port: options.ports?.metrics ?? 0 },
  };
  await writeFile(options.file, `# Generated by the bench (bench/stack.ts).\n${toYaml(raw)}`, { mode: 0o600 });
  return options.file;
}
