/**
 * The token endpoints' grants (v1 `/oauth2/token` by `resource`, v2 `/oauth2/v2.0/token` by `scope`):
 * client credentials, password (ROPC), device code, refresh token, and the device-token grant in which a
 * registered device proves possession of its key with a signed request (our model of Windows' device
 * credential flow, docs/architecture.md § Tokens). Handlers are plain functions that return a response body or throw
 * {@link AadError}.
 */
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { decodeProtectedHeader, importJWK, errors as joseErrors, jwtVerify } from "jose";
import { CLOUDS, type Cloud, GRAPH_APP_ID, graphResource } from "./clouds.js";
import type { Directory } from "./directory.js";
import { AadError } from "./errors.js";
import type { KeyStore } from "./keys.js";
import type { DirectoryApp, DirectoryDevice, DirectoryTenant, DirectoryUser } from "./seed.js";
import { buildAccessClaims, buildIdTokenClaims, clientInfo, signToken, type TokenSubject } from "./tokens.js";

/** Which token endpoint a request came to. */
export type EndpointVersion = "v1" | "v2";

/** Well-known first-party public client (Microsoft Azure PowerShell) that admins sign in with to manage apps. */
export const ADMIN_TOOL_CLIENT_ID = "1950a258-227b-4e31-a9cf-717495945fc2";

/** Scopes of OpenID Connect, not of any resource. */
const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);

const GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";

interface DeviceCodeEntry {
  readonly tenantId: string;
  readonly clientId: string;
  readonly request: ResourceRequest;
  readonly endpoint: EndpointVersion;
  readonly userCode: string;
  readonly expiresAt: number;
  status: "pending" | "approved" | "declined" | "redeemed";
  userId?: string;
  deviceId?: string;
}

interface RefreshEntry {
  readonly tenantId: string;
  readonly clientId: string;
  readonly userId: string;
  readonly deviceId: string | undefined;
  expiresAt: number;
}

/** Mutable state of the grants: device codes, refresh tokens, used assertion IDs. */
export interface GrantState {
  readonly deviceCodes: Map<string, DeviceCodeEntry>;
  readonly refreshTokens: Map<string, RefreshEntry>;
  readonly usedJtis: Map<string, number>;
}

/** Creates empty grant state. */
export function createGrantState(): GrantState {
  return { deviceCodes: new Map(), refreshTokens: new Map(), usedJtis: new Map() };
}

/** What the grants need from the emulator. */
export interface GrantContext {
  readonly directory: Directory;
  readonly keys: KeyStore;
  readonly state: GrantState;
  readonly now: () => number;
  /** Polling interval the device-code response announces (Entra: 5 s). */
  readonly deviceCodeIntervalSec: number;
  readonly deviceCodeLifetimeSec: number;
  /** Refresh tokens expire after this much inactivity (Entra: 90 days). */
  readonly refreshTokenLifetimeSec: number;
}

/** The resource a request is for and the scopes asked of it. */
interface ResourceRequest {
  /** The resource as requested (v1 `aud` keeps it verbatim, trailing slash included). */
  readonly resource: string;
  readonly app: DirectoryApp | "graph";
  /** Scope names asked for (`.default` means all). */
  readonly scopes: readonly string[];
  readonly oidc: readonly string[];
}

const GRAPH_DELEGATED_USER = ["User.Read"];
const GRAPH_DELEGATED_ADMIN = ["Application.ReadWrite.All", "Directory.Read.All", "User.Read"];

function param(form: URLSearchParams, name: string): string {
  const v = form.get(name);
  if (v === null || v === "") throw new AadError("missingParameter", name);
  return v;
}

function isGraph(cloud: Cloud, resource: string): boolean {
  const r = resource.replace(/\/+$/, "").toLowerCase();
  return r === graphResource(cloud) || r === GRAPH_APP_ID || Object.values(CLOUDS).some((c) => r === graphResource(c));
}

