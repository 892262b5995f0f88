/**
 * The operator's console in real headless Chromium (Debian's, driven by playwright-core) against the real
 * stack: sign in with the admin key and see the four tenants; a wrong key refused; disable a tenant from its
 * row (confirmed in the browser's dialog) and its next request through the gateway gets 403; enable it again;
 * the live traffic charts and the recent refusals fill in; a state-changing request without the CSRF token is
 * refused by the browser's own fetch. Every response the console sent is recorded and searched for the tokens
 * the test used and for the admin key: none may appear. A screenshot goes to `test-output/console.png`.
 *
 * A second, small check signs in on a console served over plain HTTP on 127.0.0.1: Chromium treats loopback
 * as a secure context, so the `Secure` session cookie is kept there too.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import Fastify from "fastify";
import { pino } from "pino";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRefusalRing } from "../../gateway/console/refusals.js";
import { SESSION_COOKIE } from "../../gateway/console/session.js";
import { consolePlugin, isConsoleRequest } from "../../gateway/http/console-routes.js";
import { tokenFingerprint } from "../../gateway/observability/logger.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { eventually } from "../operations/helpers.js";
import { chromiumArgs, chromiumExecutable } from "./chromium.js";

const executablePath = chromiumExecutable();
const OUTPUT = resolve(import.meta.dirname, "../../test-output");

let h: StackHarness;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every console response body, by URL, as Chromium received it. */
const bodies: { url: string; text: string }[] = [];
/** The confirm() questions the page asked; the next one is answered "Cancel" when set. */
const dialogs: string[] = [];
let dismissNext = false;
/** Every token this test sent through the gateway. */
const tokens = new Set<string>();

