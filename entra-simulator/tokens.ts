/**
 * Access tokens shaped like Microsoft Entra ID's (docs/architecture.md § Tokens): v1 and v2, user, device, user+device
 * and app-only. The emulator builds claims here and signs them with the tenant's current key.
 */
import { createHash, randomBytes, randomInt, sign } from "node:crypto";
import { type Cloud, issuerFor } from "./clouds.js";
import type { SigningKey } from "./keys.js";
import type { DirectoryApp, DirectoryDevice, DirectoryUser } from "./seed.js";

/** What kind of principal a token represents. */
export type TokenKind = "user" | "device" | "user+device" | "app";

/** How the client authenticated (`appidacr`/`azpacr`): public client, secret, certificate. */
export type ClientAuthClass = "0" | "1" | "2";

/** Everything a token is built from. */
export interface TokenSubject {
  readonly tenantId: string;
  readonly cloud: Cloud;
  readonly version: 1 | 2;
  /** `aud`: v1 the resource exactly as requested; v2 the resource app's client ID. */
  readonly audience: string;
  /** The requesting client (`appid`/`azp`); absent for device tokens obtained without a client. */
  readonly client?: DirectoryApp | undefined;
  readonly clientAuth: ClientAuthClass;
  readonly user?: DirectoryUser | undefined;
  readonly device?: DirectoryDevice | undefined;
  /** Delegated scopes (`scp`, user tokens). */
  readonly scopes?: readonly string[] | undefined;
  /** Application permissions (`roles`, app tokens). */
  readonly roles?: readonly string[] | undefined;
  /** Authentication methods (`amr`). */
  readonly amr?: readonly string[] | undefined;
  readonly nowSec: number;
  /** Lifetime in seconds; default random 60–90 minutes, as Entra does. */
  readonly lifetimeSec?: number | undefined;
}

/** Classifies a subject: app when there is neither user nor device. */
export function kindOf(subject: Pick<TokenSubject, "user" | "device">): TokenKind {
  if (subject.user && subject.device) return "user+device";
  if (subject.user) return "user";
  if (subject.device) return "device";
  return "app";
}

function opaque(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

/** The pairwise `sub`: stable per (principal, app), opaque to anyone else. */
function pairwiseSub(objectId: string, appId: string): string {
  return createHash("sha256").update(`${objectId}|${appId}`).digest("base64url");
}

/** Builds the claim set of an access token. */
export function buildAccessClaims(s: TokenSubject): Record<string, unknown> {
  const kind = kindOf(s);
  const iat = s.nowSec;
  const lifetime = s.lifetimeSec ?? randomInt(3600, 5401);
  const v1 = s.version === 1;
  const c: Record<string, unknown> = {
    aud: s.audience,
    iss: issuerFor(v1 ? s.cloud.v1Issuer : s.cloud.v2Issuer, s.tenantId),
    iat,
    nbf: iat,
    exp: iat + lifetime,
  };
  if (v1 && kind !== "app" && kind !== "device") c.acr = "1";
  c.aio = opaque(45);
  if (kind === "device") c.amr = s.amr ?? ["rsa"];
  else if (kind !== "app") c.amr = s.amr ?? ["pwd"];
  if (s.client) {
    c[v1 ? "appid" : "azp"] = s.client.appId;
    c[v1 ? "appidacr" : "azpacr"] = s.clientAuth;
  }
  if (kind === "device" || kind === "user+device") c.deviceid = s.device!.deviceId;
  if (s.user) {
    c.family_name = s.user.surname;
    c.given_name = s.user.givenName;
    if (v1) c.ipaddr = "127.0.0.1";
    c.name = s.user.displayName;
    c.oid = s.user.id;
    if (s.user.onPremisesSecurityIdentifier) c.onprem_sid = s.user.onPremisesSecurityIdentifier;
    if (!v1) c.preferred_username = s.user.userPrincipalName;
  } else if (kind === "device") {
    c.idtyp = "device";
    c.oid = s.device!.id;
  } else {
    c.idp = issuerFor(s.cloud.v1Issuer, s.tenantId);
    c.idtyp = "app";
    c.oid = s.client?.servicePrincipalId;
  }
  c.rh = `0.A${opaque(48)}.`;
  if (s.roles && s.roles.length > 0) c.roles = [...s.roles];
  if (s.scopes && s.scopes.length > 0 && s.user) c.scp = s.scopes.join(" ");
  // Device tokens: sub == deviceid (docs/architecture.md § Tokens); app tokens: sub == oid; users: pairwise per client app.
  c.sub =
    kind === "device" ? s.device!.deviceId : kind === "app" ? c.oid : pairwiseSub(s.user!.id, s.client?.appId ?? "");
  c.tid = s.tenantId;
  if (s.user && v1) {
    c.unique_name = s.user.userPrincipalName;
    c.upn = s.user.userPrincipalName;
  }
  c.uti = opaque(16);
  c.ver = v1 ? "1.0" : "2.0";
  return c;
}

/** Builds a v1/v2 ID token (msal-node reads it, but does not check its signature). */
export function buildIdTokenClaims(s: TokenSubject, nonce?: string): Record<string, unknown> {
  const user = s.user!;
  const client = s.client!;
  const c: Record<string, unknown> = {
    aud: client.appId,
    iss: issuerFor(s.cloud.v2Issuer, s.tenantId),
    iat: s.nowSec,
    nbf: s.nowSec,
    exp: s.nowSec + 3600,
    name: user.displayName,
    oid: user.id,
    preferred_username: user.userPrincipalName,
    rh: `0.A${opaque(48)}.`,
    sub: pairwiseSub(user.id, client.appId),
    tid: s.tenantId,
    uti: opaque(16),
    ver: "2.0",
  };
  if (nonce) c.nonce = nonce;
  return c;
}

/** Header members of a token; the caller may add, override (e.g. an unknown `kid`) or remove (`null`) any. */
export type JoseHeader = Record<string, unknown>;

/** Signs claims with `key` (RS256). v1 tokens carry `x5t` as Entra's do; v2 tokens only `kid`. */
export function signToken(
  claims: Record<string, unknown>,
  key: SigningKey,
  version: 1 | 2,
  headerOverrides: JoseHeader = {},
): string {
  const header: JoseHeader = { typ: "JWT", alg: "RS256", ...(version === 1 ? { x5t: key.kid } : {}), kid: key.kid };
  for (const [name, value] of Object.entries(headerOverrides)) {
    if (value === null) delete header[name];
    else header[name] = value;
  }
  const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = sign("sha256", Buffer.from(input), key.privateKey).toString("base64url");
  return `${input}.${signature}`;
}

/** `client_info` of a token response: base64url `{"uid": oid, "utid": tid}` (msal-node builds its account from it). */
export function clientInfo(objectId: string, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: objectId, utid: tenantId })).toString("base64url");
}
