import { readFile, rename, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { eventually, metricValue } from "./helpers.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

/** Replaces the file the way editors and ConfigMaps do: write a sibling, rename over. */
async function replaceConfig(edit: (doc: any) => void): Promise<void> {
  const file = h.stack.gatewayConfigFile;
  const doc = parse(await readFile(file, "utf8"));
  edit(doc);
  await writeFile(`${file}.new`, stringify(doc));
  await rename(`${file}.new`, file);
}

const scrape = async () => (await h.stack.service.registry.metrics()) as string;

describe("hot reload: a valid change", () => {
  it("when the file changes under load, then the new configuration applies and no request fails", async () => {
    const token = await h.userToken(h.tenant("contoso"), 1);
    const before = (await h.gw("GET", "/CCM_Reloaded/ping")).status;
    expect(before).toBe(404); // route_unknown: no rule matches yet

    let running = true;
    const statuses: number[] = [];
    const load = async () => {
      while (running) {
        const res = await h.gw("POST", "/CCM_STS", {
          token,
          headers: { "content-type": "application/json" },
          body: "{}",
        });
        statuses.push(res.status);
      }
    };
    const loops = [load(), load(), load()];
    await eventually(async () => statuses.length >= 10, "load to start");

    await replaceConfig((doc) => {
      doc.routes = [
        { prefix: "/CCM_Reloaded/", requirement: "anonymous" },
        { prefix: "/SMS_MP/.sms_aut", requirement: "anonymous" },
        { prefix: "/CCM_STS", requirement: "entra" },
        { prefix: "/ccm_system_tokenauth/", requirement: "passthrough" },
        { prefix: "/AdminService/", requirement: "user" },
      ];
    });
    await eventually(
      async () =>
        (metricValue(await scrape(), "entra_gateway_config_reloads_total", { trigger: "watch", result: "applied" }) ??
          0) >= 1,
      "the watch to apply the change",
    );
    const countAtSwap = statuses.length;
    await eventually(async () => statuses.length >= countAtSwap + 10, "load after the swap");
    running = false;
    await Promise.all(loops);

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The new rule is in force: the path now reaches the MP instead of being refused by the gateway.
    await h.gw("GET", "/CCM_Reloaded/ping");
    const outcomes = h.logLines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === "request" && l.path === "/CCM_Reloaded/ping")
      .map((l) => l.outcome + (l.reason ? `:${l.reason}` : ""));
    expect(outcomes).toEqual(["rejected:route_unknown", "proxied"]);
    expect(h.stack.gateway.authenticator.config.routes[0]?.prefix).toBe("/CCM_Reloaded/");
    expect(h.logLines.some((l) => l.includes('"msg":"configuration applied"'))).toBe(true);
  });
});
