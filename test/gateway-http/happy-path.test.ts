import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "./stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

describe("through the gateway to the MP", () => {
  it("when a user token from a real ROPC grant calls /CCM_STS, then the MP answers with a CCM token and saw the gateway's identity headers", async () => {
    const t = h.tenant("contoso");
    const token = await h.userToken(t, 1);
    const res = await h.gw("POST", "/CCM_STS", { token, headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status, res.text).toBe(200);
    expect(res.body.kind).toBe("user");
  });
});
