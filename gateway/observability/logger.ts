/**
 * The gateway's pino logger (docs/architecture.md § Observability): JSON lines, a request id on every request line, and never a token —
 * a short SHA-256 fingerprint identifies one instead. Authorization headers, cookies and secrets are redacted
 * wherever they appear in a logged object.
 */
import { createHash } from "node:crypto";
import { type Logger, type LoggerOptions, pino } from "pino";
import type { JwksFetchEvent } from "../auth/keys/jwks-store.js";

/** Paths pino blanks out if an object carrying them is ever logged. */
const REDACT = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "secret",
  "*.secret",
  "clientSecret",
  "token",
  "*.token",
  "access_token",
];

/** Options of {@link createLogger}. */
export interface LoggerSettings {
  readonly level?: string;
  /** Where lines go (tests capture them); default stdout. */
  readonly destination?: NodeJS.WritableStream;
  readonly name?: string;
}

/** Creates the logger. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name: settings.name ?? "entra-gateway",
    level: settings.level ?? "info",
    redact: { paths: REDACT, censor: "[redacted]" },
    base: { pid: process.pid },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** A token's log identity: the first 12 hex digits of its SHA-256 (never the token itself). */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 12);
}

/** The bearer credential of an `Authorization` header value, if it has one (for fingerprinting only). */
export function bearerOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 8) return undefined;
  if (authorization.slice(0, 7).toLowerCase() !== "bearer ") return undefined;
  return authorization.slice(7).trim() || undefined;
}

/**
 * The log line of one JWKS fetch attempt: `debug` when it worked, `warn` when it failed.
 *
 * @param logger where the line goes
 * @returns the key store's `onFetch` observer
 */
export function logJwksFetch(logger: Logger): (event: JwksFetchEvent) => void {
  return (event) => {
    const line = {
      setId: event.setId,
      reason: event.reason,
      result: event.result,
      keyCount: event.keyCount,
      ms: Math.round(event.durationMs),
      removedKids: event.removedKids,
      error: event.error,
    };
    if (event.result === "ok") logger.debug(line, "jwks fetch");
    else logger.warn(line, "jwks fetch failed");
  };
}