describe.skipIf(executablePath === undefined)("the console in Chromium", () => {
  let admin: string;

  beforeAll(async () => {
    h = await startStackHarness({
      // The console samples its traffic and the page polls every 250 ms instead of 5 s: what the tests wait for
      // (a refusal in the list, the charts drawn) arrives within a fraction of a second.
      gateway: { consoleSampleIntervalMs: 250 },
      // One web app secret near its expiry, so the table has one to highlight.
      editGatewayConfig: (raw) => {
        const services = raw.azureServices as { tenant: { name: string }; webApp: { secretExpiry?: string } }[];
        const tailspin = services.find((s) => s.tenant.name.startsWith("tailspin"))!;
        tailspin.webApp.secretExpiry = new Date(Date.now() + 12.5 * 86_400_000).toISOString();
      },
    });
    admin = h.stack.service.admin!.url;
    browser = await chromium.launch({ executablePath: executablePath!, headless: true, args: chromiumArgs() });
    // The stack's admin listener has the stack's own CA; the browser is not told about it.
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
    page = await context.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void (dismissNext ? dialog.dismiss() : dialog.accept());
      dismissNext = false;
    });
    page.on("response", (res) => {
      if (!res.url().startsWith(admin)) return;
      void res.text().then(
        (text) => bodies.push({ url: res.url(), text }),
        () => undefined, // redirects have no body
      );
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const send = async (token: string) => {
    tokens.add(token);
    return (await h.gw("POST", "/CCM_STS", { token })).status;
  };
  const row = (tenantId: string) => page.locator(`#tenants tr[data-tenant="${tenantId}"]`).first();
  /** Clicks a button that posts an action, and waits for the page the console redirects to. */
  const post = async (button: ReturnType<Page["locator"]>) => {
    await Promise.all([
      page.waitForResponse((r) => r.url() === `${admin}/console` && r.request().method() === "GET"),
      button.click(),
    ]);
    await page.waitForLoadState("load");
  };

  it("when a wrong key is entered, then the console refuses it and keeps no cookie", async () => {
    await page.goto(`${admin}/console`);
    await page.fill("#key", `${h.stack.service.adminKey}-wrong`);
    const [answer] = await Promise.all([
      page.waitForResponse(`${admin}/console/session`),
      page.click("button[type=submit]"),
    ]);
    expect(answer.status()).toBe(401);
    await expect.poll(() => page.locator("[role=alert]").textContent()).toContain("That key was refused.");
    expect(await context.cookies()).toEqual([]);
  });

  it("when the admin key is entered, then the session cookie is HttpOnly, Secure and Strict, and the four tenants are listed", async () => {
    await page.fill("#key", h.stack.service.adminKey);
    await Promise.all([page.waitForURL(`${admin}/console`), page.click("button[type=submit]")]);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({
      name: SESSION_COOKIE,
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/console",
    });
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 3000);
    // The page polls as often as the stack's start options say the console samples.
    expect(await page.locator('meta[name="refresh-ms"]').getAttribute("content")).toBe("250");
    const tenants = h.stack.description.tenants;
    expect(tenants).toHaveLength(4);
    for (const t of tenants) {
      await expect
        .poll(() => row(t.id).locator(".badge.on, .badge.off").textContent())
        .toBe(t.disabled ? "disabled" : "enabled");
      expect(await row(t.id).locator(".keyset").count()).toBeGreaterThan(0);
    }
    // The secret within 30 days of its expiry is highlighted with its days left; the others are not.
    const tailspin = h.tenant("tailspin");
    expect(await row(tailspin.id).locator(".secret.expiring").textContent()).toContain("12 days left");
    expect(await page.locator(".secret.expiring").count()).toBe(1);
    expect(await page.locator(".secret.ok").count()).toBeGreaterThan(0);
  });

  it("when a tenant is disabled from its row, then the table shows it disabled and its next request gets 403; enabled again, 200", async () => {
    const contoso = h.tenant("contoso");
    const token = await h.userToken(contoso, 1);
    expect(await send(token)).toBe(200);
    // Cancelled in the confirm dialog: nothing is posted, the tenant stays enabled.
    dismissNext = true;
    await row(contoso.id).locator("button", { hasText: "Disable" }).click();
    expect(dialogs.at(-1)).toContain("Disable Entra authentication for contoso.onmicrosoft.com?");
    expect(await send(token)).toBe(200);
    expect(await row(contoso.id).locator(".badge.on, .badge.off").textContent()).toBe("enabled");
    await post(row(contoso.id).locator("button", { hasText: "Disable" }));
    await expect.poll(() => row(contoso.id).locator(".badge.on, .badge.off").textContent()).toBe("disabled");
    expect(await row(contoso.id).textContent()).toContain("by admin");
    expect(await page.locator(".flash.ok").textContent()).toContain("Entra authentication disabled");
    expect(await send(token)).toBe(403);

    // The refusal appears in the recent refusals (the page polls), by fingerprint.
    await expect
      .poll(() => page.locator("#refusals").textContent(), { timeout: 30_000 })
      .toContain(`sha256:${tokenFingerprint(token)}`);
    expect(await page.locator("#refusals").textContent()).toContain("tenant_disabled");

    await post(row(contoso.id).locator("button", { hasText: "Enable" }));
    await expect.poll(() => row(contoso.id).locator(".badge.on, .badge.off").textContent()).toBe("enabled");
    expect(await send(token)).toBe(200);
  });

  it("when the analyzer is run from a tenant row, then each stage is shown: those without a client token pass, the rest are skipped", async () => {
    const contoso = h.tenant("contoso");
    await post(row(contoso.id).locator("button", { hasText: "Analyze" }));
    expect(dialogs.at(-1)).toContain("Run the connection analyzer for contoso.onmicrosoft.com?");
    const stages = page.locator("table.analysis tbody tr");
    expect(await stages.count()).toBe(6);
    expect(await page.locator("table.analysis caption").textContent()).toContain("every stage passed");
    expect(await page.locator("table.analysis tr.fail").count()).toBe(0);
    // Discovery and keys, the server app's token (its secret), AADAuthInfo through the gateway's own listener.
    expect(await page.locator("table.analysis tr.pass").count()).toBe(3);
    const audit = h.logLines.map((l) => JSON.parse(l)).filter((l) => l.audit?.action === "console.analyze");
    expect(audit.at(-1)?.audit).toMatchObject({ target: contoso.id, result: "pass" });
  });

  it("when traffic flows, then the live charts draw it", async () => {
    const fabrikam = h.tenant("fabrikam");
    const token = await h.userToken(fabrikam, 1);
    const forged = h.stack.entra.mint({ tenantId: fabrikam.id, claims: { aud: "api://someone-else" } });
    await eventually(
      async () => {
        for (let i = 0; i < 5; i++) {
          await send(token);
          await send(forged);
        }
        // Requests, refusals, p50 and p99 of authentication and upstream; the forged token's refusals by reason.
        const lines = await page.locator("#traffic polyline").count();
        const reasons = (await page.locator("#traffic").textContent()) ?? "";
        // At least two intervals drawn, so the requests line is a line.
        const points = (await page.locator("#traffic polyline").first().getAttribute("points")) ?? "";
        return lines === 6 && reasons.includes("audience_invalid") && points.split(" ").length >= 2;
      },
      "the charts to draw the traffic",
      60_000,
    );
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "console.png"), fullPage: true });
  });

  it("when the page's own script posts without the CSRF token, then the console refuses it (403)", async () => {
    const northwind = h.stack.description.tenants.find((t) => t.name.startsWith("northwind"))!;
    const status = await page.evaluate(
      `fetch("/console/tenants/${northwind.id}/enable", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" }).then((r) => r.status)`,
    );
    expect(status).toBe(403);
    await page.reload();
    expect(await row(northwind.id).locator(".badge.off").textContent()).toBe("disabled");
  });

  it("when every console response is searched, then none holds a token or the admin key", async () => {
    await page.reload();
    bodies.push({ url: "page source", text: await page.content() });
    expect(bodies.length).toBeGreaterThan(5);
    expect(tokens.size).toBeGreaterThan(2);
    for (const { url, text } of bodies) {
      for (const token of tokens) {
        const [, payload, signature] = token.split(".");
        expect(text.includes(signature!), `${url} holds a token signature`).toBe(false);
        expect(text.includes(payload!), `${url} holds a token payload`).toBe(false);
      }
      expect(text.includes(h.stack.service.adminKey), `${url} holds the admin key`).toBe(false);
    }
  });
});

