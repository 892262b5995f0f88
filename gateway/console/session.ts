/**
 * Console sign-in state: sessions, their CSRF tokens, the cookie that names them, and the brake on wrong keys.
 *
 * - A session is a random 256-bit id in an `HttpOnly; Secure; SameSite=Strict; Path=/console` cookie with a
 *   `Max-Age`; the server keeps only the id's SHA-256 (a memory dump names no usable cookie), in a bounded map
 *   (the oldest session goes first), and forgets it when it expires or the operator signs out.
 * - Each session has its own CSRF token, required with every state-changing request (form field or header),
 *   compared in constant time.
 * - Wrong keys are counted per remote address; past {@link SIGN_IN_FAILURES_ALLOWED} within a minute, sign-in is
 *   refused without looking at the key until the minute is over.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AnalyzerReport } from "./analysis.js";

/** The session cookie's name. */
export const SESSION_COOKIE = "entra_gateway_console";
/** A session's lifetime from sign-in (the cookie's `Max-Age`), milliseconds. */
export const SESSION_LIFETIME_MS = 60 * 60_000;
/** Sessions held at once; signing in beyond it ends the oldest. */
export const MAX_SESSIONS = 32;
/** Wrong keys allowed per remote address and minute. */
export const SIGN_IN_FAILURES_ALLOWED = 5;
const FAILURE_WINDOW_MS = 60_000;
/** Remote addresses whose failures are remembered at once. */
const MAX_TRACKED_ADDRESSES = 1024;

/** Something to show once, on the next page (the result of an action). */
export interface Flash {
  readonly ok: boolean;
  readonly text: string;
  /** Extra detail lines (a reload's problems). */
  readonly details?: readonly string[];
  /** A connection analyzer run, shown stage by stage. */
  readonly analysis?: AnalyzerReport;
}

/** A signed-in operator. */
export interface ConsoleSession {
  readonly csrf: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  /** Where the operator signed in from (audit). */
  readonly address: string;
  flash?: Flash | undefined;
}

/** The sessions of one admin listener. */
export interface SessionStore {
  /** Starts a session; returns the cookie value (shown to nobody but the browser) and the session. */
  open(address: string): { readonly cookie: string; readonly session: ConsoleSession };
  /** The live session a `Cookie` header names, if any. */
  fromCookieHeader(cookie: string | undefined): ConsoleSession | undefined;
  /** Ends the session a `Cookie` header names. */
  close(cookie: string | undefined): void;
  /** Live sessions (metrics, tests). */
  size(): number;
}

const digest = (text: string) => createHash("sha256").update(text).digest();
const hashId = (id: string) => digest(id).toString("base64url");

/** The value of `name` in a `Cookie` header, when it has the shape of a session id. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}

/**
 * Creates the session store.
 *
 * @param now the clock (tests)
 */
export function createSessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, ConsoleSession>();
  const sweep = () => {
    const t = now();
    for (const [id, s] of sessions) if (s.expiresAtMs <= t) sessions.delete(id);
  };
  const find = (header: string | undefined) => {
    const id = cookieValue(header, SESSION_COOKIE);
    return id === undefined ? undefined : hashId(id);
  };
  return {
    open(address) {
      sweep();
      // Map order is insertion order: the first key is the oldest session.
      while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      const id = randomBytes(32).toString("base64url");
      const t = now();
      const session: ConsoleSession = {
        csrf: randomBytes(32).toString("base64url"),
        createdAtMs: t,
        expiresAtMs: t + SESSION_LIFETIME_MS,
        address,
      };
      sessions.set(hashId(id), session);
      return { cookie: id, session };
    },
    fromCookieHeader(header) {
      const key = find(header);
      const session = key === undefined ? undefined : sessions.get(key);
      if (session === undefined || key === undefined) return undefined;
      if (session.expiresAtMs <= now()) {
        sessions.delete(key);
        return undefined;
      }
      return session;
    },
    close(header) {
      const key = find(header);
      if (key !== undefined) sessions.delete(key);
    },
    size() {
      sweep();
      return sessions.size;
    },
  };
}

/**
 * The `Set-Cookie` value that gives the browser a session (or, with `undefined`, takes it away). `Secure`
 * always: the admin listener is HTTPS, or plain HTTP on loopback, which browsers treat as a secure context.
 */
export function sessionCookieHeader(id: string | undefined): string {
  const maxAge = id === undefined ? 0 : Math.floor(SESSION_LIFETIME_MS / 1000);
  return `${SESSION_COOKIE}=${id ?? ""}; HttpOnly; Secure; SameSite=Strict; Path=/console; Max-Age=${maxAge}`;
}

/** Whether `presented` is the session's CSRF token (constant time, whatever its length). */
export function csrfMatches(session: ConsoleSession, presented: string | undefined): boolean {
  if (presented === undefined || presented.length === 0) return false;
  return timingSafeEqual(digest(presented), digest(session.csrf));
}

/** Wrong-key counting per remote address. */
export interface SignInBrake {
  /** Whether `address` may try a key now; when not, how many seconds until it may. */
  check(address: string): { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSec: number };
  /** Counts a wrong key from `address`. */
  failed(address: string): void;
  /** Forgets `address`'s failures (a right key). */
  succeeded(address: string): void;
}

/**
 * Creates the brake: {@link SIGN_IN_FAILURES_ALLOWED} wrong keys per address within a minute, then refusal until
 * the minute since the first of them has passed. Bounded: past 1024 addresses the oldest is forgotten.
 */
export function createSignInBrake(now: () => number = Date.now): SignInBrake {
  const failures = new Map<string, { firstAtMs: number; count: number }>();
  const live = (address: string) => {
    const f = failures.get(address);
    if (f !== undefined && now() - f.firstAtMs >= FAILURE_WINDOW_MS) {
      failures.delete(address);
      return undefined;
    }
    return f;
  };
  return {
    check(address) {
      const f = live(address);
      if (f === undefined || f.count < SIGN_IN_FAILURES_ALLOWED) return { allowed: true };
      return {
        allowed: false,
        retryAfterSec: Math.max(1, Math.ceil((f.firstAtMs + FAILURE_WINDOW_MS - now()) / 1000)),
      };
    },
    failed(address) {
      const f = live(address);
      if (f !== undefined) {
        f.count += 1;
        return;
      }
      if (failures.size >= MAX_TRACKED_ADDRESSES) failures.delete(failures.keys().next().value!);
      failures.set(address, { firstAtMs: now(), count: 1 });
    },
    succeeded(address) {
      failures.delete(address);
    },
  };
}
