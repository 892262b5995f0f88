/**
 * Analyzer stage 3 — can a client of the tenant get a token for the server app? The token a Configuration
 * Manager client would present: audience the server app's App ID URI, client the tenant's native app.
 *
 * - **user** (`--user UPN`): msal-node's username/password grant as the native app, scope
 *   `{App ID URI}/.default`. Non-interactive, so it needs the user's password (from the caller) and an
 *   account without multi-factor authentication; without a password the stage is skipped, saying so.
 * - **device** (`--device`): Entra issues a device token only to the device itself, which proves possession of
 *   its registered key (held in its TPM). Against Microsoft's authorities that cannot be done from here: the
 *   stage is skipped. Against a local authority (the repository's Entra emulator), the device's simulation key
 *   is read from the emulator's test-only directory (`GET /_sim/directory`, docs/simulators.md) and the
 *   device-token grant is run as a device would: an ES256 request JWT (`kid` = `iss` = `sub` = device ID,
 *   `aud` = the real cloud's authority URL of the tenant, single-use `jti`, 5 minutes) posted to the v1 token
 *   endpoint with `resource` = the App ID URI.
 *
 * The token goes back to the analyzer for stages 5 and 6 and is never printed: the detail names its kind,
 * key ID, audience, client and SHA-256 fingerprint.
 */
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import { PublicClientApplication } from "@azure/msal-node";
import type { TenantEntry } from "../auth/tenants.js";
import { DEFAULT_ENVIRONMENTS } from "../config/schema.js";
import { tokenFingerprint } from "../observability/logger.js";
import type { EntraEndpoints } from "../onboarding/entra-endpoints.js";
import { toEntraFailure } from "../onboarding/entra-errors.js";
import { readBoundedText } from "./bounded-body.js";
import { classifyNetworkError, entraHint } from "./hints.js";
import type { StageOutcome } from "./stage.js";

/** Which client token stage 3 gets. */
export type AnalyzerIdentity =
  | { readonly kind: "user"; readonly upn: string; readonly password: string | undefined }
  | { readonly kind: "device"; readonly deviceId?: string | undefined };

/** Stage 3's outcome, with the token for the later stages when it passed. */
export type ClientTokenOutcome = StageOutcome & { readonly token?: string };

/** The environment variable the CLI reads the `--user` password from. */
export const PASSWORD_ENV = "ENTRA_GATEWAY_ANALYZE_PASSWORD";

