/**
 * The management point simulator's error table: every refusal it answers with, its HTTP status and a
 * generic description, in one place. Handlers throw {@link MpError} with a code; the server renders it
 * (plain JSON for CM endpoints, OData's error shape under `/AdminService/`).
 */

/** Every error code the simulator answers with. */
export const MP_ERRORS = {
  not_found: { status: 404, description: "No such endpoint." },
  method_not_allowed: { status: 405, description: "Method not allowed on this endpoint." },
  client_certificate_required: {
    status: 403,
    description: "This endpoint needs a connection authenticated with the gateway's client certificate.",
  },
  client_certificate_not_allowed: {
    status: 403,
    description: "The client certificate's subject is not allowed to call the management point.",
  },
  identity_missing: { status: 401, description: "No gateway-validated Entra identity came with the request." },
  identity_header_invalid: { status: 400, description: "An x-entra-* identity header is malformed." },
  token_kind_not_allowed: { status: 403, description: "This endpoint does not accept this kind of identity." },
  ccm_token_missing: { status: 401, description: "A CCM token is required (Authorization: Bearer)." },
  ccm_token_invalid: { status: 401, description: "The CCM token is invalid." },
  ccm_token_expired: { status: 401, description: "The CCM token has expired." },
  body_malformed: { status: 400, description: "The request body is malformed." },
  body_too_large: { status: 413, description: "The request body is too large." },
  unsupported_media_type: { status: 415, description: "Unsupported content type." },
  unknown_target_endpoint: { status: 400, description: "Unknown CCM messaging target endpoint." },
  client_not_registered: { status: 403, description: "The client is not registered with this site." },
  query_invalid: { status: 400, description: "The query is invalid or not supported." },
  range_not_satisfiable: { status: 416, description: "The requested range is not satisfiable." },
  internal_error: { status: 500, description: "Internal error." },
} as const satisfies Record<string, { status: number; description: string }>;

/** A key of {@link MP_ERRORS}. */
export type MpErrorCode = keyof typeof MP_ERRORS;

/** A coded refusal; `detail` is safe to show to the caller. */
export class MpError extends Error {
  readonly code: MpErrorCode;
  readonly detail: string | undefined;
  constructor(code: MpErrorCode, detail?: string) {
    super(detail ? `${MP_ERRORS[code].description} ${detail}` : MP_ERRORS[code].description);
    this.name = "MpError";
    this.code = code;
    this.detail = detail;
  }
  /** The HTTP status of this error. */
  get status(): number {
    return MP_ERRORS[this.code].status;
  }
}

/** The JSON body of an error on CM endpoints: `{ error, error_description }`. */
export function errorBody(err: MpError): { error: MpErrorCode; error_description: string } {
  return { error: err.code, error_description: err.message };
}

/** The OData error body of AdminService (`{"error":{"code","message"}}`, OData JSON format §21). */
export function odataErrorBody(err: MpError): { error: { code: string; message: string } } {
  return { error: { code: err.code, message: err.message } };
}
