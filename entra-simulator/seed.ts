/**
 * The emulator's seed: the tenants, apps, users and devices it starts with. A seed file (YAML or JSON) lists
 * tenants; every identifier, secret and key it leaves out is derived deterministically from the tenant's
 * name, so the built-in default seed is short and the same on every machine.
 */
import { createECDH, createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { CloudName } from "./clouds.js";

const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a GUID");

const seedUser = z.strictObject({
  upn: z.string().email(),
  password: z.string().min(1).optional(),
  displayName: z.string().optional(),
  accountEnabled: z.boolean().default(true),
  /** Hybrid users carry their on-premises identity (onPremisesSecurityIdentifier, `onprem_sid` claim). */
  onPremises: z.boolean().default(false),
  /** Directory role: an administrator may create app registrations through Graph. */
  admin: z.boolean().default(false),
});

const seedTenant = z.strictObject({
  id: guid.optional(),
  /** Initial domain, e.g. `contoso.onmicrosoft.com`. */
  name: z.string().min(3),
  displayName: z.string().optional(),
  cloud: z.enum(["AzurePublicCloud", "AzureUSGovernmentCloud"]).default("AzurePublicCloud"),
  verifiedDomains: z.array(z.string()).default([]),
  /** `template`: v2 JWKS keys carry `{tenantid}` like Entra's common keys; `tenant`: the concrete issuer. */
  keyIssuer: z.enum(["template", "tenant"]).default("template"),
  serverApp: z
    .strictObject({
      name: z.string().default("ConfigMgrService"),
      clientId: guid.optional(),
      appIdUri: z.string().optional(),
      secret: z.string().optional(),
      secretExpiry: z.string().datetime().optional(),
      /** `accessTokenAcceptedVersion` of the manifest: decides v1 or v2 tokens for this resource. */
      accessTokenVersion: z.union([z.literal(1), z.literal(2)]).default(1),
      graphPermissions: z.array(z.string()).default(["Directory.Read.All"]),
    })
    .prefault({}),
  clientApp: z
    .strictObject({
      name: z.string().default("ConfigMgrClient"),
      clientId: guid.optional(),
    })
    .prefault({}),
  users: z
    .strictObject({
      /** How many users to generate besides `list` (every third one hybrid). */
      count: z.number().int().min(0).max(10_000).default(50),
      list: z.array(seedUser).default([]),
    })
    .prefault({}),
  devices: z
    .strictObject({
      count: z.number().int().min(0).max(10_000).default(50),
    })
    .prefault({}),
});

/** The seed file's schema. */
export const seedSchema = z.strictObject({ tenants: z.array(seedTenant).min(1) });

/** A seed as written in a file (before defaults). */
export type SeedInput = z.input<typeof seedSchema>;

/** Configuration Manager's old default App ID URI, still carried by apps imported from older sites. */
export const LEGACY_APP_ID_URI = "https://ConfigMgrService";

/**
 * The built-in default seed: two public-cloud tenants, one US Government whose server app is a legacy import
 * (`https://ConfigMgrService`), one CMG-only tenant without users.
 */
export const DEFAULT_SEED: SeedInput = {
  tenants: [
    {
      name: "contoso.onmicrosoft.com",
      displayName: "Contoso",
      cloud: "AzurePublicCloud",
      users: { count: 50, list: [{ upn: "admin@contoso.onmicrosoft.com", admin: true }] },
    },
    {
      name: "fabrikam.onmicrosoft.com",
      displayName: "Fabrikam",
      cloud: "AzurePublicCloud",
      verifiedDomains: ["fabrikam.com"],
      keyIssuer: "tenant",
      serverApp: { appIdUri: "https://fabrikam.com/ConfigMgrService" },
      users: { count: 50, list: [{ upn: "admin@fabrikam.onmicrosoft.com", admin: true }] },
    },
    {
      name: "tailspin.onmicrosoft.us",
      displayName: "Tailspin (US Government)",
      cloud: "AzureUSGovernmentCloud",
      // A site onboarded before Graph required verified domains: its imported server app keeps CM's old
      // default App ID URI, which Graph no longer lets anyone create (docs/architecture.md § Identifier URIs).
      serverApp: { appIdUri: LEGACY_APP_ID_URI },
      users: { count: 50, list: [{ upn: "admin@tailspin.onmicrosoft.us", admin: true }] },
    },
    {
      name: "northwind.onmicrosoft.com",
      displayName: "Northwind (CMG subscription, no users)",
      cloud: "AzurePublicCloud",
      users: { count: 0 },
      devices: { count: 0 },
    },
  ],
};

/** A user of the emulated directory. */
export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  password: string;
  displayName: string;
  givenName: string;
  surname: string;
  mail: string;
  mailNickname: string;
  accountEnabled: boolean;
  isAdmin: boolean;
  onPremisesSecurityIdentifier: string | null;
  onPremisesDomainName: string | null;
  onPremisesSamAccountName: string | null;
  onPremisesDistinguishedName: string | null;
}

