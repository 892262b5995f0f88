/**
 * Named fixtures for the gateway's unit tests: tenants, a configuration, RSA signing keys, JWKS documents,
 * realistic Entra tokens (docs/architecture.md § Tokens) signed with `node:crypto`, a controllable clock and a fake JWKS
 * fetcher. Nothing here imports the gateway's validation code except to build the objects under test.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, randomUUID, sign } from "node:crypto";
import { type Authenticator, type AuthRequest, createAuthenticator } from "../../gateway/auth/authenticate.js";
import type { Clock, TimerHandle } from "../../gateway/auth/clock.js";
import {
  createJwksStore,
  type JwksDiskCache,
  type JwksFetchContext,
  type JwksFetchEvent,
  type JwksStore,
} from "../../gateway/auth/keys/jwks-store.js";
import type { AuthResult } from "../../gateway/auth/result.js";
import type { ConfigInput } from "../../gateway/config/schema.js";
import type { GatewayConfig } from "../../gateway/config/types.js";
import { validateConfig } from "../../gateway/config/validate.js";
import { pooledRsaKeyPair } from "../harness-pool.js";

// ---------------------------------------------------------------------------------------------- tenants

/** Contoso: public cloud, cloud management, the usual tenant. */
export const TENANT_A = {
  id: "5e97358c-d99c-4558-af0c-de7774091dda",
  name: "contoso.onmicrosoft.com",
  serverAppId: "1f1e2d3c-4b5a-4697-8877-665544332211",
  clientAppId: "a26a653e-17aa-43eb-ab36-0e36c7d29f49",
  appIdUri: "api://5e97358c-d99c-4558-af0c-de7774091dda/ConfigMgrService",
} as const;

/** Fabrikam: US Government cloud. */
export const TENANT_GOV = {
  id: "0b6c2f5e-8a44-4e1f-9d3a-2c7b91e0f4a8",
  name: "fabrikam.onmicrosoft.us",
  serverAppId: "7d2b9c41-3e5f-4a6b-8c7d-9e0f1a2b3c4d",
  clientAppId: "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
  appIdUri: "https://fabrikam.onmicrosoft.us/ConfigMgrService",
} as const;

/** Woodgrove: cloud management plus Administration Service Management (CM 2207+). */
export const TENANT_ADMIN = {
  id: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
  name: "woodgrove.onmicrosoft.com",
  serverAppId: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
  clientAppId: "3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f",
  appIdUri: "api://9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d/ConfigMgrService",
} as const;

/** Woodgrove's Administration Service Management apps (its own web + native app). */
export const TENANT_ADMIN_SERVICE = {
  ...TENANT_ADMIN,
  serverAppId: "8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f",
  clientAppId: "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a",
  appIdUri: "api://9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d/ConfigMgrAdminService",
} as const;

/** The Administration Service Management service entry of {@link TENANT_ADMIN}. */
export function adminServiceManagementService(): Record<string, unknown> {
  return {
    name: `AdminService ${TENANT_ADMIN.name}`,
    type: "adminServiceManagement",
    tenant: { id: TENANT_ADMIN.id, name: TENANT_ADMIN.name },
    webApp: {
      name: "ConfigMgrAdminService",
      clientId: TENANT_ADMIN_SERVICE.serverAppId,
      appIdUri: TENANT_ADMIN_SERVICE.appIdUri,
      secret: { value: "s3cr3t-value" },
      origin: "created",
    },
    nativeApp: { name: "ConfigMgrAdminServiceClient", clientId: TENANT_ADMIN_SERVICE.clientAppId },
  };
}

/** Tailspin: a CMG subscription tenant with Entra authentication disabled. */
export const TENANT_DISABLED = {
  id: "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a",
  name: "tailspin.onmicrosoft.com",
  serverAppId: "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
  clientAppId: "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b9c",
  appIdUri: "api://4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a/ConfigMgrService",
} as const;

/** A real-looking tenant the gateway does not serve. */
export const TENANT_UNREGISTERED = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/** A fixture tenant. */
export type FixtureTenant =
  | typeof TENANT_A
  | typeof TENANT_GOV
  | typeof TENANT_ADMIN
  | typeof TENANT_ADMIN_SERVICE
  | typeof TENANT_DISABLED;