/** Parses `resource` (v1) or `scope` (v2) into the one resource of the request. */
function resolveResource(
  ctx: GrantContext,
  tenant: DirectoryTenant,
  endpoint: EndpointVersion,
  form: URLSearchParams,
): ResourceRequest {
  const cloud = CLOUDS[tenant.cloud];
  let resource: string;
  let scopes: string[];
  const oidc: string[] = [];
  if (endpoint === "v1") {
    resource = param(form, "resource");
    scopes = [".default"];
  } else {
    const raw = param(form, "scope").split(/\s+/).filter(Boolean);
    const named: string[] = [];
    for (const s of raw) (OIDC_SCOPES.has(s) ? oidc : named).push(s);
    if (named.length === 0) {
      // Only OpenID scopes: Entra issues a Graph token for User.Read.
      resource = graphResource(cloud);
      scopes = ["User.Read"];
    } else {
      const prefixes = new Set<string>();
      scopes = [];
      for (const s of named) {
        const slash = s.lastIndexOf("/");
        if (slash <= 0) {
          prefixes.add(graphResource(cloud)); // bare names are Graph's (e.g. `User.Read`)
          scopes.push(s);
        } else {
          prefixes.add(s.slice(0, slash));
          scopes.push(s.slice(slash + 1));
        }
      }
      if (prefixes.size > 1) throw new AadError("invalidScope", `${named.join(" ")} (one resource per request)`);
      resource = [...prefixes][0]!;
    }
  }
  if (isGraph(cloud, resource)) return { resource, app: "graph", scopes, oidc };
  const app = ctx.directory.findResource(tenant, resource);
  if (!app || (app.identifierUris.length === 0 && app.appId !== resource.toLowerCase())) {
    throw new AadError("invalidResource", resource, tenant.name);
  }
  return { resource, app, scopes, oidc };
}

function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Finds the client and checks how it authenticates: secret for confidential clients, none for public ones. */
function authenticateClient(
  ctx: GrantContext,
  tenant: DirectoryTenant,
  form: URLSearchParams,
  basic: { id: string; secret: string } | undefined,
  confidentialRequired: boolean,
): { app: DirectoryApp; auth: "0" | "1" } {
  const clientId = basic?.id ?? param(form, "client_id");
  const secret = basic?.secret ?? form.get("client_secret") ?? undefined;
  const app =
    ctx.directory.findApp(tenant, clientId) ?? (clientId === ADMIN_TOOL_CLIENT_ID ? adminTool(tenant) : undefined);
  if (!app) throw new AadError("unknownClient", clientId, tenant.id);
  if (form.has("client_assertion")) {
    throw new AadError("invalidClientSecret", app.appId); // certificate credentials are not emulated
  }
  if (app.isPublicClient) {
    if (secret !== undefined) throw new AadError("publicClientSecret");
    if (confidentialRequired) throw new AadError("missingClientSecret");
    return { app, auth: "0" };
  }
  if (secret === undefined) throw new AadError("missingClientSecret");
  const now = ctx.now();
  const match = app.passwordCredentials.find((c) => secretsEqual(c.secretText, secret));
  if (!match) throw new AadError("invalidClientSecret", app.appId);
  if (Date.parse(match.endDateTime) <= now) throw new AadError("expiredClientSecret", app.appId);
  return { app, auth: "1" };
}

function adminTool(tenant: DirectoryTenant): DirectoryApp {
  return {
    id: ADMIN_TOOL_CLIENT_ID,
    appId: ADMIN_TOOL_CLIENT_ID,
    servicePrincipalId: ADMIN_TOOL_CLIENT_ID,
    displayName: "Microsoft Azure PowerShell",
    identifierUris: [],
    isPublicClient: true,
    redirectUris: [],
    passwordCredentials: [],
    accessTokenVersion: 1,
    exposedScopes: [],
    graphPermissions: [],
    delegatedResources: tenant.apps.map((a) => a.appId),
    createdDateTime: new Date(0).toISOString(),
  };
}

/** The delegated scopes a user gets: a client may only ask for resources it holds permissions on. */
function delegatedScopes(client: DirectoryApp, request: ResourceRequest, user: DirectoryUser): string[] {
  if (request.app === "graph") {
    const granted =
      user.isAdmin && client.appId === ADMIN_TOOL_CLIENT_ID ? GRAPH_DELEGATED_ADMIN : GRAPH_DELEGATED_USER;
    if (request.scopes.includes(".default")) return granted;
    const missing = request.scopes.filter((s) => !granted.includes(s));
    if (missing.length > 0) throw new AadError("consentRequired", client.appId);
    return [...request.scopes];
  }
  const resource = request.app;
  if (resource.appId !== client.appId && !client.delegatedResources.includes(resource.appId)) {
    throw new AadError("consentRequired", client.appId);
  }
  if (request.scopes.includes(".default")) return resource.exposedScopes;
  const unknown = request.scopes.filter((s) => !resource.exposedScopes.includes(s));
  if (unknown.length > 0) throw new AadError("invalidScope", unknown.join(" "));
  return [...request.scopes];
}

