/**
 * `startStack()`: the whole local stack on loopback — Entra ID emulator, management point simulator and the
 * gateway in front of it — with TLS material, signing keys and the gateway's configuration under one state
 * directory, and `stack.json` describing it (docs/architecture.md § Interfaces). Shared by `npm start`, the tests and the bench.
 */
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { pino } from "pino";
import { stringify as toYaml } from "yaml";
import { CLOUDS, type CloudName } from "../entra-simulator/clouds.js";
import { LEGACY_APP_ID_URI, type SeedInput } from "../entra-simulator/seed.js";
import { type EntraSimulator, type EntraSimulatorOptions, startEntraSimulator } from "../entra-simulator/server.js";
import type { RunningGateway, StartGatewayOptions } from "../gateway/server.js";
import { type GatewayService, startGatewayService } from "../gateway/service.js";
import { type MpSimulator, type MpSimulatorOptions, startMpSimulator } from "../mp-simulator/server.js";
import { ensureTlsMaterial, type TlsMaterial } from "./tls.js";

/** The `stack.json` document (docs/architecture.md § Interfaces). */
export interface StackDescription {
  readonly gateway: {
    readonly url: string;
    readonly configFile: string;
    /** Admin API base URL (docs/architecture.md § Interfaces), e.g. `POST {adminUrl}/tenants/{id}/disable`. */
    readonly adminUrl: string;
    /** `Authorization: Bearer {adminKey}` for the admin API. */
    readonly adminKey: string;
    /** Prometheus text, `GET {metricsUrl}`. */
    readonly metricsUrl: string;
  };
  readonly mp: { readonly url: string };
  readonly entra: { readonly url: string; readonly signingKeys: string };
  readonly caCert: string;
  readonly tenants: readonly StackTenant[];
}

/** One tenant of `stack.json`. */
export interface StackTenant {
  readonly id: string;
  readonly name: string;
  readonly cloud: CloudName;
  readonly disabled: boolean;
  readonly adminServiceManagement: boolean;
  readonly serverApp: { readonly clientId: string; readonly appIdUri: string; readonly secret: string };
  readonly clientApp: { readonly clientId: string };
  readonly users: readonly { readonly upn: string; readonly password: string }[];
  readonly devices: readonly { readonly deviceId: string }[];
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Where TLS material, keys, config and `stack.json` go; default `.state`. */
  readonly stateDir?: string;
  readonly seed?: SeedInput;
  readonly entra?: Partial<Omit<EntraSimulatorOptions, "tls">>;
  readonly mp?: Partial<Omit<MpSimulatorOptions, "tls">>;
  /** Extra gateway start options (clock, logger, ports). */
  readonly gateway?: Partial<Omit<StartGatewayOptions, "config">>;
  /** Edits the generated gateway configuration (plain object) before it is written and validated. */
  readonly editGatewayConfig?: (raw: Record<string, unknown>) => void;
  /** Tenants (by domain name prefix) whose Entra authentication starts disabled; default `northwind`. */
  readonly disabledTenants?: readonly string[];
  /** Tenants (by domain name prefix) with Administration Service Management on; default `fabrikam`. */
  readonly adminServiceTenants?: readonly string[];
  /** Run user discovery in the MP simulator; default true. */
  readonly discovery?: boolean;
  readonly logger?: Logger;
}

/** The running stack. */
export interface Stack {
  readonly stateDir: string;
  readonly tls: TlsMaterial;
  readonly entra: EntraSimulator;
  readonly mp: MpSimulator;
  readonly gateway: RunningGateway;
  /** The gateway's operations: admin API, metrics, hot reload. */
  readonly service: GatewayService;
  readonly description: StackDescription;
  /** Path of the generated gateway configuration. */
  readonly gatewayConfigFile: string;
  stop(): Promise<void>;
}

async function writePrivate(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => name.toLowerCase().startsWith(p.toLowerCase()));
}

