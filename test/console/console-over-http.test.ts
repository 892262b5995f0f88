/**
 * The console on the stack's admin listener, driven over real HTTPS with undici (the browser test drives it in
 * Chromium): sign-in with the admin key, a wrong key refused and counted, the session cookie's attributes, the
 * Content-Security-Policy, and the checks every state-changing request passes — own origin, live session, CSRF
 * token — each shown to refuse on its own while the tenant's state stays as it was.
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_COOKIE, SIGN_IN_FAILURES_ALLOWED } from "../../gateway/console/session.js";
import { CONSOLE_CSP } from "../../gateway/http/console-plugin.js";
import { tokenFingerprint } from "../../gateway/observability/logger.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { eventually, metricValue } from "../operations/helpers.js";
import { type ConsoleAnswer, consoleClient } from "./console-client.js";

let h: StackHarness;
let admin: string;
let key: string;
let client: ReturnType<typeof consoleClient>;

beforeAll(async () => {
  h = await startStackHarness();
  admin = h.stack.service.admin!.url;
  key = h.stack.service.adminKey;
  client = consoleClient(admin, key, h.dispatcher);
}, 120_000);
afterAll(() => h?.close());

type Answer = ConsoleAnswer;
const consoleCall = (...args: Parameters<typeof client.call>) => client.call(...args);
const signIn = () => client.signIn();

const signInRefusals = async () =>
  metricValue(
    await (await request(h.stack.service.metrics!.url, { dispatcher: h.dispatcher })).body.text(),
    "entra_gateway_admin_requests_total",
    { action: "console.sign_in", result: "refused" },
  ) ?? 0;

describe("the console over HTTP", () => {
  it("when /console is opened without a session, then the sign-in page answers with the strict CSP and no script of its own", async () => {
    const res = await consoleCall("GET", "/console");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["content-security-policy"]).toBe(CONSOLE_CSP);
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.text).toContain('action="/console/session"');
    expect(res.text).not.toMatch(/<script>|<style>|\son\w+=/);
    const script = await consoleCall("GET", "/console/assets/console.js");
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toMatch(/^text\/javascript/);
  });

  it("when the admin API is called without the bearer key, then it still refuses: the console's session opens only /console routes", async () => {
    const { cookie } = await signIn();
    const res = await consoleCall("GET", "/tenants", { cookie });
    expect(res.status).toBe(401);
    // Sent as it is (a URL would resolve the dot segments first): a path that only starts like the console's.
    const traversal = await h.dispatcher.request({
      origin: admin,
      path: "/console/../tenants",
      method: "GET",
      headers: { cookie: `${SESSION_COOKIE}=${cookie}` },
    });
    await traversal.body.dump();
    expect(traversal.statusCode).toBe(401);
  });

  it("when a wrong key is sent, then the answer is 401 without a cookie, and the refusal is counted and audited", async () => {
    const before = await signInRefusals();
    const res = await consoleCall("POST", "/console/session", { form: { key: `${key}x` } });
    expect(res.status).toBe(401);
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(res.text).toContain("That key was refused.");
    expect(await signInRefusals()).toBe(before + 1);
    const audit = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.audit?.action === "console.sign_in");
    expect(audit.at(-1)?.audit).toMatchObject({ result: "refused" });
    // Who tried and from where: no key fingerprint (none was proven), never what was sent.
    expect(audit.at(-1)?.audit.who).toEqual({ address: "127.0.0.1" });
    expect(JSON.stringify(audit.at(-1))).not.toContain(key);
  });

  it("when the right key is sent, then the session cookie is HttpOnly, Secure, SameSite=Strict, Path=/console with a Max-Age", async () => {
    const res = await consoleCall("POST", "/console/session", { form: { key } });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/console");
    expect(String(res.headers["set-cookie"])).toMatch(
      new RegExp(
        `^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; HttpOnly; Secure; SameSite=Strict; Path=/console; Max-Age=3600$`,
      ),
    );
  });

  it("when sign-in is posted from another origin or without one, then it is refused (403) whatever the key", async () => {
    expect(
      (await consoleCall("POST", "/console/session", { form: { key }, origin: "https://evil.example" })).status,
    ).toBe(403);
    expect((await consoleCall("POST", "/console/session", { form: { key }, origin: null })).status).toBe(403);
  });

  it("when a state-changing request lacks the CSRF token, a session or the own origin, then it is refused and nothing changes", async () => {
    const { cookie, csrf } = await signIn();
    const contoso = h.tenant("contoso");
    const token = await h.userToken(contoso, 1);
    const disable = `/console/tenants/${contoso.id}/disable`;
    const other = await signIn();
    const refusals: [string, Answer, number][] = [
      ["no CSRF token", await consoleCall("POST", disable, { cookie, form: {} }), 403],
      ["another session's CSRF token", await consoleCall("POST", disable, { cookie, form: { csrf: other.csrf } }), 403],
      ["no session", await consoleCall("POST", disable, { form: { csrf } }), 401],
      [
        "another origin",
        await consoleCall("POST", disable, { cookie, form: { csrf }, origin: "https://evil.example" }),
        403,
      ],
      ["no origin", await consoleCall("POST", disable, { cookie, form: { csrf }, origin: null }), 403],
      [
        "a JSON body",
        await consoleCall("POST", disable, {
          cookie,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ csrf }),
        }),
        415,
      ],
    ];
    for (const [what, res, status] of refusals) expect(res.status, what).toBe(status);
    expect((await h.gw("POST", "/CCM_STS", { token })).status).toBe(200);

    // With all three, the same request goes through the admin API: audited there, in force at once.
    const ok = await consoleCall("POST", disable, { cookie, form: { csrf } });
    expect(ok.status).toBe(303);
    expect((await h.gw("POST", "/CCM_STS", { token })).status).toBe(403);
    const audit = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.audit?.action === "tenant.disable");
    expect(audit.at(-1)?.audit).toMatchObject({ result: "ok", target: contoso.id, who: { address: "127.0.0.1" } });
    const page = await consoleCall("GET", "/console", { cookie });
    expect(page.text).toContain("Entra authentication disabled");
    expect(page.text).toContain(`action="/console/tenants/${contoso.id}/enable"`);

    // The refusal is listed by fingerprint; the header form (x-csrf-token) works as well as the form field.
    // A token sent in the query is refused (400) and listed by its route without the query.
    expect((await h.gw("POST", `/CCM_STS?access_token=${token}`)).status).toBe(400);
    const live = await consoleCall("GET", "/console/live", { cookie });
    expect(live.status).toBe(200);
    const panels = JSON.parse(live.text);
    expect(panels.refusals).toContain(`sha256:${tokenFingerprint(token)}`);
    expect(panels.refusals).toContain("request_malformed");
    expect(panels.refusals).not.toContain("access_token");
    for (const part of token.split(".")) expect(live.text).not.toContain(part);
    const enable = await consoleCall("POST", `/console/tenants/${contoso.id}/enable`, {
      cookie,
      form: {},
      headers: { "x-csrf-token": csrf },
    });
    expect(enable.status).toBe(303);
    await eventually(async () => (await h.gw("POST", "/CCM_STS", { token })).status === 200, "accepted again");
  });

  it("when /console/live is asked without a session, then 401; when signed out, the session is gone", async () => {
    expect((await consoleCall("GET", "/console/live")).status).toBe(401);
    const { cookie, csrf } = await signIn();
    expect((await consoleCall("GET", "/console/live", { cookie })).status).toBe(200);
    const out = await consoleCall("POST", "/console/sign-out", { cookie, form: { csrf } });
    expect(out.status).toBe(303);
    expect(String(out.headers["set-cookie"])).toContain("Max-Age=0");
    expect((await consoleCall("GET", "/console/live", { cookie })).status).toBe(401);
  });

  // Last: it holds sign-in off for this address for a minute.
  it("when an address sends too many wrong keys, then even the right key is held off (429, Retry-After) for a while", async () => {
    for (let i = 0; i < SIGN_IN_FAILURES_ALLOWED; i++) {
      expect((await consoleCall("POST", "/console/session", { form: { key: "wrong" } })).status).toBe(401);
    }
    const held = await consoleCall("POST", "/console/session", { form: { key } });
    expect(held.status).toBe(429);
    expect(Number(held.headers["retry-after"])).toBeGreaterThan(0);
    expect(held.headers["set-cookie"]).toBeUndefined();
  });
});