function checkUser(user: DirectoryUser | undefined, tenant: DirectoryTenant, upn: string): DirectoryUser {
  if (!user) throw new AadError("userNotFound", upn, tenant.name);
  return user;
}

/** Verifies a device's signed request (ES256 with its registered key): the device credential. */
async function verifyDeviceRequest(ctx: GrantContext, tenant: DirectoryTenant, jwt: string): Promise<DirectoryDevice> {
  let deviceId: string;
  try {
    const header = decodeProtectedHeader(jwt);
    deviceId = String(header.kid ?? "");
  } catch {
    throw new AadError("invalidAssertion", "the request is not a JWS");
  }
  const device = ctx.directory.findDevice(tenant, deviceId);
  if (!device) throw new AadError("deviceNotFound", tenant.id);
  if (!device.accountEnabled) throw new AadError("deviceDisabled");
  const cloud = CLOUDS[tenant.cloud];
  const nowSec = Math.floor(ctx.now() / 1000);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jwt, await importJWK(device.publicKeyJwk, "ES256"), {
      algorithms: ["ES256"],
      issuer: device.deviceId,
      subject: device.deviceId,
      audience: `https://${cloud.authorityHost}/${tenant.id}`,
      currentDate: new Date(nowSec * 1000),
      clockTolerance: 300,
      maxTokenAge: "10m",
      requiredClaims: ["jti", "iat", "exp"],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired || err instanceof joseErrors.JWTClaimValidationFailed) {
      throw new AadError("assertionReplayed", err.message);
    }
    throw new AadError("invalidAssertion", err instanceof Error ? err.message : "invalid");
  }
  const jti = `${device.deviceId}|${String(payload.jti)}`;
  for (const [k, exp] of ctx.state.usedJtis) if (exp < nowSec) ctx.state.usedJtis.delete(k);
  if (ctx.state.usedJtis.has(jti)) throw new AadError("assertionReplayed", "jti already used");
  ctx.state.usedJtis.set(jti, Number(payload.exp));
  return device;
}

function issueRefreshToken(ctx: GrantContext, entry: Omit<RefreshEntry, "expiresAt">): string {
  const token = `1.A${randomBytes(96).toString("base64url")}`;
  ctx.state.refreshTokens.set(token, { ...entry, expiresAt: ctx.now() + ctx.refreshTokenLifetimeSec * 1000 });
  return token;
}

interface IssueInput {
  readonly tenant: DirectoryTenant;
  readonly endpoint: EndpointVersion;
  readonly request: ResourceRequest;
  readonly client: DirectoryApp | undefined;
  readonly clientAuth: "0" | "1";
  readonly user?: DirectoryUser | undefined;
  readonly device?: DirectoryDevice | undefined;
  readonly roles?: readonly string[];
  readonly form: URLSearchParams;
}

/** Signs the access token (and for users the refresh and ID tokens) and renders the endpoint's response. */
function respond(ctx: GrantContext, input: IssueInput): Record<string, unknown> {
  const { tenant, request, client, user, device } = input;
  const cloud = CLOUDS[tenant.cloud];
  const nowSec = Math.floor(ctx.now() / 1000);
  // The resource app's manifest decides the token version, not the endpoint (Graph takes v1 tokens).
  const version: 1 | 2 = request.app === "graph" ? 1 : request.app.accessTokenVersion;
  const audience =
    request.app === "graph"
      ? request.resource.replace(/\/+$/, "")
      : version === 1
        ? request.resource
        : request.app.appId;
  const scopes = user && client ? delegatedScopes(client, request, user) : undefined;
  const subject: TokenSubject = {
    tenantId: tenant.id,
    cloud,
    version,
    audience,
    client,
    clientAuth: input.clientAuth,
    user,
    device,
    scopes,
    roles: input.roles,
    nowSec,
  };
  const key = ctx.keys.current(tenant.id);
  const claims = buildAccessClaims(subject);
  const expiresIn = Number(claims.exp) - nowSec;
  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope:
      input.endpoint === "v2" && request.app !== "graph"
        ? (scopes ?? [".default"]).map((s) => `${request.resource}/${s}`).join(" ")
        : (scopes ?? []).join(" "),
    // v1 answers numbers as strings; v2 as numbers.
    expires_in: input.endpoint === "v1" ? String(expiresIn) : expiresIn,
    ext_expires_in: input.endpoint === "v1" ? String(expiresIn) : expiresIn,
  };
  if (input.endpoint === "v1") {
    body.expires_on = String(claims.exp);
    body.not_before = String(claims.nbf);
    body.resource = request.resource;
  }
  body.access_token = signToken(claims, key, version);
  if (user && client) {
    const wantsRefresh = input.endpoint === "v1" || request.oidc.includes("offline_access");
    if (wantsRefresh) {
      body.refresh_token = issueRefreshToken(ctx, {
        tenantId: tenant.id,
        clientId: client.appId,
        userId: user.id,
        deviceId: device?.deviceId,
      });
    }
    if (input.endpoint === "v1" || request.oidc.includes("openid")) {
      body.id_token = signToken(buildIdTokenClaims(subject), key, 2);
    }
    if (input.form.get("client_info") === "1") body.client_info = clientInfo(user.id, tenant.id);
  }
  return body;
}

