/**
 * HTTPS for the simulated clients: one undici Agent pinned to the stack's CA (the clients trust nothing else),
 * and a request helper that times every call and reads only what a client needs (status, the RFC 6750
 * challenge, a JSON or text body, or a byte count for downloads).
 */
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";

/** What one HTTP exchange gave back. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text (empty for downloads, which are only counted). */
  readonly text: string;
  /** Bytes of body received. */
  readonly bytes: number;
  /** Wall-clock time from sending to the last body byte. */
  readonly ms: number;
}

/** One request. */
export interface HttpCall {
  readonly method: "GET" | "POST";
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Count the body's bytes instead of keeping it (content downloads). */
  readonly discardBody?: boolean;
}

/** A CA-pinned HTTPS client. */
export interface HttpClient {
  send(call: HttpCall): Promise<HttpAnswer>;
  close(): Promise<void>;
}

/** Options of {@link createHttpClient}. */
export interface HttpClientOptions {
  /** PEM of the CA to trust (only this one). */
  readonly ca: string;
  /** A client certificate and key (PEM), for the MP's internal endpoints that need the gateway's identity. */
  readonly cert?: string;
  readonly key?: string;
  /** Connections per origin; default 64. */
  readonly connections?: number;
  /** Headers and body timeout; default 30 s. */
  readonly timeoutMs?: number;
}

/** Creates a client that trusts `ca` only. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const timeout = options.timeoutMs ?? 30_000;
  const dispatcher = new Agent({
    connect: {
      ca: options.ca,
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
    },
    connections: options.connections ?? 64,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  return {
    async send(call) {
      const started = performance.now();
      const res = await request(call.url, {
        method: call.method,
        dispatcher,
        headers: { ...call.headers },
        body: call.body ?? null,
      });
      let text = "";
      let bytes = 0;
      if (call.discardBody) {
        for await (const chunk of res.body) bytes += (chunk as Buffer).length;
      } else {
        text = await res.body.text();
        bytes = Buffer.byteLength(text);
      }
      return { status: res.statusCode, headers: res.headers, text, bytes, ms: performance.now() - started };
    },
    close: () => dispatcher.close(),
  };
}

/** The `error` auth-param of a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3), if any. */
export function bearerError(answer: HttpAnswer): string | undefined {
  const raw = answer.headers["www-authenticate"];
  const value = Array.isArray(raw) ? raw.join(", ") : raw;
  if (value === undefined) return undefined;
  return /(?:^|[\s,])error="([^"]*)"/.exec(value)?.[1];
}

/** Parses a JSON body, or undefined when it is not JSON. */
export function jsonOf(answer: HttpAnswer): unknown {
  try {
    return answer.text.length > 0 ? JSON.parse(answer.text) : undefined;
  } catch {
    return undefined;
  }
}

/** A property of a JSON object body, when the body is an object and the property a string. */
export function stringProperty(value: unknown, name: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === "string" ? v : undefined;
}
