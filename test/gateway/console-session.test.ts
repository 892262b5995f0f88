/**
 * Console sessions: the cookie's attributes, expiry, the bound on live sessions, the CSRF comparison, and the
 * brake on wrong keys.
 */
import { describe, expect, it } from "vitest";
import {
  createSessionStore,
  createSignInBrake,
  csrfMatches,
  MAX_SESSIONS,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  SIGN_IN_FAILURES_ALLOWED,
  sessionCookieHeader,
} from "../../gateway/console/session.js";

const cookieOf = (id: string) => `other=1; ${SESSION_COOKIE}=${id}; more=2`;

describe("console sessions", () => {
  it("when a session is opened, then its cookie is HttpOnly, Secure, SameSite=Strict, scoped to /console, with a Max-Age", () => {
    const { cookie } = createSessionStore().open("127.0.0.1");
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sessionCookieHeader(cookie)).toBe(
      `${SESSION_COOKIE}=${cookie}; HttpOnly; Secure; SameSite=Strict; Path=/console; Max-Age=${SESSION_LIFETIME_MS / 1000}`,
    );
    expect(sessionCookieHeader(undefined)).toContain("Max-Age=0");
  });

  it("when the cookie names a live session, then it is found; once expired or closed, it is not", () => {
    let clock = 0;
    const store = createSessionStore(() => clock);
    const a = store.open("127.0.0.1");
    const b = store.open("127.0.0.1");
    expect(store.fromCookieHeader(cookieOf(a.cookie))).toBe(a.session);
    expect(store.fromCookieHeader(cookieOf(`${a.cookie.slice(0, -1)}x`))).toBeUndefined();
    expect(store.fromCookieHeader(undefined)).toBeUndefined();
    store.close(cookieOf(b.cookie));
    expect(store.fromCookieHeader(cookieOf(b.cookie))).toBeUndefined();
    clock += SESSION_LIFETIME_MS;
    expect(store.fromCookieHeader(cookieOf(a.cookie))).toBeUndefined();
    expect(store.size()).toBe(0);
  });

  it("when more sessions are opened than the store holds, then the oldest ends", () => {
    const store = createSessionStore();
    const first = store.open("127.0.0.1");
    for (let i = 0; i < MAX_SESSIONS; i++) store.open("127.0.0.1");
    expect(store.size()).toBe(MAX_SESSIONS);
    expect(store.fromCookieHeader(cookieOf(first.cookie))).toBeUndefined();
  });

  it("when a CSRF token is presented, then only the session's own matches", () => {
    const store = createSessionStore();
    const a = store.open("127.0.0.1").session;
    const b = store.open("127.0.0.1").session;
    expect(csrfMatches(a, a.csrf)).toBe(true);
    expect(csrfMatches(a, b.csrf)).toBe(false);
    expect(csrfMatches(a, "")).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
  });

  it("when an address sends too many wrong keys within a minute, then it is held off until the minute is over", () => {
    let clock = 0;
    const brake = createSignInBrake(() => clock);
    for (let i = 0; i < SIGN_IN_FAILURES_ALLOWED; i++) {
      expect(brake.check("10.0.0.1").allowed).toBe(true);
      brake.failed("10.0.0.1");
    }
    expect(brake.check("10.0.0.1")).toEqual({ allowed: false, retryAfterSec: 60 });
    expect(brake.check("10.0.0.2").allowed).toBe(true);
    clock += 60_000;
    expect(brake.check("10.0.0.1").allowed).toBe(true);
  });
});