/** A cloud management service entry for a fixture tenant. */
export function cloudManagementService(
  tenant: FixtureTenant,
  extra: Partial<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    name: `CM ${tenant.name}`,
    type: "cloudManagement",
    environment: tenant === TENANT_GOV ? "AzureUSGovernmentCloud" : "AzurePublicCloud",
    tenant: { id: tenant.id, name: tenant.name },
    webApp: {
      name: "ConfigMgrService",
      clientId: tenant.serverAppId,
      appIdUri: tenant.appIdUri,
      secret: { value: "s3cr3t-value" },
      origin: "created",
    },
    nativeApp: { name: "ConfigMgrClient", clientId: tenant.clientAppId },
    disableAuthentication: tenant === TENANT_DISABLED,
    ...extra,
  };
}

/**
 * The raw configuration every auth test starts from: four CM tenants (Woodgrove also with Administration
 * Service Management), default routes.
 */
export function baseConfigInput(): ConfigInput & Record<string, unknown> {
  return {
    azureServices: [
      ...[TENANT_A, TENANT_GOV, TENANT_ADMIN, TENANT_DISABLED].map((t) => cloudManagementService(t)),
      adminServiceManagementService(),
    ],
    upstream: { url: "https://mp.contoso.local" },
  } as ConfigInput & Record<string, unknown>;
}

/**
 * Validates a raw configuration and fails loudly when it is not valid.
 *
 * @param raw the input (default: {@link baseConfigInput})
 */
export function makeConfig(raw: unknown = baseConfigInput()): GatewayConfig {
  const result = validateConfig(raw, { env: {}, readFile: () => "" });
  if (!result.ok) throw new Error(`fixture config invalid:\n${result.problems.join("\n")}`);
  return result.config;
}

// ------------------------------------------------------------------------------------------------- keys

/** An RSA signing key as Entra publishes it. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A 27-char base64url kid: the SHA-1 thumbprint form Entra uses (docs/architecture.md § Tokens). */
export function newKid(): string {
  return createHash("sha1").update(randomBytes(32)).digest("base64url");
}

/**
 * A signing key (RSA-2048 unless told) with a fresh kid: the next unused key of the run's pool
 * (`harness-pool.ts`; no key is handed out twice in a process), or a newly generated one.
 */
export function newSigningKey(modulusLength = 2048): SigningKey {
  const { privateKey, publicKey } =
    (modulusLength === 2048 ? pooledRsaKeyPair() : undefined) ?? generateKeyPairSync("rsa", { modulusLength });
  return { kid: newKid(), privateKey, publicKey };
}

/** The JWK of a signing key, Entra style (`kty`, `use`, `kid`, `x5t`, `n`, `e`, optional `issuer`; no `alg`). */
export function jwkOf(key: SigningKey, issuer?: string): Record<string, unknown> {
  const jwk = key.publicKey.export({ format: "jwk" });
  return {
    kty: "RSA",
    use: "sig",
    kid: key.kid,
    x5t: key.kid,
    n: jwk.n,
    e: jwk.e,
    ...(issuer === undefined ? {} : { issuer }),
  };
}

/** A JWKS document of several keys. */
export function jwksOf(keys: readonly SigningKey[], issuer?: string): { keys: Record<string, unknown>[] } {
  return { keys: keys.map((k) => jwkOf(k, issuer)) };
}

// ----------------------------------------------------------------------------------------------- tokens

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Signs arbitrary header and claims with RS256 (header defaults: typ JWT, alg RS256, kid, x5t). */
export function signToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const h = { typ: "JWT", alg: "RS256", x5t: key.kid, kid: key.kid, ...header };
  const input = `${b64json(h)}.${b64json(claims)}`;
  const signature = sign("sha256", Buffer.from(input), key.privateKey).toString("base64url");
  return `${input}.${signature}`;
}