/** A registered (Entra-joined) device and its key pair (simulation material: the private key is exported). */
export interface DirectoryDevice {
  /** The device ID (`deviceid` claim). */
  deviceId: string;
  /** The device object's ID (`oid` of its device tokens). */
  id: string;
  displayName: string;
  accountEnabled: boolean;
  /** ES256 public key the device proves possession of. */
  publicKeyJwk: JsonWebKeyEc;
  privateKeyJwk: JsonWebKeyEc;
}

/** A P-256 JWK. */
export interface JsonWebKeyEc {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  d?: string;
}

/** A client secret of an app registration. */
export interface PasswordCredential {
  keyId: string;
  displayName: string;
  secretText: string;
  startDateTime: string;
  endDateTime: string;
}

/** An app registration with its service principal. */
export interface DirectoryApp {
  /** Object ID of the application. */
  id: string;
  /** Application (client) ID. */
  appId: string;
  /** Object ID of its service principal (the `oid` of app-only tokens). */
  servicePrincipalId: string;
  displayName: string;
  identifierUris: string[];
  isPublicClient: boolean;
  redirectUris: string[];
  passwordCredentials: PasswordCredential[];
  accessTokenVersion: 1 | 2;
  /** Delegated scopes the app exposes (`api.oauth2PermissionScopes`). */
  exposedScopes: string[];
  /** Application permissions granted to it on Microsoft Graph (`roles` of its Graph tokens). */
  graphPermissions: string[];
  /** App IDs of resources it holds delegated permissions on (`requiredResourceAccess`). */
  delegatedResources: string[];
  createdDateTime: string;
}

/** One tenant as materialised from the seed. */
export interface DirectoryTenant {
  id: string;
  name: string;
  displayName: string;
  cloud: CloudName;
  verifiedDomains: string[];
  keyIssuer: "template" | "tenant";
  serverAppId: string;
  clientAppId: string;
  apps: DirectoryApp[];
  users: DirectoryUser[];
  devices: DirectoryDevice[];
}

/** Derives a stable GUID from names (SHA-256, shaped as an RFC 4122 variant, version 5 nibble). */
export function deriveGuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function deriveSecret(...parts: string[]): string {
  // Entra client secrets are 40 characters with a `~` at position 4 (e.g. `Abc8Q~…`).
  const body = createHash("sha256")
    .update(`secret\u0000${parts.join("\u0000")}`)
    .digest("base64url");
  return `${body.slice(0, 3)}8Q~${body.slice(3, 37)}`;
}

function derivePassword(...parts: string[]): string {
  return `Pw-${createHash("sha256")
    .update(`pw\u0000${parts.join("\u0000")}`)
    .digest("base64url")
    .slice(0, 14)}!`;
}

/** Derives a P-256 key pair from names: deterministic simulation material, never a real secret. */
export function deriveDeviceKey(...parts: string[]): { publicKeyJwk: JsonWebKeyEc; privateKeyJwk: JsonWebKeyEc } {
  for (let attempt = 0; ; attempt++) {
    const d = createHash("sha256")
      .update(`device-key\u0000${attempt}\u0000${parts.join("\u0000")}`)
      .digest();
    const ecdh = createECDH("prime256v1");
    try {
      ecdh.setPrivateKey(d);
    } catch {
      continue; // scalar out of range (probability ~2^-32): try the next derivation
    }
    const pub = ecdh.getPublicKey(); // 0x04 || X || Y
    const publicKeyJwk: JsonWebKeyEc = {
      kty: "EC",
      crv: "P-256",
      x: pub.subarray(1, 33).toString("base64url"),
      y: pub.subarray(33, 65).toString("base64url"),
    };
    return { publicKeyJwk, privateKeyJwk: { ...publicKeyJwk, d: d.toString("base64url") } };
  }
}

const GIVEN = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger"];
const FAMILY = ["Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen"];

function domainNetbios(tenantName: string): string {
  return (tenantName.split(".")[0] ?? "CORP").toUpperCase().slice(0, 15);
}

/** Builds a directory user; `index` picks a generated name. Every third generated user is hybrid. */
export function createDirectoryUser(
  tenantId: string,
  tenantName: string,
  spec: z.output<typeof seedUser>,
  index: number,
): DirectoryUser {
  const nick = spec.upn.split("@")[0]!;
  const given = GIVEN[index % GIVEN.length]!;
  const family = FAMILY[index % FAMILY.length]!;
  const netbios = domainNetbios(tenantName);
  const sidTail = Number.parseInt(deriveGuid(tenantId, "sid", spec.upn).slice(0, 6), 16);
  return {
    id: deriveGuid(tenantId, "user", spec.upn.toLowerCase()),
    userPrincipalName: spec.upn,
    password: spec.password ?? derivePassword(tenantId, spec.upn.toLowerCase()),
    displayName: spec.displayName ?? `${given} ${family}`,
    givenName: given,
    surname: family,
    mail: spec.upn,
    mailNickname: nick,
    accountEnabled: spec.accountEnabled,
    isAdmin: spec.admin,
    onPremisesSecurityIdentifier: spec.onPremises
      ? `S-1-5-21-2222222222-3333333333-4444444444-${1000 + sidTail}`
      : null,
    onPremisesDomainName: spec.onPremises ? `${netbios.toLowerCase()}.local` : null,
    onPremisesSamAccountName: spec.onPremises ? nick.slice(0, 20) : null,
    onPremisesDistinguishedName: spec.onPremises
      ? `CN=${given} ${family},OU=Users,DC=${netbios.toLowerCase()},DC=local`
      : null,
  };
}

