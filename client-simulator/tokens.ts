/**
 * Where a simulated client gets its Entra tokens (docs/architecture.md § Data flow, step 4), as a real Configuration Manager client:
 *
 * - a **device token** through the device-token grant: the device signs a short request JWT (ES256, `kid` =
 *   device ID) with its private key and posts it to the tenant's v1 token endpoint with `resource` = the
 *   server app's App ID URI;
 * - a **user token** through msal-node (`PublicClientApplication`, username/password), scope
 *   `{App ID URI}/.default`, client = the tenant's client app.
 *
 * Both ask the authority the gateway named in `AADAuthInfo`. Device private keys are **simulation material**:
 * `stack.json` lists device IDs only, so the keys are read from the emulator's test-only `/_sim/directory`
 * (a real device keeps its key in its TPM).
 */
import { randomUUID } from "node:crypto";
import { PublicClientApplication } from "@azure/msal-node";
import { type CryptoKey, decodeProtectedHeader, importJWK, type JWK, SignJWT } from "jose";
import { createMsalNetworkClient } from "../lib/msal-network.js";
import { type HttpClient, jsonOf, stringProperty } from "./http.js";

/** The gateway's `AADAuthInfo` answer: what to ask Entra for. */
export interface AuthInfo {
  readonly TenantId: string;
  readonly ClientAppId: string;
  readonly ResourceUri: string;
  /** `https://{authority host}/{tenantId}`. */
  readonly Authority: string;
}

/** A token the client holds, with what it needs to know about it. */
export interface HeldToken {
  readonly token: string;
  readonly kind: "device" | "user";
  /** `kid` of the signing key (to tell which tokens a key revocation hits). */
  readonly kid: string;
}

/** Why a grant failed: Entra's `error` and the AADSTS code, when it answered. */
export class TokenError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** `aud` of a device request: the real cloud authority, as a device computes it (not the emulator's host). */
const CLOUD_AUTHORITY_HOST: Readonly<Record<string, string>> = {
  AzurePublicCloud: "login.microsoftonline.com",
  AzureUSGovernmentCloud: "login.microsoftonline.us",
};

/** Device private keys by device ID, read from the emulator's `/_sim/directory` (simulation material). */
export async function loadDeviceKeys(http: HttpClient, entraUrl: string): Promise<Map<string, JWK>> {
  const res = await http.send({ method: "GET", url: `${entraUrl}/_sim/directory` });
  if (res.status !== 200) {
    throw new Error(`GET ${entraUrl}/_sim/directory answered ${res.status}: the emulator's control API is needed`);
  }
  const keys = new Map<string, JWK>();
  const body = jsonOf(res) as { tenants?: { devices?: { deviceId: string; privateKeyJwk?: JWK }[] }[] } | undefined;
  for (const tenant of body?.tenants ?? []) {
    for (const device of tenant.devices ?? []) {
      if (device.privateKeyJwk) keys.set(device.deviceId, device.privateKeyJwk);
    }
  }
  return keys;
}

/** The `kid` a token's header names ("" when it cannot be read). */
export function kidOf(token: string): string {
  try {
    return decodeProtectedHeader(token).kid ?? "";
  } catch {
    return "";
  }
}

/** Gets tokens for the fleet; one msal application per (authority, client app), as on a real machine. */
export interface TokenSource {
  deviceToken(info: AuthInfo, cloud: string, deviceId: string): Promise<HeldToken>;
  userToken(info: AuthInfo, upn: string, password: string): Promise<HeldToken>;
  close(): Promise<void>;
}

/** Creates the fleet's token source. */
export function createTokenSource(options: {
  readonly http: HttpClient;
  readonly caPem: string;
  readonly deviceKeys: ReadonlyMap<string, JWK>;
}): TokenSource {
  const network = createMsalNetworkClient(options.caPem);
  const apps = new Map<string, PublicClientApplication>();
  const importedKeys = new Map<string, Promise<CryptoKey | Uint8Array>>();

  const appFor = (info: AuthInfo) => {
    const id = `${info.Authority}|${info.ClientAppId}`;
    let app = apps.get(id);
    if (!app) {
      app = new PublicClientApplication({
        auth: {
          clientId: info.ClientAppId,
          authority: info.Authority,
          // Offline: never ask Microsoft's instance discovery (docs/architecture.md § msal-node against a local authority).
          knownAuthorities: [new URL(info.Authority).host],
        },
        system: { networkClient: network },
      });
      apps.set(id, app);
    }
    return app;
  };

  return {
    async deviceToken(info, cloud, deviceId) {
      const jwk = options.deviceKeys.get(deviceId);
      if (!jwk) throw new TokenError(0, "no_device_key", `no private key for device ${deviceId}`);
      let key = importedKeys.get(deviceId);
      if (!key) {
        key = importJWK(jwk, "ES256");
        importedKeys.set(deviceId, key);
      }
      const host = CLOUD_AUTHORITY_HOST[cloud] ?? CLOUD_AUTHORITY_HOST.AzurePublicCloud!;
      // The device-token grant's request (emulator README): iss = sub = device ID, single-use jti, ≤ 10 min.
      const request = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: "ES256", kid: deviceId })
        .setIssuer(deviceId)
        .setSubject(deviceId)
        .setAudience(`https://${host}/${info.TenantId}`)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(await key);
      const res = await options.http.send({
        method: "POST",
        url: `${info.Authority}/oauth2/token`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
          request,
          resource: info.ResourceUri,
        }).toString(),
      });
      const body = jsonOf(res);
      const token = stringProperty(body, "access_token");
      if (res.status !== 200 || token === undefined) {
        const error = stringProperty(body, "error") ?? "invalid_response";
        const description = stringProperty(body, "error_description") ?? res.text.slice(0, 200);
        throw new TokenError(res.status, error, description.split("\n", 1)[0] ?? error);
      }
      return { token, kind: "device", kid: kidOf(token) };
    },

    async userToken(info, upn, password) {
      try {
        const result = await appFor(info).acquireTokenByUsernamePassword({
          scopes: [`${info.ResourceUri.replace(/\/$/, "")}/.default`],
          username: upn,
          password,
        });
        if (!result?.accessToken) throw new TokenError(0, "no_token", "msal returned no access token");
        return { token: result.accessToken, kind: "user", kid: kidOf(result.accessToken) };
      } catch (err) {
        if (err instanceof TokenError) throw err;
        const e = err as { errorCode?: string; message?: string };
        throw new TokenError(0, e.errorCode || "msal_error", (e.message ?? String(err)).split("\n", 1)[0]!);
      }
    },

    close: () => network.close(),
  };
}