/** Starts emulator, MP simulator and gateway; stops whatever started if a later part fails. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const stateDir = resolve(options.stateDir ?? ".state");
  const logger = options.logger ?? pino({ level: "silent" });
  const tls = await ensureTlsMaterial(stateDir);
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
  };
  try {
    const entra = await startEntraSimulator({
      tls: tls.server,
      signingKeysFile: join(stateDir, "entra", "signing-keys.json"),
      ...(options.seed ? { seed: options.seed } : {}),
      ...options.entra,
    });
    started.push(entra);
    const disabledPrefixes = options.disabledTenants ?? ["northwind"];
    const adminPrefixes = options.adminServiceTenants ?? ["fabrikam"];
    const tenants: StackTenant[] = entra.directory.tenants.map((t) => {
      const server = entra.directory.findApp(t, t.serverAppId)!;
      return {
        id: t.id,
        name: t.name,
        cloud: t.cloud,
        disabled: startsWithAny(t.name, disabledPrefixes),
        adminServiceManagement: startsWithAny(t.name, adminPrefixes),
        serverApp: {
          clientId: server.appId,
          appIdUri: server.identifierUris[0]!,
          secret: server.passwordCredentials[0]!.secretText,
        },
        clientApp: { clientId: t.clientAppId },
        users: t.users.map((u) => ({ upn: u.userPrincipalName, password: u.password })),
        devices: t.devices.map((d) => ({ deviceId: d.deviceId })),
      };
    });

    const mp = await startMpSimulator({
      tls: { server: tls.server, ca: tls.ca },
      logger: logger.child({ component: "mp-simulator" }),
      ...(options.discovery === false
        ? {}
        : {
            discovery: {
              authorityUrl: entra.url,
              graphUrl: entra.url,
              caPem: tls.ca.cert,
              tenants: tenants
                .filter((t) => t.users.length > 0)
                .map((t) => ({
                  tenantId: t.id,
                  clientId: t.serverApp.clientId,
                  clientSecret: t.serverApp.secret,
                  cloud: t.cloud,
                  name: t.name,
                })),
            },
          }),
      ...options.mp,
    });
    started.push(mp);

    // The gateway's configuration, written as an operator would and loaded through the same path as `serve`.
    const tlsDir = join(stateDir, "tls");
    const secretsDir = join(stateDir, "secrets");
    await mkdir(secretsDir, { recursive: true, mode: 0o700 });
    for (const t of tenants) await writePrivate(join(secretsDir, `${t.id}.secret`), t.serverApp.secret);
    const authorityHost = new URL(entra.url).host;
    const environment = { authorityHost, caFile: join(tlsDir, "ca.crt") };
    const raw: Record<string, unknown> = {
      azureServices: tenants.map((t) => {
        const dir = entra.directory.findTenant(t.id)!;
        const server = entra.directory.findApp(dir, dir.serverAppId)!;
        return {
          name: `${dir.displayName.split(" ")[0]} cloud management`,
          description: `${dir.displayName} (${CLOUDS[dir.cloud].name})`,
          type: "cloudManagement",
          environment: t.cloud,
          adminServiceManagement: t.adminServiceManagement,
          disableAuthentication: t.disabled,
          tenant: { id: t.id, name: t.name },
          webApp: {
            name: server.displayName,
            clientId: t.serverApp.clientId,
            appIdUri: t.serverApp.appIdUri,
            secret: { fromFile: join(secretsDir, `${t.id}.secret`) },
            secretExpiry: server.passwordCredentials[0]!.endDateTime,
            origin: t.serverApp.appIdUri === LEGACY_APP_ID_URI ? "imported" : "created",
          },
          nativeApp: { name: "ConfigMgrClient", clientId: t.clientApp.clientId },
        };
      }),
      environments: { AzurePublicCloud: environment, AzureUSGovernmentCloud: environment },
      auth: { jwks: { diskCacheDir: join(stateDir, "jwks") } },
      upstream: {
        url: mp.url,
        caFile: join(tlsDir, "ca.crt"),
        clientCertFile: join(tlsDir, "gateway-client.crt"),
        clientKeyFile: join(tlsDir, "gateway-client.key"),
      },
      listen: { host: "127.0.0.1", port: 0, certFile: join(tlsDir, "server.crt"), keyFile: join(tlsDir, "server.key") },
      admin: { host: "127.0.0.1", port: 0 },
      metrics: { host: "127.0.0.1", port: 0 },
    };
    options.editGatewayConfig?.(raw);
    const gatewayConfigFile = join(stateDir, "gateway.yaml");
    await writePrivate(gatewayConfigFile, `# Generated by startStack() for the local stack.\n${toYaml(raw)}`);
    // Loaded through the same path as `serve`: validated, watched, admin API and metrics on their listeners.
    const service = await startGatewayService({
      configPath: gatewayConfigFile,
      stateDir,
      logger: logger.child({ component: "gateway" }),
      host: "127.0.0.1",
      port: 0,
      ...options.gateway,
    });
    started.push(service);
    const gateway = service.gateway;

    const description: StackDescription = {
      gateway: {
        url: gateway.url,
        configFile: gatewayConfigFile,
        adminUrl: service.admin?.url ?? "",
        adminKey: service.adminKey,
        metricsUrl: service.metrics?.url ?? "",
      },
      mp: { url: mp.url },
      entra: { url: entra.url, signingKeys: join(stateDir, "entra", "signing-keys.json") },
      caCert: join(tlsDir, "ca.crt"),
      tenants,
    };
    await writePrivate(join(stateDir, "stack.json"), `${JSON.stringify(description, null, 2)}\n`);
    return { stateDir, tls, entra, mp, gateway, service, description, gatewayConfigFile, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
