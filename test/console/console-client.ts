/**
 * An undici client of the console for the tests that drive it without a browser: calls with the session
 * cookie, the console's own `Origin` on every POST (unless told otherwise) and form bodies, and sign-in.
 */
import { type Agent, request } from "undici";
import { SESSION_COOKIE } from "../../gateway/console/session.js";

/** A console answer. */
export interface ConsoleAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** What one call sends. */
export interface ConsoleCallInit {
  cookie?: string;
  /** `null`: no Origin header; default the console's own. */
  origin?: string | null;
  form?: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * A client of the console at `adminUrl`.
 *
 * @param adminUrl the admin listener
 * @param key the admin key
 * @param dispatcher an agent that trusts the listener's certificate
 */
export function consoleClient(adminUrl: string, key: string, dispatcher: Agent) {
  const call = async (method: "GET" | "POST", path: string, init: ConsoleCallInit = {}): Promise<ConsoleAnswer> => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.cookie !== undefined) headers.cookie = `${SESSION_COOKIE}=${init.cookie}`;
    if (method === "POST" && init.origin !== null) headers.origin = init.origin ?? adminUrl;
    if (init.form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await request(`${adminUrl}${path}`, {
      method,
      dispatcher,
      headers,
      body: init.form === undefined ? (init.body ?? null) : new URLSearchParams(init.form).toString(),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };
  /** Signs in with the key; the session cookie and the CSRF token its page names. */
  const signIn = async (): Promise<{ cookie: string; csrf: string }> => {
    const res = await call("POST", "/console/session", { form: { key } });
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
    const setCookie = String(res.headers["set-cookie"]);
    const cookie = new RegExp(`${SESSION_COOKIE}=([A-Za-z0-9_-]{43});`).exec(setCookie)![1]!;
    const page = await call("GET", "/console", { cookie });
    const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.text)![1]!;
    return { cookie, csrf };
  };
  return { call, signIn };
}