/** Issuers as the built-in environments compute them. */
export function issuerV1(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** v2 issuer for a fixture tenant's cloud. */
export function issuerV2(tenant: FixtureTenant): string {
  const host = tenant === TENANT_GOV ? "login.microsoftonline.us" : "login.microsoftonline.com";
  return `https://${host}/${tenant.id}/v2.0`;
}

/** JWKS URLs as the built-in environments compute them. */
export function jwksUrl(tenant: FixtureTenant, version: 1 | 2): string {
  const host = tenant === TENANT_GOV ? "login.microsoftonline.us" : "login.microsoftonline.com";
  return version === 1
    ? `https://${host}/${tenant.id}/discovery/keys`
    : `https://${host}/${tenant.id}/discovery/v2.0/keys`;
}

function timeClaims(nowSec: number, lifetimeMin = 75): Record<string, number> {
  const iat = Math.floor(nowSec) - 60;
  return { iat, nbf: iat, exp: iat + lifetimeMin * 60 };
}

/** Claims of a v1 user token for CM (msal, by resource): aud = App ID URI, appid = client app. */
export function userClaimsV1(tenant: FixtureTenant, nowSec: number): Record<string, unknown> {
  const oid = randomUUID();
  return {
    aud: tenant.appIdUri,
    iss: issuerV1(tenant.id),
    ...timeClaims(nowSec),
    acr: "1",
    aio: "AVQAq/8TAAAA",
    amr: ["pwd", "mfa"],
    appid: tenant.clientAppId,
    appidacr: "0",
    family_name: "Doe",
    given_name: "Jane",
    ipaddr: "203.0.113.7",
    name: "Jane Doe",
    oid,
    onprem_sid: "S-1-5-21-1004336348-1177238915-682003330-512",
    rh: "0.AAAAjDWXXpzZWEWvDN53dAkd2g.",
    scp: "user_impersonation",
    sub: "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
    tid: tenant.id,
    unique_name: `jane@${tenant.name}`,
    upn: `jane@${tenant.name}`,
    uti: "fqiBqXLPj0eQa82S-IYFAA",
    ver: "1.0",
  };
}

/** Claims of a v2 user token: aud = server app client ID, azp = client app. */
export function userClaimsV2(tenant: FixtureTenant, nowSec: number): Record<string, unknown> {
  const { appid: _appid, appidacr: _appidacr, unique_name: _u, upn: _upn, ...rest } = userClaimsV1(tenant, nowSec);
  return {
    ...rest,
    aud: tenant.serverAppId,
    iss: issuerV2(tenant),
    azp: tenant.clientAppId,
    azpacr: "0",
    preferred_username: `jane@${tenant.name}`,
    ver: "2.0",
  };
}

/** Claims of a v1 device token (device credential grant): idtyp device, sub = deviceid, no appid/upn/scp. */
export function deviceClaimsV1(
  tenant: FixtureTenant,
  nowSec: number,
  deviceId = randomUUID(),
): Record<string, unknown> {
  return {
    aud: tenant.appIdUri,
    iss: issuerV1(tenant.id),
    ...timeClaims(nowSec),
    aio: "E2ZgYJj8",
    amr: ["rsa"],
    deviceid: deviceId,
    idtyp: "device",
    oid: randomUUID(),
    rh: "0.AAAAjDWXXpzZWEWvDN53dAkd2g.",
    sub: deviceId,
    tid: tenant.id,
    uti: "Zr1bk1Ai3kS2D4P7ZqQAAA",
    ver: "1.0",
  };
}

/** Claims of a user+device ("UDA") token: a user token that also carries deviceid. */
export function userDeviceClaimsV1(tenant: FixtureTenant, nowSec: number): Record<string, unknown> {
  return { ...userClaimsV1(tenant, nowSec), deviceid: randomUUID() };
}

/** Claims of an app-only token (client credentials of the server app): roles, no scp. */
export function appClaimsV1(tenant: FixtureTenant, nowSec: number): Record<string, unknown> {
  return {
    aud: tenant.appIdUri,
    iss: issuerV1(tenant.id),
    ...timeClaims(nowSec),
    appid: tenant.clientAppId,
    appidacr: "1",
    idtyp: "app",
    oid: randomUUID(),
    roles: ["Directory.Read.All"],
    sub: randomUUID(),
    tid: tenant.id,
    ver: "1.0",
  };
}

/** The named tokens of one key and tenant, minted at `nowSec`. */
export function namedTokens(key: SigningKey, tenant: FixtureTenant, nowSec: number) {
  return {
    /** A v1 user token, exactly what a CM client presents. */
    GoodToken: signToken(key, userClaimsV1(tenant, nowSec)),
    /** A v2 user token. */
    GoodTokenV2: signToken(key, userClaimsV2(tenant, nowSec)),
    /** Expired 10 minutes beyond the skew. */
    ExpiredToken: signToken(key, { ...userClaimsV1(tenant, nowSec), exp: Math.floor(nowSec) - 310 - 600 }),
    /** Not valid for another hour. */
    NotYetValidToken: signToken(key, { ...userClaimsV1(tenant, nowSec), nbf: Math.floor(nowSec) + 3600 }),
    /** Signed with the right key but names a kid the JWKS does not have. */
    NonExistKidToken: signToken(key, userClaimsV1(tenant, nowSec), { kid: newKid() }),
    /** For another resource. */
    WrongAudienceToken: signToken(key, { ...userClaimsV1(tenant, nowSec), aud: "api://some-other-app" }),
    /** Requested by an app that is not the tenant's registered client app. */
    WrongClientAppToken: signToken(key, { ...userClaimsV1(tenant, nowSec), appid: randomUUID() }),
    /** A device token without appid (Entra's usual shape). */
    DeviceToken: signToken(key, deviceClaimsV1(tenant, nowSec)),
    /** A device token that does carry the client app. */
    DeviceTokenWithAppId: signToken(key, { ...deviceClaimsV1(tenant, nowSec), appid: tenant.clientAppId }),
    /** A user+device token. */
    UserDeviceToken: signToken(key, userDeviceClaimsV1(tenant, nowSec)),
    /** An app-only token. */
    AppToken: signToken(key, appClaimsV1(tenant, nowSec)),
  };
}

/** Replaces one character of the signature, keeping the encoding canonical. */
export function tamperSignature(token: string): string {
  const dot = token.lastIndexOf(".");
  const sig = Buffer.from(token.slice(dot + 1), "base64url");
  sig[10] = (sig[10] ?? 0) ^ 0xff;
  return `${token.slice(0, dot + 1)}${sig.toString("base64url")}`;
}

// ------------------------------------------------------------------------------------------------ clock

/** A clock tests advance by hand; timers fire in time order during {@link FakeClock.advance}. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void; seq: number }>();

  constructor(startMs = Date.UTC(2025, 0, 15, 12, 0, 0)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  nowSec(): number {
    return this.#now / 1000;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn, seq: id });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete((handle as { id: number }).id);
  }

  /** Pending timers. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** When the next timer fires. */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers.values()) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  /** Moves time forward, firing due timers in order and letting promise callbacks run between them. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await flushPromises();
      let due: { id: number; at: number; fn: () => void; seq: number } | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= target && (due === undefined || t.at < due.at || (t.at === due.at && t.seq < due.seq))) {
          due = { id, ...t };
        }
      }
      if (due === undefined) break;
      this.#timers.delete(due.id);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
    await flushPromises();
  }
}

/** Lets pending promise callbacks run. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------------------------- fetcher

type Responder = () => unknown | Promise<unknown>;

/** A JWKS "IdP": per-URL documents, failures, a switch to go down, and a log of every request. */
export class FakeJwksServer {
  readonly #routes = new Map<string, Responder>();
  readonly requests: string[] = [];
  down = false;
  /** When set, every fetch waits for this promise before answering. */
  gate: Promise<void> | undefined;

