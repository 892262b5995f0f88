/**
 * Runtime tenant state written from outside the gateway process (the services CLI without an admin URL
 * writes the state directory) is followed by a running gateway at once — and an unreadable state file keeps
 * the states in force (fail closed).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFileTenantStateStore, TENANT_STATE_FILE } from "../../gateway/state/tenant-state.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { eventually } from "./helpers.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

describe("runtime tenant state written from outside", () => {
  it("when another writer disables a tenant in the state directory, then the running gateway refuses it; a damaged file changes nothing", async () => {
    const contoso = h.tenant("contoso");
    const token = await h.userToken(contoso, 1);
    const call = async () =>
      (await h.gw("POST", "/CCM_STS", { token, headers: { "content-type": "application/json" }, body: "{}" })).status;
    expect(await call()).toBe(200);
    const store = createFileTenantStateStore(h.stack.stateDir);
    await store.set(contoso.id, { disabled: true, by: "services CLI (test)", at: new Date().toISOString() });
    await eventually(async () => (await call()) === 403, "the tenant refused");

    await writeFile(join(h.stack.stateDir, TENANT_STATE_FILE), "{ not json");
    await eventually(
      async () => h.logLines.some((l) => l.includes("runtime tenant state unreadable")),
      "the damaged file noticed",
    );
    expect(await call()).toBe(403);
  });
});