/**
 * Handles a token request at `/{tenant}/oauth2/token` (v1) or `/{tenant}/oauth2/v2.0/token` (v2).
 *
 * @throws AadError for every refusal, with Entra's code.
 */
export async function handleTokenRequest(
  ctx: GrantContext,
  tenant: DirectoryTenant,
  endpoint: EndpointVersion,
  form: URLSearchParams,
  basic?: { id: string; secret: string },
): Promise<Record<string, unknown>> {
  const grant = param(form, "grant_type");
  switch (grant) {
    case "client_credentials": {
      const { app, auth } = authenticateClient(ctx, tenant, form, basic, true);
      const request = resolveResource(ctx, tenant, endpoint, form);
      if (endpoint === "v2" && !request.scopes.every((s) => s === ".default")) {
        throw new AadError("invalidScope", `${form.get("scope")} (client credentials take '{resource}/.default')`);
      }
      const roles = request.app === "graph" ? app.graphPermissions : [];
      return respond(ctx, { tenant, endpoint, request, client: app, clientAuth: auth, roles, form });
    }
    case "password": {
      const { app, auth } = authenticateClient(ctx, tenant, form, basic, false);
      const upn = param(form, "username");
      const password = param(form, "password");
      const request = resolveResource(ctx, tenant, endpoint, form);
      const user = checkUser(ctx.directory.findUser(tenant, upn), tenant, upn);
      if (!secretsEqual(user.password, password)) throw new AadError("invalidPassword");
      if (!user.accountEnabled) throw new AadError("userDisabled");
      const deviceRequest = form.get("device_request");
      const device = deviceRequest ? await verifyDeviceRequest(ctx, tenant, deviceRequest) : undefined;
      return respond(ctx, { tenant, endpoint, request, client: app, clientAuth: auth, user, device, form });
    }
    case GRANT_DEVICE_CODE:
    case "device_code": {
      const code = form.get("device_code") ?? form.get("code");
      if (!code) throw new AadError("missingParameter", "device_code");
      const entry = ctx.state.deviceCodes.get(code);
      if (!entry || entry.tenantId !== tenant.id) throw new AadError("invalidDeviceCode");
      if (entry.clientId !== param(form, "client_id").toLowerCase()) throw new AadError("invalidDeviceCode");
      if (entry.status === "redeemed") throw new AadError("invalidDeviceCode");
      if (ctx.now() >= entry.expiresAt) throw new AadError("deviceCodeExpired");
      if (entry.status === "declined") throw new AadError("deviceCodeDeclined");
      if (entry.status === "pending") throw new AadError("authorizationPending");
      const { app, auth } = authenticateClient(ctx, tenant, form, basic, false);
      const user = ctx.directory.findUser(tenant, entry.userId!);
      if (!user) throw new AadError("userNotFound", entry.userId!, tenant.name);
      if (!user.accountEnabled) throw new AadError("userDisabled");
      const device = entry.deviceId ? ctx.directory.findDevice(tenant, entry.deviceId) : undefined;
      entry.status = "redeemed";
      return respond(ctx, {
        tenant,
        endpoint,
        request: entry.request,
        client: app,
        clientAuth: auth,
        user,
        device,
        form,
      });
    }
    case "refresh_token": {
      const token = param(form, "refresh_token");
      const entry = ctx.state.refreshTokens.get(token);
      if (!entry || entry.tenantId !== tenant.id) throw new AadError("invalidRefreshToken");
      if (ctx.now() >= entry.expiresAt) {
        ctx.state.refreshTokens.delete(token);
        throw new AadError("expiredRefreshToken");
      }
      const { app, auth } = authenticateClient(ctx, tenant, form, basic, false);
      if (app.appId !== entry.clientId) throw new AadError("invalidRefreshToken");
      const user = ctx.directory.findUser(tenant, entry.userId);
      if (!user) throw new AadError("invalidRefreshToken");
      if (!user.accountEnabled) throw new AadError("userDisabled");
      const device = entry.deviceId ? ctx.directory.findDevice(tenant, entry.deviceId) : undefined;
      const request = resolveResource(ctx, tenant, endpoint, form);
      entry.expiresAt = ctx.now() + ctx.refreshTokenLifetimeSec * 1000;
      return respond(ctx, { tenant, endpoint, request, client: app, clientAuth: auth, user, device, form });
    }
    case GRANT_JWT_BEARER: {
      if (form.get("requested_token_use") === "on_behalf_of" || form.has("assertion")) {
        throw new AadError("unsupportedGrant", `${grant} (on-behalf-of is not emulated)`);
      }
      const device = await verifyDeviceRequest(ctx, tenant, param(form, "request"));
      const clientId = form.get("client_id");
      let client: DirectoryApp | undefined;
      if (clientId) {
        client = ctx.directory.findApp(tenant, clientId);
        if (!client) throw new AadError("unknownClient", clientId, tenant.id);
      }
      const request = resolveResource(ctx, tenant, endpoint, form);
      if (request.app === "graph") throw new AadError("invalidResource", request.resource, tenant.name);
      return respond(ctx, { tenant, endpoint, request, client, clientAuth: "0", device, form });
    }
    default:
      throw new AadError("unsupportedGrant", grant);
  }
}