describe.skipIf(executablePath === undefined)("the console over plain HTTP on loopback", () => {
  it("when signed in over http://127.0.0.1, then Chromium keeps the Secure session cookie (loopback is a secure context)", async () => {
    const key = "a-console-test-key-that-is-long-enough";
    const app = Fastify();
    app.addHook("onRequest", async (req, reply) => {
      if (!isConsoleRequest(req)) return reply.code(401).send();
    });
    await app.register(consolePlugin, {
      key,
      metricsText: async () => "",
      refusals: createRefusalRing().list,
      logger: pino({ level: "silent" }),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const plain = await chromium.launch({ executablePath: executablePath!, headless: true, args: chromiumArgs() });
    try {
      const { port } = app.server.address() as { port: number };
      const p = await plain.newPage();
      await p.goto(`http://127.0.0.1:${port}/console`);
      await p.fill("#key", key);
      await Promise.all([p.waitForURL(`http://127.0.0.1:${port}/console`), p.click("button[type=submit]")]);
      const cookies = await p.context().cookies();
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatchObject({ name: SESSION_COOKIE, secure: true, httpOnly: true });
      // Signed in: the dashboard, with its sign-out form, not the sign-in page.
      expect(await p.locator("form.sign-out").count()).toBe(1);
    } finally {
      await plain.close();
      await app.close();
    }
  });
});
