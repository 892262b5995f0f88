import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { adminClient } from "./helpers.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

describe("logs", () => {
  it("when valid, expired, forged and wrong-audience tokens are used, then every request line has a request id, 4xx log at info, and no line holds a token", async () => {
    const contoso = h.tenant("contoso");
    const valid = await h.userToken(contoso, 1);
    const device = await h.deviceToken(contoso, 0);
    const now = Math.floor(Date.now() / 1000);
    const expired = h.stack.entra.mint({
      tenantId: contoso.id,
      claims: { exp: now - 3600, iat: now - 7200, nbf: now - 7200 },
    });
    const wrongAudience = h.stack.entra.mint({ tenantId: contoso.id, claims: { aud: "api://someone-else/app" } });
    const [head, payload, sig] = valid.split(".");
    const forged = `${head}.${payload}.${sig!.split("").reverse().join("")}`;
    const tokens = [valid, device, expired, wrongAudience, forged];

    const json = { "content-type": "application/json" };
    for (const token of tokens) await h.gw("POST", "/CCM_STS", { token, headers: json, body: "{}" });
    await h.gw("POST", "/CCM_STS", { headers: { ...json, authorization: `Basic ${valid}` }, body: "{}" });
    await h.gw("GET", `/CCM_STS?access_token=${forged}`);
    const admin = adminClient(h.stack.description.gateway.adminUrl, valid, h.dispatcher);
    expect((await admin("GET", "/tenants")).status).toBe(401);

    const lines = h.logLines.map((l) => JSON.parse(l) as Record<string, any>);
    const requests = lines.filter((l) => l.msg === "request");
    expect(requests.length).toBeGreaterThanOrEqual(tokens.length + 2);
    for (const l of requests) {
      expect(l.reqId).toMatch(/^[0-9a-f-]{36}$/);
      expect(l.level).toBe(l.status >= 500 ? 50 : 30);
    }
    expect(requests.some((l) => l.reason === "token_expired" && l.tokenFp)).toBe(true);
    const all = h.logLines.join("\n");
    for (const token of tokens) {
      const [, body, signature] = token.split(".");
      expect(all).not.toContain(token);
      expect(all).not.toContain(signature!);
      expect(all).not.toContain(body!);
    }
    expect(all).not.toContain(h.stack.description.gateway.adminKey);
  });
});
