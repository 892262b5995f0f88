/**
 * `services disable-auth` / `enable-auth` against a running gateway through its admin API (the seam plugged
 * in by `ENTRA_GATEWAY_ADMIN_URL`): the next request is refused / accepted; the change is runtime tenant state,
 * the configuration file is left as it is.
 */
import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../gateway/main.js";
import { createFileTenantStateStore } from "../../gateway/state/tenant-state.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";

let h: StackHarness;
beforeAll(async () => {
  h = await startStackHarness();
});
afterAll(() => h?.close());

async function services(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (c) => (out += String(c)));
  stderr.on("data", (c) => (out += String(c)));
  const code = await main(["services", ...args], { stdin: new PassThrough(), stdout, stderr, env } as never);
  return { code, out };
}

describe("services CLI through the admin API", () => {
  it("when disable-auth runs with the admin URL, then the running gateway refuses the tenant's next request; enable-auth restores it", async () => {
    const t = h.tenant("contoso");
    const token = await h.userToken(t, 1);
    expect((await h.gw("POST", "/CCM_STS", { token })).status).toBe(200);
    const gw = h.stack.description.gateway;
    const env = {
      ENTRA_GATEWAY_ADMIN_URL: gw.adminUrl,
      ENTRA_GATEWAY_ADMIN_KEY: gw.adminKey,
      ENTRA_GATEWAY_ADMIN_CA: h.stack.description.caCert,
    };
    const config = ["--config", h.stack.gatewayConfigFile];
    const file = await readFile(h.stack.gatewayConfigFile, "utf8");

    const off = await services(["disable-auth", "Contoso cloud management", ...config], env);
    expect(off.code, off.out).toBe(0);
    expect((await h.gw("POST", "/CCM_STS", { token })).status).toBe(403);
    expect(await readFile(h.stack.gatewayConfigFile, "utf8")).toBe(file);

    const on = await services(["enable-auth", "Contoso cloud management", ...config], env);
    expect(on.code, on.out).toBe(0);
    expect((await h.gw("POST", "/CCM_STS", { token })).status).toBe(200);
  });

  it("when the admin key is wrong, then the command fails with a clear message and the file is not edited behind the gateway's back", async () => {
    const gw = h.stack.description.gateway;
    const env = {
      ENTRA_GATEWAY_ADMIN_URL: gw.adminUrl,
      ENTRA_GATEWAY_ADMIN_KEY: "x".repeat(40),
      ENTRA_GATEWAY_ADMIN_CA: h.stack.description.caCert,
    };
    const before = await readFile(h.stack.gatewayConfigFile, "utf8");
    const res = await services(
      [
        "disable-auth",
        "Fabrikam cloud management",
        "--config",
        h.stack.gatewayConfigFile,
        "--state-dir",
        h.stack.stateDir,
      ],
      env,
    );
    expect(res.code, res.out).toBe(1);
    expect(res.out).toMatch(/refused the admin key \(HTTP 401\): check ENTRA_GATEWAY_ADMIN_KEY/);
    expect(await readFile(h.stack.gatewayConfigFile, "utf8")).toBe(before);
    const fabrikam = h.tenant("fabrikam");
    expect((await createFileTenantStateStore(h.stack.stateDir).load())[fabrikam.id]?.disabled).not.toBe(true);
  });
});
