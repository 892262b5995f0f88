/** Log lines carry a request id and a token fingerprint, never the token (docs/architecture.md § Observability). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenFingerprint } from "../../gateway/observability/logger.js";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

function gatewayLines() {
  return h.logLines.map((l) => JSON.parse(l)).filter((l) => l.component === "gateway" && l.msg === "request");
}

describe("request logs", () => {
  it("when requests pass and fail, then each has one line with reqId, status and reason, a fingerprint and never the token", async () => {
    const t = h.tenant("contoso");
    const good = await h.userToken(t, 1);
    const bad = h.stack.entra.mint({ tenantId: t.id, claims: { aud: "api://nope" } });
    h.logLines.length = 0;
    expect((await h.gw("POST", "/CCM_STS", { token: good })).status).toBe(200);
    expect((await h.gw("POST", "/CCM_STS", { token: bad })).status).toBe(401);
    expect((await h.gw("POST", `/CCM_STS?access_token=${good}`)).status).toBe(400);
    const lines = gatewayLines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: 30,
      status: 200,
      outcome: "proxied",
      tokenFp: tokenFingerprint(good),
      tenantId: t.id,
      path: "/CCM_STS",
    });
    expect(lines[1]).toMatchObject({
      level: 30,
      status: 401,
      outcome: "rejected",
      reason: "audience_invalid",
      tokenFp: tokenFingerprint(bad),
    });
    expect(lines[2]).toMatchObject({ status: 400, reason: "request_malformed", path: "/CCM_STS" });
    for (const line of lines) expect(line.reqId).toMatch(/^[0-9a-f-]{36}$/);
    const all = h.logLines.join("\n");
    expect(all).not.toContain(good.split(".")[2]);
    expect(all).not.toContain(bad.split(".")[2]);
  });
});