function userCode(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  return Array.from({ length: 9 }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** Handles `/{tenant}/oauth2/v2.0/devicecode` (v2, `scope`) and `/{tenant}/oauth2/devicecode` (v1, `resource`). */
export function handleDeviceCodeRequest(
  ctx: GrantContext,
  tenant: DirectoryTenant,
  endpoint: EndpointVersion,
  form: URLSearchParams,
): Record<string, unknown> {
  const { app } = authenticateClient(ctx, tenant, form, undefined, false);
  const request = resolveResource(ctx, tenant, endpoint, form);
  const deviceCode = `DAQABAAEAAA${randomBytes(96).toString("base64url")}`;
  const code = userCode();
  ctx.state.deviceCodes.set(deviceCode, {
    tenantId: tenant.id,
    clientId: app.appId,
    request,
    endpoint,
    userCode: code,
    expiresAt: ctx.now() + ctx.deviceCodeLifetimeSec * 1000,
    status: "pending",
  });
  const verificationUri = "https://microsoft.com/devicelogin";
  return {
    user_code: code,
    device_code: deviceCode,
    // The v1 endpoint predates RFC 8628 and names the member `verification_url`; v2 follows the RFC.
    [endpoint === "v1" ? "verification_url" : "verification_uri"]: verificationUri,
    expires_in: ctx.deviceCodeLifetimeSec,
    interval: ctx.deviceCodeIntervalSec,
    message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${code} to authenticate.`,
  };
}

/**
 * Approves (or declines) a pending device code as the user would in a browser (control API).
 *
 * @returns an error message, or undefined on success.
 */
export function settleDeviceCode(
  ctx: GrantContext,
  code: string,
  decision: { approve: boolean; upn?: string | undefined; deviceId?: string | undefined },
): string | undefined {
  const entry = [...ctx.state.deviceCodes.values()].find((e) => e.userCode === code.toUpperCase());
  if (!entry) return `no device code ${code}`;
  if (entry.status !== "pending") return `device code ${code} is ${entry.status}`;
  if (!decision.approve) {
    entry.status = "declined";
    return undefined;
  }
  const tenant = ctx.directory.findTenant(entry.tenantId)!;
  const user = decision.upn ? ctx.directory.findUser(tenant, decision.upn) : undefined;
  if (!user) return `no user ${decision.upn ?? "(none given)"} in tenant ${tenant.id}`;
  if (decision.deviceId && !ctx.directory.findDevice(tenant, decision.deviceId)) {
    return `no device ${decision.deviceId} in tenant ${tenant.id}`;
  }
  entry.userId = user.id;
  if (decision.deviceId) entry.deviceId = decision.deviceId.toLowerCase();
  entry.status = "approved";
  return undefined;
}
