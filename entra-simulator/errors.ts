/**
 * Entra's token-endpoint errors (docs/architecture.md § msal-node against a local authority): one table from an emulator error code to the
 * OAuth `error`, the AADSTS number, the HTTP status and the message, rendered in Entra's JSON shape.
 */
import { randomUUID } from "node:crypto";

/** Every AADSTS error the emulator answers with. */
export const AADSTS = {
  tenantNotFound: {
    aadsts: 90002,
    error: "invalid_request",
    status: 400,
    message:
      "Tenant '{0}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
  },
  /** The same AADSTS90002 as Entra's discovery and key endpoints answer it: OAuth error `invalid_tenant`. */
  tenantNotFoundOnDiscovery: {
    aadsts: 90002,
    error: "invalid_tenant",
    status: 400,
    message:
      "Tenant '{0}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
  },
  missingParameter: {
    aadsts: 900144,
    error: "invalid_request",
    status: 400,
    message: "The request body must contain the following parameter: '{0}'.",
  },
  malformedBody: {
    aadsts: 900144,
    error: "invalid_request",
    status: 400,
    message: "The request body must be application/x-www-form-urlencoded: {0}",
  },
  bodyTooLarge: {
    aadsts: 90013,
    error: "invalid_request",
    status: 413,
    message: "Invalid input received from the user: the request body exceeds {0} bytes.",
  },
  unsupportedGrant: {
    aadsts: 70003,
    error: "unsupported_grant_type",
    status: 400,
    message: "The app requested an unsupported grant type '{0}'.",
  },
  unknownClient: {
    aadsts: 700016,
    error: "unauthorized_client",
    status: 400,
    message:
      "Application with identifier '{0}' was not found in the directory '{1}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
  },
  missingClientSecret: {
    aadsts: 7000218,
    error: "invalid_client",
    status: 401,
    message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  invalidClientSecret: {
    aadsts: 7000215,
    error: "invalid_client",
    status: 401,
    message:
      "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{0}'.",
  },
  expiredClientSecret: {
    aadsts: 7000222,
    error: "invalid_client",
    status: 401,
    message:
      "The provided client secret keys for app '{0}' are expired. Visit the Azure portal to create new keys for your app.",
  },
  publicClientSecret: {
    aadsts: 700025,
    error: "invalid_client",
    status: 400,
    message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
  },
  invalidResource: {
    aadsts: 500011,
    error: "invalid_resource",
    status: 400,
    message:
      "The resource principal named {0} was not found in the tenant named {1}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
  },
  invalidScope: {
    aadsts: 70011,
    error: "invalid_scope",
    status: 400,
    message:
      "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: {0}",
  },
  consentRequired: {
    aadsts: 65001,
    error: "invalid_grant",
    status: 400,
    message:
      "The user or administrator has not consented to use the application with ID '{0}'. Send an interactive authorization request for this user and resource.",
  },
  userNotFound: {
    aadsts: 50034,
    error: "invalid_grant",
    status: 400,
    message:
      "The user account {0} does not exist in the {1} directory. To sign into this application, the account must be added to the directory.",
  },
  invalidPassword: {
    aadsts: 50126,
    error: "invalid_grant",
    status: 400,
    message: "Error validating credentials due to invalid username or password.",
  },
  userDisabled: { aadsts: 50057, error: "invalid_grant", status: 400, message: "The user account is disabled." },
  deviceNotFound: {
    aadsts: 700003,
    error: "invalid_grant",
    status: 400,
    message: "Device object was not found in the tenant '{0}' directory.",
  },
  deviceDisabled: {
    aadsts: 135011,
    error: "invalid_grant",
    status: 400,
    message: "Device used during the authentication is disabled.",
  },
  invalidAssertion: {
    aadsts: 50013,
    error: "invalid_grant",
    status: 400,
    message: "Assertion failed signature validation. [Reason - {0}]",
  },
  assertionReplayed: {
    aadsts: 500133,
    error: "invalid_grant",
    status: 400,
    message: "Assertion is not within its valid time range or has already been used. [Reason - {0}]",
  },
  authorizationPending: {
    aadsts: 70016,
    error: "authorization_pending",
    status: 400,
    message: "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
  },
  deviceCodeExpired: { aadsts: 70019, error: "expired_token", status: 400, message: "Verification code expired." },
  deviceCodeDeclined: {
    aadsts: 70000,
    error: "authorization_declined",
    status: 400,
    message: "The user declined the authentication request.",
  },
  invalidDeviceCode: {
    aadsts: 70000,
    error: "invalid_grant",
    status: 400,
    message: "Provided grant is invalid or malformed: unknown device code.",
  },
  invalidRefreshToken: {
    aadsts: 9002313,
    error: "invalid_grant",
    status: 400,
    message: "Invalid request. Request is malformed or invalid.",
  },
  expiredRefreshToken: {
    aadsts: 700082,
    error: "invalid_grant",
    status: 400,
    message: "The refresh token has expired due to inactivity.",
  },
  temporarilyUnavailable: {
    aadsts: 90033,
    error: "temporarily_unavailable",
    status: 503,
    message: "A transient error has occurred. Please try again.",
  },
} as const;

/** An emulator error code (a key of {@link AADSTS}). */
export type AadErrorCode = keyof typeof AADSTS;

/** A coded token-endpoint failure, thrown by grant handlers and rendered by the server. */
export class AadError extends Error {
  readonly code: AadErrorCode;
  readonly args: readonly string[];
  constructor(code: AadErrorCode, ...args: string[]) {
    super(AADSTS[code].message.replace(/\{(\d)\}/g, (_, i: string) => args[Number(i)] ?? ""));
    this.code = code;
    this.args = args;
  }
  get status(): number {
    return AADSTS[this.code].status;
  }
}

/** Entra's error body: `{error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}`. */
export function aadErrorBody(err: AadError, now: Date, correlationId: string = randomUUID()): Record<string, unknown> {
  const entry = AADSTS[err.code];
  const traceId = randomUUID();
  const timestamp = now
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  return {
    error: entry.error,
    error_description: `AADSTS${entry.aadsts}: ${err.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [entry.aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${entry.aadsts}`,
  };
}
