/**
 * Who is calling? The connection's TLS peer (is it the gateway, authenticated by its client certificate?)
 * and the Entra identity the gateway validated and forwarded as `x-entra-*` headers (docs/architecture.md § Proxy). The
 * headers are believed only from a trusted peer; from anyone else they are ignored.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import { MpError } from "./errors.js";

/** The kind of Entra token the gateway validated (docs/architecture.md § Token classification). */
export type TokenKind = "user" | "device" | "user+device" | "app";

/** Every token kind, as sent in `x-entra-token-kind`. */
export const TOKEN_KINDS: readonly TokenKind[] = ["user", "device", "user+device", "app"];

/** The gateway-validated identity of one request. */
export interface EntraIdentity {
  readonly tenantId: string;
  readonly kind: TokenKind;
  /** `oid`: the user (user kinds), the device object (device tokens) or the service principal (app). */
  readonly objectId?: string;
  /** `deviceid` (device and user+device tokens). */
  readonly deviceId?: string;
  /** `appid`/`azp` when the token carried one. */
  readonly clientAppId?: string;
}

/** How the listener treats client certificates. */
export type ClientCertificateMode = "require" | "optional" | "off";

/** Client-certificate policy of the listener. */
export interface PeerPolicy {
  /**
   * `require` (default): the TLS handshake demands a certificate chaining to the CA; `optional`: asked for,
   * connections without one are served anonymous endpoints only; `off`: not asked for, and identity headers
   * are believed from anyone (benchmarks without mTLS only).
   */
  readonly mode: ClientCertificateMode;
  /** Subject CNs allowed to send identity headers; empty = any certificate chaining to the CA. */
  readonly allowedSubjects: readonly string[];
}

/** The TLS peer of a request, as the audit records it. */
export interface PeerInfo {
  readonly remoteAddress: string;
  /** The peer presented a certificate that chains to the CA. */
  readonly authenticated: boolean;
  /** Identity headers from this peer are believed. */
  readonly trusted: boolean;
  /** Subject CN of the presented certificate, if any. */
  readonly subject?: string;
  /** SHA-256 fingerprint of the presented certificate, if any. */
  readonly fingerprint256?: string;
  /** Why an authenticated peer is not trusted, or why its certificate failed (optional mode). */
  readonly refusal?: "client_certificate_required" | "client_certificate_not_allowed";
}

/** Describes the peer of `socket` under `policy`. */
export function describePeer(socket: TLSSocket, policy: PeerPolicy): PeerInfo {
  const remoteAddress = socket.remoteAddress ?? "";
  if (policy.mode === "off") return { remoteAddress, authenticated: false, trusted: true };
  const cert = socket.getPeerCertificate();
  const present = cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
  const subjectCn = present ? cert.subject?.CN : undefined;
  const subject = Array.isArray(subjectCn) ? subjectCn.join(",") : subjectCn;
  const base = {
    remoteAddress,
    ...(subject !== undefined ? { subject } : {}),
    ...(present && cert.fingerprint256 ? { fingerprint256: cert.fingerprint256 } : {}),
  };
  if (!present || !socket.authorized) {
    return { ...base, authenticated: false, trusted: false, refusal: "client_certificate_required" };
  }
  if (policy.allowedSubjects.length > 0 && (subject === undefined || !policy.allowedSubjects.includes(subject))) {
    return { ...base, authenticated: true, trusted: false, refusal: "client_certificate_not_allowed" };
  }
  return { ...base, authenticated: true, trusted: true };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The identity headers the gateway sets (docs/architecture.md § Proxy), lower-case as Node delivers them. */
export const IDENTITY_HEADERS = {
  tenantId: "x-entra-tenant-id",
  objectId: "x-entra-object-id",
  deviceId: "x-entra-device-id",
  clientAppId: "x-entra-client-app-id",
  kind: "x-entra-token-kind",
} as const;

/** True when the request carries any `x-entra-*` header. */
export function hasIdentityHeaders(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some((name) => name.startsWith("x-entra-"));
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw new MpError("identity_header_invalid", `${name} is repeated.`);
  return value.trim();
}

function guidHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = single(headers, name);
  if (value === undefined || value === "") return undefined;
  if (!GUID.test(value)) throw new MpError("identity_header_invalid", `${name} must be a GUID.`);
  return value.toLowerCase();
}

/**
 * Reads the identity headers. Returns `undefined` when none is present; throws `identity_header_invalid`
 * when they are inconsistent: the tenant and kind are required, user kinds need an object ID, device kinds
 * a device ID, and every ID is a GUID.
 */
export function readIdentityHeaders(headers: IncomingHttpHeaders): EntraIdentity | undefined {
  if (!hasIdentityHeaders(headers)) return undefined;
  const tenantId = guidHeader(headers, IDENTITY_HEADERS.tenantId);
  if (!tenantId) throw new MpError("identity_header_invalid", `${IDENTITY_HEADERS.tenantId} is required.`);
  const rawKind = single(headers, IDENTITY_HEADERS.kind)?.toLowerCase();
  if (!rawKind || !(TOKEN_KINDS as readonly string[]).includes(rawKind)) {
    throw new MpError("identity_header_invalid", `${IDENTITY_HEADERS.kind} must be one of ${TOKEN_KINDS.join(", ")}.`);
  }
  const kind = rawKind as TokenKind;
  const objectId = guidHeader(headers, IDENTITY_HEADERS.objectId);
  const deviceId = guidHeader(headers, IDENTITY_HEADERS.deviceId);
  const clientAppId = guidHeader(headers, IDENTITY_HEADERS.clientAppId);
  if ((kind === "user" || kind === "user+device" || kind === "app") && !objectId) {
    throw new MpError("identity_header_invalid", `${IDENTITY_HEADERS.objectId} is required for ${kind} identities.`);
  }
  if ((kind === "device" || kind === "user+device") && !deviceId) {
    throw new MpError("identity_header_invalid", `${IDENTITY_HEADERS.deviceId} is required for ${kind} identities.`);
  }
  return {
    tenantId,
    kind,
    ...(objectId ? { objectId } : {}),
    ...(deviceId ? { deviceId } : {}),
    ...(clientAppId ? { clientAppId } : {}),
  };
}
