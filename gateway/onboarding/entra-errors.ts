/**
 * Turns msal-node and Entra token-endpoint failures into one line an admin can act on, keeping Entra's exact
 * `AADSTS…` code and message (the wizard's **Verify** shows them the same way).
 */

/** An Entra failure reduced to its code and message. */
export interface EntraFailure {
  /** `AADSTS7000215`, or msal's error code when Entra sent no AADSTS number (network, timeout), or `""`. */
  readonly code: string;
  readonly message: string;
}

/**
 * Reads an msal-node error (`errorCode`, `errorMessage`) or a token endpoint's JSON error body.
 *
 * @param err what was thrown or returned
 */
export function toEntraFailure(err: unknown): EntraFailure {
  const record = typeof err === "object" && err !== null ? (err as Record<string, unknown>) : {};
  const message =
    typeof record.errorMessage === "string" && record.errorMessage !== ""
      ? record.errorMessage
      : typeof record.error_description === "string"
        ? record.error_description
        : err instanceof Error
          ? err.message
          : String(err);
  // msal-node wraps Entra's description ("Error(s): 7000215 - Timestamp: … - Description: AADSTS7000215: …
  // Trace ID: …"); the admin needs the AADSTS sentence, not the envelope.
  const sentence = /(AADSTS\d+):\s*(.*?)(?:\s+Trace ID:|\r?\n|\s+- Correlation ID:|$)/.exec(message);
  if (sentence !== null) {
    return { code: sentence[1] ?? "", message: `${sentence[1]}: ${(sentence[2] ?? "").trim()}` };
  }
  const fallback =
    typeof record.errorCode === "string" && record.errorCode !== ""
      ? record.errorCode
      : typeof record.error === "string"
        ? record.error
        : "";
  return { code: fallback, message: (message.split(/\r?\n/)[0] ?? message).trim() };
}

/**
 * One line for an Entra failure: `AADSTS7000215: Invalid client secret provided. …`.
 *
 * @param err what was thrown
 */
export function describeEntraError(err: unknown): string {
  return formatEntraFailure(toEntraFailure(err));
}

/**
 * One line for a failure: the message, prefixed with its code unless the message starts with it.
 *
 * @param failure as made by {@link toEntraFailure}
 */
export function formatEntraFailure(failure: EntraFailure): string {
  return failure.code === "" || failure.message.startsWith(failure.code)
    ? failure.message
    : `${failure.code}: ${failure.message}`;
}
