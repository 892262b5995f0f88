/**
 * CCM tokens: what `/CCM_STS` hands out in exchange for a gateway-validated Entra identity and what
 * `/ccm_system_tokenauth/` accepts afterwards (docs/architecture.md § Configuration Manager specifics). A CCM token is
 * a JWT signed (RS256) by the MP's own signing key, the key whose certificate `?MPKEYINFORMATIONEX` publishes;
 * it lives 8 hours and names the tenant, the user and/or device and the token type. *(model: Microsoft does
 * not document the CCM token's format; the claims here are our own.)*
 */
import { createHash, randomUUID, type webcrypto } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { generateRsaKeys, selfSign } from "../lib/pki.js";
import { MpError } from "./errors.js";
import type { EntraIdentity, TokenKind } from "./identity.js";

/** Default CCM token lifetime: 8 hours. */
export const CCM_TOKEN_LIFETIME_SEC = 8 * 3600;

/** The MP's signing key and its self-signed "SMS Signing Certificate". */
export interface MpSigningMaterial {
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicKey: webcrypto.CryptoKey;
  readonly certificatePem: string;
  readonly certificateDer: Buffer;
  /** base64url SHA-1 thumbprint of the certificate (`kid` and `x5t` of CCM tokens). */
  readonly thumbprint: string;
}

/** Creates a fresh RSA-2048 signing key and certificate for an MP. */
export async function createMpSigningMaterial(commonName = "SMS Signing Certificate"): Promise<MpSigningMaterial> {
  const keys = await generateRsaKeys();
  const { pem, der } = await selfSign(keys, { commonName, days: 3650, isCa: false });
  return {
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    certificatePem: pem,
    certificateDer: der,
    thumbprint: createHash("sha1").update(der).digest("base64url"),
  };
}

/** The CCM-token kinds: an app identity cannot get one. */
export type CcmTokenKind = Exclude<TokenKind, "app">;

/** Who a valid CCM token speaks for. */
export interface CcmPrincipal {
  readonly tenantId: string;
  readonly kind: CcmTokenKind;
  /** The user's object ID (user and user+device tokens). */
  readonly userObjectId?: string;
  /** The Entra device ID (device and user+device tokens). */
  readonly deviceId?: string;
  readonly clientAppId?: string;
  /** `sub`: the device ID if any, else the user's object ID. */
  readonly subject: string;
  readonly expiresAt: number;
  readonly tokenId: string;
}

/** A freshly issued CCM token. */
export interface IssuedCcmToken {
  readonly token: string;
  readonly expiresIn: number;
  /** Expiry, seconds since the epoch. */
  readonly expiresOn: number;
  readonly kind: CcmTokenKind;
}

/** Issues and verifies CCM tokens of one MP. */
export interface CcmTokenService {
  /** The `iss` of this MP's CCM tokens. */
  readonly issuer: string;
  /** The `aud` of this MP's CCM tokens. */
  readonly audience: string;
  issue(identity: EntraIdentity): Promise<IssuedCcmToken>;
  /** Verifies signature, issuer, audience and lifetime; throws `ccm_token_invalid` or `ccm_token_expired`. */
  verify(token: string): Promise<CcmPrincipal>;
}

/** Options of {@link createCcmTokenService}. */
export interface CcmTokenOptions {
  readonly material: MpSigningMaterial;
  readonly siteCode: string;
  /** The MP's FQDN, used in `iss`/`aud`. */
  readonly mpFqdn: string;
  readonly lifetimeSec?: number;
  /** Clock skew accepted on `exp`/`nbf`, seconds; default 60. */
  readonly clockToleranceSec?: number;
  readonly now?: () => number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Creates the CCM token service of one MP. */
export function createCcmTokenService(options: CcmTokenOptions): CcmTokenService {
  const now = options.now ?? Date.now;
  const lifetime = options.lifetimeSec ?? CCM_TOKEN_LIFETIME_SEC;
  const issuer = `https://${options.mpFqdn}/CCM_STS`;
  const audience = `https://${options.mpFqdn}/ccm_system_tokenauth`;
  const { material } = options;

  return {
    issuer,
    audience,
    async issue(identity) {
      if (identity.kind === "app")
        throw new MpError("token_kind_not_allowed", "App identities cannot get a CCM token.");
      const kind = identity.kind;
      const iat = Math.floor(now() / 1000);
      const exp = iat + lifetime;
      const userObjectId = kind === "device" ? undefined : identity.objectId;
      const claims: Record<string, unknown> = {
        tid: identity.tenantId,
        token_type: kind,
        sitecode: options.siteCode,
        ...(userObjectId ? { oid: userObjectId } : {}),
        ...(identity.deviceId ? { deviceid: identity.deviceId } : {}),
        ...(identity.clientAppId ? { appid: identity.clientAppId } : {}),
      };
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: material.thumbprint, x5t: material.thumbprint })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(identity.deviceId ?? userObjectId ?? "")
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(material.privateKey);
      return { token, expiresIn: lifetime, expiresOn: exp, kind };
    },
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, material.publicKey, {
          algorithms: ["RS256"],
          issuer,
          audience,
          currentDate: new Date(now()),
          clockTolerance: options.clockToleranceSec ?? 60,
          requiredClaims: ["exp", "iat", "tid", "token_type", "sub", "jti"],
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new MpError("ccm_token_expired");
        const code = (err as { code?: string }).code ?? "ERR_JWT_INVALID";
        throw new MpError("ccm_token_invalid", `(${code})`);
      }
      // Claims are read only after the signature, issuer, audience and lifetime held (jose's order).
      const kind = payload.token_type;
      const tid = payload.tid;
      if (kind !== "user" && kind !== "device" && kind !== "user+device") {
        throw new MpError("ccm_token_invalid", "(token_type)");
      }
      if (typeof tid !== "string" || !GUID.test(tid)) throw new MpError("ccm_token_invalid", "(tid)");
      const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
      const userObjectId = str(payload.oid);
      const deviceId = str(payload.deviceid);
      const clientAppId = str(payload.appid);
      return {
        tenantId: tid,
        kind,
        ...(userObjectId ? { userObjectId } : {}),
        ...(deviceId ? { deviceId } : {}),
        ...(clientAppId ? { clientAppId } : {}),
        subject: String(payload.sub),
        expiresAt: Number(payload.exp),
        tokenId: String(payload.jti),
      };
    },
  };
}
