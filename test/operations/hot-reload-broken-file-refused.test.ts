import { readFile, rename, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { adminClient, eventually, metricValue } from "./helpers.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

async function writeConfig(text: string): Promise<void> {
  const file = h.stack.gatewayConfigFile;
  await writeFile(`${file}.new`, text);
  await rename(`${file}.new`, file);
}

const refused = async (trigger: string) =>
  metricValue(await h.stack.service.registry.metrics(), "entra_gateway_config_reloads_total", {
    trigger,
    result: "refused",
  }) ?? 0;

describe("hot reload: a broken file", () => {
  it("when the file becomes invalid, then it is refused, logged and counted, and the last good configuration keeps serving", async () => {
    const contoso = h.tenant("contoso");
    const token = await h.userToken(contoso, 1);
    const good = await readFile(h.stack.gatewayConfigFile, "utf8");
    const inForce = h.stack.gateway.authenticator.config;

    // A typo that would leave a tenant open if ignored, plus a broken value: both must be reported.
    const broken = good
      .replace("disableAuthentication: false", "disableAuthentification: true")
      .replace(/clockSkewSec: \d+/, "clockSkewSec: -1");
    expect(broken).not.toBe(good);
    await writeConfig(broken);
    await eventually(async () => (await refused("watch")) >= 1, "the watch to refuse the file");

    expect(h.stack.gateway.authenticator.config).toBe(inForce);
    const res = await h.gw("POST", "/CCM_STS", { token, headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    const line = h.logLines
      .map((l) => JSON.parse(l))
      .find((l) => String(l.msg).startsWith("configuration reload refused"));
    expect(line?.level).toBe(50);
    expect(JSON.stringify(line.problems)).toContain("disableAuthentification");

    // The admin API says the same, with every problem, and nothing changes.
    const admin = adminClient(h.stack.description.gateway.adminUrl, h.stack.description.gateway.adminKey, h.dispatcher);
    await writeConfig(`${broken}\n# touched\n`);
    const answer = await admin("POST", "/config/reload");
    expect(answer.status).toBe(409);
    expect(answer.body.result).toBe("refused");
    expect(answer.body.problems.some((p: string) => p.includes("disableAuthentification"))).toBe(true);
    expect(h.stack.gateway.authenticator.config).toBe(inForce);

    // Fixed: applied again.
    await writeConfig(good);
    const fixed = await admin("POST", "/config/reload");
    expect([200]).toContain(fixed.status);
    expect(["applied", "unchanged"]).toContain(fixed.body.result);
  });
});
