/**
 * What a client is told when its request never became one — header block too large (431), header timeout
 * (408), unparsable bytes (400) — and how: the answer is written with `end()` so TLS flushes it before the
 * close, and what the client is still sending is read and dropped for a moment, because closing a socket
 * with unread bytes sends a TCP reset that can destroy the answer before the client reads it.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

/** How long a refused client's remaining bytes are drained before the socket is destroyed. */
const LINGER_MS = 2_000;

const ERRORS: Readonly<Record<number, string>> = {
  400: "invalid_request",
  408: "request_timeout",
  431: "request_header_fields_too_large",
};

/** The status for a `clientError` event's error. */
export function clientErrorStatus(err: { readonly code?: string }): number {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  if (err.code === "HPE_HEADER_OVERFLOW") return 431;
  return 400;
}

/**
 * The listener's `clientError` handler (fastify's `clientErrorHandler` option).
 *
 * @param err the parser or timeout error
 * @param socket the client's connection (a TLS socket on an HTTPS listener)
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  // A response already under way on this connection cannot be followed by another status line.
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (socket.writable && inProgress !== true) {
    const status = clientErrorStatus(err);
    const body = JSON.stringify({ error: ERRORS[status] });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    socket.on("data", () => undefined);
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
    return;
  }
  socket.destroy();
}