  /** Serves a JWKS document at a URL. */
  serve(url: string, document: unknown): this {
    this.#routes.set(url, () => structuredClone(document));
    return this;
  }

  /** Serves a custom responder. */
  respond(url: string, responder: Responder): this {
    this.#routes.set(url, responder);
    return this;
  }

  /** Number of requests for a URL (or all). */
  count(url?: string): number {
    return url === undefined ? this.requests.length : this.requests.filter((u) => u === url).length;
  }

  /** The injectable fetcher. */
  readonly fetch = async (url: string, _context: JwksFetchContext): Promise<unknown> => {
    this.requests.push(url);
    if (this.gate !== undefined) await this.gate;
    if (this.down) throw new Error("connect ECONNREFUSED");
    const responder = this.#routes.get(url);
    if (responder === undefined) throw new Error(`HTTP 404 for ${url}`);
    return responder();
  };
}

/** A gate tests open by hand, to hold fetches in flight. */
export function createGate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

// ---------------------------------------------------------------------------------------------- harness

/** An authenticator wired to a fake IdP and a fake clock, with one key per fixture tenant. */
export interface Harness {
  readonly clock: FakeClock;
  readonly idp: FakeJwksServer;
  readonly keys: JwksStore;
  readonly auth: Authenticator;
  readonly config: GatewayConfig;
  /** The signing key of each tenant: its cloud's (tenants of one cloud share it). */
  readonly keyOf: Map<string, SigningKey>;
  readonly events: JwksFetchEvent[];
  /** Authenticates `Bearer token` against a path (default `/CCM_STS`). */
  check(token: string | undefined, url?: string): Promise<AuthResult>;
  /** Authenticates a raw request. */
  run(request: AuthRequest): Promise<AuthResult>;
  /** Publishes `keys` for a tenant at both its v1 and v2 URLs (v2 with the issuer template, as Entra does). */
  publish(tenant: FixtureTenant, keys: readonly SigningKey[]): void;
  /** Named tokens for a tenant at the current time. */
  tokens(tenant?: FixtureTenant): ReturnType<typeof namedTokens>;
}