/** Largest token endpoint or directory answer read. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Claims of a token for the stage's detail (unverified: for display only, stage 6 verifies). */
function describeToken(token: string, kind: string): string {
  let claims: Record<string, unknown> = {};
  let kid: unknown;
  try {
    const [h, p] = token.split(".");
    kid = (JSON.parse(Buffer.from(h ?? "", "base64url").toString("utf8")) as { kid?: unknown }).kid;
    claims = JSON.parse(Buffer.from(p ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return `${kind} (not a readable JWT), fingerprint ${tokenFingerprint(token)}`;
  }
  const client = claims.appid ?? claims.azp;
  const clientText = client === undefined ? "no client app claim" : `client ${JSON.stringify(client)}`;
  return `${kind}, kid ${String(kid)}, aud ${JSON.stringify(claims.aud)}, ${clientText}, fingerprint ${tokenFingerprint(token)}`;
}

function entraFailed(err: unknown, endpoints: EntraEndpoints, tenantId: string, what: string): ClientTokenOutcome {
  const failure = toEntraFailure(err);
  return {
    status: "fail",
    detail: `${what}: ${failure.message}`,
    hint: entraHint(failure.code, endpoints.authority(tenantId)),
  };
}

async function userToken(
  endpoints: EntraEndpoints,
  tenant: TenantEntry,
  clientAppId: string,
  upn: string,
  password: string,
): Promise<ClientTokenOutcome> {
  const app = new PublicClientApplication({
    auth: {
      clientId: clientAppId,
      authority: endpoints.authority(tenant.tenantId),
      knownAuthorities: [...endpoints.knownAuthorities],
    },
    system: { networkClient: endpoints.networkClient },
  });
  const what = `user token for ${upn} (client app ${clientAppId}, password grant)`;
  try {
    const result = await app.acquireTokenByUsernamePassword({
      scopes: [`${tenant.appIdUri.replace(/\/+$/, "")}/.default`],
      username: upn,
      password,
    });
    if (!result?.accessToken) return { status: "fail", detail: `${what}: msal returned no access token` };
    return {
      status: "pass",
      detail: describeToken(result.accessToken, `user token for ${upn}`),
      token: result.accessToken,
    };
  } catch (err) {
    return entraFailed(err, endpoints, tenant.tenantId, what);
  }
}

interface EmulatorDevice {
  readonly deviceId: string;
  readonly enabled?: boolean;
  readonly privateKeyJwk?: Record<string, unknown>;
}

/** The device's simulation key from the emulator's directory, or why there is none. */
async function emulatorDevice(
  endpoints: EntraEndpoints,
  tenantId: string,
  deviceId: string | undefined,
  signal: AbortSignal,
): Promise<EmulatorDevice | string> {
  const url = `https://${endpoints.authorityHost}/_sim/directory`;
  let text: string;
  let status: number;
  try {
    const res = await endpoints.dispatcher.request({
      origin: `https://${endpoints.authorityHost}`,
      path: "/_sim/directory",
      method: "GET",
      headers: { accept: "application/json" },
      signal,
    });
    status = res.statusCode;
    text = await readBoundedText(res.body, MAX_ANSWER_BYTES);
  } catch (err) {
    return `GET ${url}: ${classifyNetworkError(err).text}`;
  }
  if (status !== 200)
    return `the authority ${endpoints.authorityHost} has no emulator directory (GET ${url}: HTTP ${status})`;
  const directory = JSON.parse(text) as { tenants?: { id: string; devices?: EmulatorDevice[] }[] };
  const devices = directory.tenants?.find((t) => t.id === tenantId)?.devices ?? [];
  const device =
    deviceId === undefined
      ? devices.find((d) => d.enabled !== false && d.privateKeyJwk !== undefined)
      : devices.find((d) => d.deviceId.toLowerCase() === deviceId.toLowerCase());
  if (device?.privateKeyJwk === undefined) {
    return deviceId === undefined
      ? `the emulator has no enabled device with a key in tenant ${tenantId}`
      : `the emulator has no device ${deviceId} with a key in tenant ${tenantId}`;
  }
  return device;
}

async function deviceToken(
  endpoints: EntraEndpoints,
  tenant: TenantEntry,
  deviceId: string | undefined,
  signal: AbortSignal,
): Promise<ClientTokenOutcome> {
  if (endpoints.knownAuthorities.length === 0) {
    return {
      status: "skip",
      detail: `Entra (${endpoints.authorityHost}) issues a device token only to the device itself, which signs with its TPM-held key: it cannot be done from here`,
      hint: "run the analyzer with --user UPN, or check a device's token with `entra-gateway explain-token`",
    };
  }
  const device = await emulatorDevice(endpoints, tenant.tenantId, deviceId, signal);
  if (typeof device === "string") {
    return {
      status: "skip",
      detail: `no device key to sign with: ${device}`,
      hint: "a device token needs the device's own key; run the analyzer with --user UPN instead",
    };
  }
  // The device's request (the emulator's device-token grant, docs/simulators.md): aud is the real cloud's
  // authority URL, as the device computes it, whatever host the authority runs on.
  const cloudHost = DEFAULT_ENVIRONMENTS[endpoints.environment].authorityHost;
  const now = Math.floor(Date.now() / 1000);
  const signingInput = `${base64url({ alg: "ES256", kid: device.deviceId, typ: "JWT" })}.${base64url({
    jti: randomUUID(),
    iss: device.deviceId,
    sub: device.deviceId,
    aud: `https://${cloudHost}/${tenant.tenantId}`,
    iat: now,
    exp: now + 300,
  })}`;
  const key = createPrivateKey({ key: device.privateKeyJwk as never, format: "jwk" });
  const signature = sign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" });
  const what = `device token for device ${device.deviceId} (device-token grant)`;
  const target = new URL(`${endpoints.authority(tenant.tenantId)}/oauth2/token`);
  let body: Record<string, unknown>;
  let status: number;
  try {
    const res = await endpoints.dispatcher.request({
      origin: target.origin,
      path: target.pathname,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        request: `${signingInput}.${signature.toString("base64url")}`,
        resource: tenant.appIdUri,
      }).toString(),
      signal,
    });
    status = res.statusCode;
    const text = await readBoundedText(res.body, MAX_ANSWER_BYTES);
    body = (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
  } catch (err) {
    return entraFailed(err, endpoints, tenant.tenantId, what);
  }
  const token = body.access_token;
  if (status !== 200 || typeof token !== "string") return entraFailed(body, endpoints, tenant.tenantId, what);
  return { status: "pass", detail: describeToken(token, `device token of device ${device.deviceId}`), token };
}

/**
 * Runs stage 3.
 *
 * @param endpoints the tenant environment's Entra endpoints
 * @param tenant the tenant as the gateway registers it (App ID URI, client app)
 * @param identity which token to get; undefined skips the stage
 * @param signal aborts the requests (stage timeout)
 */
export async function getClientToken(
  endpoints: EntraEndpoints,
  tenant: TenantEntry,
  identity: AnalyzerIdentity | undefined,
  signal: AbortSignal,
): Promise<ClientTokenOutcome> {
  if (identity === undefined) {
    return {
      status: "skip",
      detail: "no client identity asked for",
      hint: "give --user UPN or --device to check a client's token through the gateway",
    };
  }
  if (identity.kind === "device") return deviceToken(endpoints, tenant, identity.deviceId, signal);
  if (tenant.clientAppId === undefined) {
    return {
      status: "fail",
      detail: "the service has no nativeApp: clients of this tenant have no app to ask for a token with",
      hint: "give the service its client (native) app: see docs/onboarding.md",
    };
  }
  if (identity.password === undefined || identity.password === "") {
    return {
      status: "skip",
      detail: `no password for ${identity.upn}: a user token without interaction needs the password grant`,
      hint: `set ${PASSWORD_ENV} to the user's password (an account without multi-factor authentication)`,
    };
  }
  return userToken(endpoints, tenant, tenant.clientAppId, identity.upn, identity.password);
}
