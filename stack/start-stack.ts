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
import type { RunningGateway, StartGatewayOptions } from "../gateway/http/server.js";
import type { GatewayService } from "../gateway/runtime/single-process.js";
import { type GatewayServiceOptions, startGatewayService } from "../gateway/runtime/start.js";
import { ensureTlsMaterial, type TlsMaterial } from "../lib/pki.js";
import { type MpSimulator, type MpSimulatorOptions, startMpSimulator } from "../mp-simulator/server.js";

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
  /**
   * `url`: the first management point (also the gateway's default upstream). `mps`: the CMG MP/site IDs the
   * gateway routes (`/CCM_Proxy_ServerAuth/{id}/…`), each with its MP's URL.
   */
  readonly mp: { readonly url: string; readonly mps: readonly StackManagementPoint[] };
  readonly entra: { readonly url: string; readonly signingKeys: string };
  readonly caCert: string;
  readonly tenants: readonly StackTenant[];
}

/** One CMG MP/site ID of `stack.json` and the management point it names. */
export interface StackManagementPoint {
  /** Decimal CMG ID (`/CCM_Proxy_ServerAuth/{id}/…`). */
  readonly id: string;
  readonly url: string;
  /** `mp`: a management point's ID (client traffic); `site`: the site ID (AdminService). */
  readonly kind: "mp" | "site";
  /** The MP's name (`MP01`, `MP02`). */
  readonly name: string;
}

/** The CMG IDs of the local stack: two management points and the site (whose AdminService MP01 serves). */
export const STACK_CMG_IDS = Object.freeze({
  mp01: "72186325152220500",
  mp02: "72186325152220501",
  site: "72057594037937981",
});