/** Options of {@link createHarness}. */
export interface HarnessOptions {
  readonly config?: unknown;
  readonly settle?: boolean;
  readonly diskCache?: JwksDiskCache;
  readonly clock?: FakeClock;
  readonly random?: () => number;
  /** Start with the IdP unreachable (the boot fetch fails). */
  readonly idpDown?: boolean;
  /** Hold every fetch, the boot fetch included, until this promise settles. */
  readonly idpGate?: Promise<void>;
}

/**
 * Fixed signing keys, drawn once per test file (RSA generation is slow): one key per cloud, shared by
 * every tenant of that cloud, as Entra signs (docs/architecture.md § Tenant isolation).
 */
let sharedKeys: Map<string, SigningKey> | undefined;
function tenantKeys(): Map<string, SigningKey> {
  if (sharedKeys === undefined) {
    const publicCloud = newSigningKey();
    const usGovernment = newSigningKey();
    sharedKeys = new Map(
      [TENANT_A, TENANT_GOV, TENANT_ADMIN, TENANT_DISABLED].map((t) => [
        t.id,
        t === TENANT_GOV ? usGovernment : publicCloud,
      ]),
    );
  }
  return sharedKeys;
}

/**
 * Builds the harness and (by default) waits for the boot fetch.
 *
 * @param options config override, disk cache, clock
 */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new FakeClock();
  const idp = new FakeJwksServer();
  idp.down = options.idpDown === true;
  idp.gate = options.idpGate;
  const keyOf = new Map(tenantKeys());
  const publish = (tenant: FixtureTenant, keys: readonly SigningKey[]): void => {
    idp.serve(jwksUrl(tenant, 1), jwksOf(keys));
    const host = tenant === TENANT_GOV ? "login.microsoftonline.us" : "login.microsoftonline.com";
    idp.serve(jwksUrl(tenant, 2), jwksOf(keys, `https://${host}/{tenantid}/v2.0`));
  };
  for (const tenant of [TENANT_A, TENANT_GOV, TENANT_ADMIN, TENANT_DISABLED]) {
    publish(tenant, [keyOf.get(tenant.id) as SigningKey]);
  }
  const config = makeConfig(options.config ?? baseConfigInput());
  const events: JwksFetchEvent[] = [];
  const keys = createJwksStore({
    fetcher: idp.fetch,
    settings: config.auth.jwks,
    clock,
    random: options.random ?? (() => 0.5),
    onFetch: (e) => events.push(e),
    ...(options.diskCache === undefined ? {} : { diskCache: options.diskCache }),
  });
  const auth = createAuthenticator({ config, keys, clock });
  if (options.settle !== false) await keys.whenSettled();
  const run = async (request: AuthRequest): Promise<AuthResult> => auth.authenticate(request);
  return {
    clock,
    idp,
    keys,
    auth,
    config,
    keyOf,
    events,
    run,
    check: (token, url = "/CCM_STS") =>
      run({ url, authorization: token === undefined ? undefined : `Bearer ${token}` }),
    publish,
    tokens: (tenant = TENANT_A) => namedTokens(keyOf.get(tenant.id) as SigningKey, tenant, clock.nowSec()),
  };
}

/** The reason of a result, or "ok". */
export function outcome(result: AuthResult): string {
  return result.ok ? "ok" : result.reason;
}
