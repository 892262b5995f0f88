/**
 * How a client's request body reaches the management point: streamed, never buffered (except small
 * urlencoded forms, read to refuse a token sent as a form parameter, RFC 6750 §2.2), and bounded by the
 * listener's `bodyLimitBytes` whether the client declares a length or sends chunks.
 */
import type { IncomingMessage } from "node:http";
import { Transform, type TransformCallback } from "node:stream";

/** A form body is buffered up to this size (RFC 6750 §2.2 check); larger forms are refused. */
export const FORM_BUFFER_LIMIT_BYTES = 1_048_576;

/** Thrown (as a stream error) when a body grows past its limit. */
export class BodyTooLargeError extends Error {
  readonly code = "body_too_large";
  constructor(readonly limitBytes: number) {
    super(`request body exceeds ${limitBytes} bytes`);
  }
}

/** Whether the request carries a body at all (RFC 9112 §6.3: a length or a transfer coding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return length !== "0";
  return req.headers["transfer-encoding"] !== undefined;
}

/** Whether the declared `Content-Length` already exceeds `limit`. */
export function declaredTooLarge(req: IncomingMessage, limit: number): boolean {
  const length = req.headers["content-length"];
  return length !== undefined && Number(length) > limit;
}

/** Passes bytes through, failing the stream once more than `limit` bytes went by. */
export function limitBody(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) callback(new BodyTooLargeError(limit));
      else callback(null, chunk);
    },
  });
}

/** Whether the body is an `application/x-www-form-urlencoded` form. */
export function isFormBody(req: IncomingMessage): boolean {
  const type = req.headers["content-type"];
  return type?.toLowerCase().startsWith("application/x-www-form-urlencoded") === true;
}

/** Thrown (as the abort reason) when a client's body does not progress fast enough. */
export class BodyStalledError extends Error {
  readonly code = "body_stalled";
  constructor(readonly windowMs: number) {
    super(`request body stalled: too few bytes within ${windowMs} ms`);
  }
}

/**
 * Watches an upload's progress on its connection: in every `windowMs`, at least `minBytesPerSec` × the
 * window (and at least one byte) must arrive until the body is complete, or `onStall` is called once. This
 * bounds how long a slow or stalled client can hold an upstream connection (Envoy's and nginx's body
 * timeouts; Kestrel's minimum request body data rate). Reads the socket's byte count, so the body stream
 * itself is left untouched.
 *
 * @param req the request whose body is being read
 * @param windowMs `listen.bodyTimeoutMs`
 * @param minBytesPerSec `listen.bodyMinBytesPerSec`
 * @param onStall called when a window passed with too little progress
 * @returns stops watching
 */
export function watchBodyProgress(
  req: IncomingMessage,
  windowMs: number,
  minBytesPerSec: number,
  onStall: (error: BodyStalledError) => void,
): () => void {
  const socket = req.socket;
  const needed = Math.max(1, Math.floor((minBytesPerSec * windowMs) / 1000));
  let seen = socket.bytesRead;
  const timer = setInterval(() => {
    if (req.complete || socket.destroyed) return stop();
    const now = socket.bytesRead;
    if (now - seen < needed) {
      stop();
      onStall(new BodyStalledError(windowMs));
      return;
    }
    seen = now;
  }, windowMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  return stop;
}