/** One tenant of `stack.json`. */
export interface StackTenant {
  readonly id: string;
  readonly name: string;
  readonly cloud: CloudName;
  readonly disabled: boolean;
  /** The tenant has Administration Service Management: its own apps, `adminServiceApp`. */
  readonly adminServiceManagement: boolean;
  /** The Administration Service Management apps (tokens reach only `/AdminService/`), when on. */
  readonly adminServiceApp?: {
    readonly serverApp: { readonly clientId: string; readonly appIdUri: string; readonly secret: string };
    readonly clientApp: { readonly clientId: string };
  };
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
  /** Extra gateway start options (clock, logger, ports, the console's sampling interval). */
  readonly gateway?: Partial<Omit<StartGatewayOptions, "config">> &
    Pick<GatewayServiceOptions, "consoleSampleIntervalMs">;
  /** Edits the generated gateway configuration (plain object) before it is written and validated. */
  readonly editGatewayConfig?: (raw: Record<string, unknown>) => void;
  /** Tenants (by domain name prefix) whose Entra authentication starts disabled; default `northwind`. */
  readonly disabledTenants?: readonly string[];
  /**
   * Tenants (by domain name prefix) with Administration Service Management on; default: every tenant whose
   * seed registers its apps (`adminService`; `fabrikam` in the default seed).
   */
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
  /** MP01: the gateway's default upstream. */
  readonly mp: MpSimulator;
  /** Every management point by name (`MP01`, `MP02`); CMG IDs in `description.mp.mps`. */
  readonly mps: readonly MpSimulator[];
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
    const adminPrefixes = options.adminServiceTenants;
    const tenants: StackTenant[] = entra.directory.tenants.map((t) => {
      const server = entra.directory.findApp(t, t.serverAppId)!;
      const admin =
        t.adminService !== undefined && (adminPrefixes === undefined || startsWithAny(t.name, adminPrefixes))
          ? entra.directory.findApp(t, t.adminService.serverAppId)
          : undefined;
      return {
        id: t.id,
        name: t.name,
        cloud: t.cloud,
        disabled: startsWithAny(t.name, disabledPrefixes),
        adminServiceManagement: admin !== undefined,
        ...(admin !== undefined && t.adminService !== undefined
          ? {
              adminServiceApp: {
                serverApp: {
                  clientId: admin.appId,
                  appIdUri: admin.identifierUris[0]!,
                  secret: admin.passwordCredentials[0]!.secretText,
                },
                clientApp: { clientId: t.adminService.clientAppId },
              },
            }
          : {}),
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
    // A second management point, so routing by CMG ID is exercised (no user discovery: AdminService is MP01's).
    const mp2 = await startMpSimulator({
      tls: { server: tls.server, ca: tls.ca },
      logger: logger.child({ component: "mp-simulator-2" }),
      ...options.mp,
      site: { siteCode: "PS1", name: "MP02", fqdn: "mp02.contoso.com", ...options.mp?.site },
    });
    started.push(mp2);
    const mps: StackManagementPoint[] = [
      { id: STACK_CMG_IDS.mp01, url: mp.url, kind: "mp", name: "MP01" },
      { id: STACK_CMG_IDS.mp02, url: mp2.url, kind: "mp", name: "MP02" },
      { id: STACK_CMG_IDS.site, url: mp.url, kind: "site", name: "MP01" },
    ];

    // The gateway's configuration, written as an operator would and loaded through the same path as `serve`.
    const tlsDir = join(stateDir, "tls");
    const secretsDir = join(stateDir, "secrets");
    await mkdir(secretsDir, { recursive: true, mode: 0o700 });
    for (const t of tenants) await writePrivate(join(secretsDir, `${t.id}.secret`), t.serverApp.secret);
    for (const t of tenants) {
      if (t.adminServiceApp) {
        await writePrivate(join(secretsDir, `${t.id}.admin-service.secret`), t.adminServiceApp.serverApp.secret);
      }
    }
    const authorityHost = new URL(entra.url).host;
    const environment = { authorityHost, caFile: join(tlsDir, "ca.crt") };
    const raw: Record<string, unknown> = {
      azureServices: [
        ...tenants.map((t) => {
          const dir = entra.directory.findTenant(t.id)!;
          const server = entra.directory.findApp(dir, dir.serverAppId)!;
          return {
            name: `${dir.displayName.split(" ")[0]} cloud management`,
            description: `${dir.displayName} (${CLOUDS[dir.cloud].name})`,
            type: "cloudManagement",
            environment: t.cloud,
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
        // CM 2207+ Administration Service Management: its own apps, for the tenants that have them.
        ...tenants.flatMap((t) => {
          if (!t.adminServiceApp) return [];
          const dir = entra.directory.findTenant(t.id)!;
          return [
            {
              name: `${dir.displayName.split(" ")[0]} administration service`,
              description: `${dir.displayName} AdminService (CMG VMSS)`,
              type: "adminServiceManagement",
              environment: t.cloud,
              tenant: { id: t.id, name: t.name },
              webApp: {
                name: "ConfigMgrAdminService",
                clientId: t.adminServiceApp.serverApp.clientId,
                appIdUri: t.adminServiceApp.serverApp.appIdUri,
                secret: { fromFile: join(secretsDir, `${t.id}.admin-service.secret`) },
                origin: "created",
              },
              nativeApp: { name: "ConfigMgrAdminServiceClient", clientId: t.adminServiceApp.clientApp.clientId },
            },
          ];
        }),
      ],
      environments: { AzurePublicCloud: environment, AzureUSGovernmentCloud: environment },
      auth: { jwks: { diskCacheDir: join(stateDir, "jwks") } },
      managementPoints: mps.map((m) => ({ id: m.id, url: m.url })),
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
      mp: { url: mp.url, mps },
      entra: { url: entra.url, signingKeys: join(stateDir, "entra", "signing-keys.json") },
      caCert: join(tlsDir, "ca.crt"),
      tenants,
    };
    await writePrivate(join(stateDir, "stack.json"), `${JSON.stringify(description, null, 2)}\n`);
    return {
      stateDir,
      tls,
      entra,
      mp,
      mps: [mp, mp2],
      gateway,
      service,
      description,
      gatewayConfigFile,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