/** Builds a registered device with a derived key pair. */
export function createDirectoryDevice(tenantId: string, index: number): DirectoryDevice {
  const deviceId = deriveGuid(tenantId, "device", String(index));
  return {
    deviceId,
    id: deriveGuid(tenantId, "device-object", deviceId),
    displayName: `CM-CLIENT-${String(index + 1).padStart(3, "0")}`,
    accountEnabled: true,
    ...deriveDeviceKey(tenantId, deviceId),
  };
}

function yearsFromNow(now: number, years: number): string {
  return new Date(now + years * 365.25 * 86_400_000).toISOString();
}

/** Materialises a validated seed into directory tenants. `now` sets creation and secret dates. */
export function materializeSeed(input: SeedInput, now = Date.now()): DirectoryTenant[] {
  const seed = seedSchema.parse(input);
  const ids = new Set<string>();
  return seed.tenants.map((t) => {
    const id = (t.id ?? deriveGuid("tenant", t.name)).toLowerCase();
    if (ids.has(id)) throw new Error(`seed: tenant ${t.name} repeats tenant ID ${id}`);
    ids.add(id);
    const created = new Date(now).toISOString();
    const serverAppId = (t.serverApp.clientId ?? deriveGuid(id, "server-app")).toLowerCase();
    const clientAppId = (t.clientApp.clientId ?? deriveGuid(id, "client-app")).toLowerCase();
    const server: DirectoryApp = {
      id: deriveGuid(id, "server-app-object"),
      appId: serverAppId,
      servicePrincipalId: deriveGuid(id, "server-app-sp"),
      displayName: t.serverApp.name,
      identifierUris: [t.serverApp.appIdUri ?? `api://${id}/${t.serverApp.name}`],
      isPublicClient: false,
      redirectUris: [],
      passwordCredentials: [
        {
          keyId: deriveGuid(id, "server-app-secret"),
          displayName: "ConfigMgr",
          secretText: t.serverApp.secret ?? deriveSecret(id, "server-app"),
          startDateTime: created,
          endDateTime: t.serverApp.secretExpiry ?? yearsFromNow(now, 2),
        },
      ],
      accessTokenVersion: t.serverApp.accessTokenVersion,
      exposedScopes: ["user_impersonation"],
      graphPermissions: t.serverApp.graphPermissions,
      delegatedResources: [],
      createdDateTime: created,
    };
    const client: DirectoryApp = {
      id: deriveGuid(id, "client-app-object"),
      appId: clientAppId,
      servicePrincipalId: deriveGuid(id, "client-app-sp"),
      displayName: t.clientApp.name,
      identifierUris: [],
      isPublicClient: true,
      redirectUris: [`ms-appx-web://Microsoft.AAD.BrokerPlugin/${clientAppId}`],
      passwordCredentials: [],
      accessTokenVersion: 1,
      exposedScopes: [],
      graphPermissions: [],
      delegatedResources: [serverAppId],
      createdDateTime: created,
    };
    const domain = t.name;
    const users = [
      ...t.users.list.map((u, i) => createDirectoryUser(id, t.name, u, i)),
      ...Array.from({ length: t.users.count }, (_, i) =>
        createDirectoryUser(
          id,
          t.name,
          {
            upn: `user${String(i + 1).padStart(3, "0")}@${domain}`,
            accountEnabled: true,
            onPremises: i % 3 === 0,
            admin: false,
          },
          i,
        ),
      ),
    ];
    const devices = Array.from({ length: t.devices.count }, (_, i) => createDirectoryDevice(id, i));
    return {
      id,
      name: t.name,
      displayName: t.displayName ?? t.name,
      cloud: t.cloud,
      verifiedDomains: [t.name, ...t.verifiedDomains],
      keyIssuer: t.keyIssuer,
      serverAppId,
      clientAppId,
      apps: [server, client],
      users,
      devices,
    };
  });
}

/** Reads a seed file (YAML or JSON); throws with every schema problem listed. */
export async function loadSeedFile(path: string): Promise<SeedInput> {
  const text = await readFile(path, "utf8");
  const raw: unknown = parseYaml(text);
  const result = seedSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`invalid seed ${path}: ${problems.length} problem(s): ${problems.join("; ")}`);
  }
  return raw as SeedInput;
}
