/**
 * Why a request was refused, and THE one table that maps each reason to an HTTP answer (docs/architecture.md § Rejections,
 * RFC 6750 §3). Nothing else in the gateway decides a status code or writes a `WWW-Authenticate` header
 * for an authentication failure.
 */

/** Every reason a request can be refused. Stable: used as a log field and a metric label. */
export const REJECTION_REASONS = [
  "token_missing",
  "request_malformed",
  "token_malformed",
  "alg_not_allowed",
  "tenant_unknown",
  "issuer_invalid",
  "key_not_found",
  "signature_invalid",
  "token_expired",
  "token_not_yet_valid",
  "audience_invalid",
  "client_app_invalid",
  "claim_invalid",
  "token_kind_not_allowed",
  "admin_service_only",
  "tenant_disabled",
  "keys_unavailable",
  "route_unknown",
] as const;

/** One of {@link REJECTION_REASONS}; a `switch` over it is exhaustive. */
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** What a challenge may say about the token's tenant, so a client learns where to get a token. */
export interface TenantChallenge {
  /** The registered tenant the token named (for logs and metrics; not sent to the client). */
  readonly tenantId: string;
  /** `https://{authority}/{tid}` (docs/architecture.md § Rejections). */
  readonly authorizationUri: string;
  /** The server app's App ID URI. */
  readonly resourceId: string;
}

/** A refused request. Plain data; turn it into HTTP with {@link rejectionResponse}. */
export interface Rejection {
  readonly ok: false;
  readonly reason: RejectionReason;
  /** Set once the token's tenant is known and registered. */
  readonly tenant: TenantChallenge | undefined;
  /** For `keys_unavailable`: when to try again, in seconds. */
  readonly retryAfterSec: number | undefined;
}

/** RFC 6750 §3.1 error codes (plus none). */
export type BearerError = "invalid_request" | "invalid_token" | "insufficient_scope";

/** One row of {@link REJECTION_TABLE}. */
export interface RejectionRow {
  readonly status: 400 | 401 | 403 | 404 | 503;
  /** `null`: no `WWW-Authenticate` header at all. `"none"`: a challenge without `error` (RFC 6750 §3.1). */
  readonly challenge: BearerError | "none" | null;
}

/**
 * The mapping (docs/architecture.md § Rejections). `route_unknown` is ours: a path no route rule matches is not found, whatever the
 * token says (docs/architecture.md § Configuration model: "unknown paths are refused").
 */
export const REJECTION_TABLE: Readonly<Record<RejectionReason, RejectionRow>> = Object.freeze({
  // RFC 6750 §3.1: "If the request lacks any authentication information … the resource server SHOULD NOT
  // include an error code or other error information."
  token_missing: { status: 401, challenge: "none" },
  request_malformed: { status: 400, challenge: "invalid_request" },
  token_malformed: { status: 401, challenge: "invalid_token" },
  alg_not_allowed: { status: 401, challenge: "invalid_token" },
  tenant_unknown: { status: 401, challenge: "invalid_token" },
  issuer_invalid: { status: 401, challenge: "invalid_token" },
  key_not_found: { status: 401, challenge: "invalid_token" },
  signature_invalid: { status: 401, challenge: "invalid_token" },
  token_expired: { status: 401, challenge: "invalid_token" },
  token_not_yet_valid: { status: 401, challenge: "invalid_token" },
  audience_invalid: { status: 401, challenge: "invalid_token" },
  client_app_invalid: { status: 401, challenge: "invalid_token" },
  claim_invalid: { status: 401, challenge: "invalid_token" },
  token_kind_not_allowed: { status: 403, challenge: "insufficient_scope" },
  admin_service_only: { status: 403, challenge: "insufficient_scope" },
  // Not a token problem: the admin turned Entra authentication off for this tenant.
  tenant_disabled: { status: 403, challenge: null },
  // Our problem, not the client's: 503 + Retry-After (RFC 9110 §15.6.4).
  keys_unavailable: { status: 503, challenge: null },
  route_unknown: { status: 404, challenge: null },
});

/** Generic `error_description`s: the precise reason goes to logs and metrics, never to the client. */
const DESCRIPTIONS: Readonly<Record<BearerError, string>> = Object.freeze({
  invalid_request: "The request is malformed",
  invalid_token: "The access token is invalid",
  insufficient_scope: "The access token does not grant access to this resource",
});

/** Fallback `Retry-After` when the key cache cannot tell when its next attempt is. */
export const DEFAULT_RETRY_AFTER_SEC = 30;

/** An HTTP answer to a rejection. */
export interface RejectionResponse {
  readonly status: RejectionRow["status"];
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** RFC 6750 error code for a JSON body, when the answer carries one. */
  readonly error: BearerError | undefined;
  readonly errorDescription: string | undefined;
}

/**
 * Creates a rejection value.
 *
 * @param reason why
 * @param tenant challenge data when the token's tenant is registered
 * @param retryAfterSec for `keys_unavailable`
 */
export function reject(reason: RejectionReason, tenant?: TenantChallenge, retryAfterSec?: number): Rejection {
  return { ok: false, reason, tenant, retryAfterSec };
}

/** RFC 7230 §3.2.6 quoted-string: escape `\` and `"`. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The HTTP status and headers for a rejection (docs/operations.md § Rejection reasons).
 *
 * @param rejection the refused request
 * @param realm the `realm` auth-param (RFC 6750 §3)
 * @example
 * const { status, headers } = rejectionResponse(result, "entra-gateway");
 * reply.code(status).headers(headers).send();
 */
export function rejectionResponse(rejection: Rejection, realm: string): RejectionResponse {
  const row = REJECTION_TABLE[rejection.reason];
  const headers: Record<string, string> = {};
  let error: BearerError | undefined;
  let errorDescription: string | undefined;
  if (row.challenge !== null) {
    let challenge = `Bearer realm=${quote(realm)}`;
    if (row.challenge !== "none") {
      error = row.challenge;
      errorDescription = DESCRIPTIONS[error];
      challenge += `, error=${quote(error)}, error_description=${quote(errorDescription)}`;
    }
    // docs/architecture.md § Rejections: the 401 challenge tells a client where to get a token for a known tenant.
    if (row.status === 401 && rejection.tenant !== undefined) {
      challenge += `, authorization_uri=${quote(rejection.tenant.authorizationUri)}, resource_id=${quote(rejection.tenant.resourceId)}`;
    }
    headers["www-authenticate"] = challenge;
  }
  if (rejection.reason === "keys_unavailable") {
    headers["retry-after"] = String(Math.max(1, Math.ceil(rejection.retryAfterSec ?? DEFAULT_RETRY_AFTER_SEC)));
  }
  return { status: row.status, headers, error, errorDescription };
}
