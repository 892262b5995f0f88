/**
 * `services disable-auth` / `enable-auth`: runtime tenant state — through a running gateway (the seam), else
 * in the state directory — never an edit of the configuration file.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfig } from "../../gateway/config/read.js";
import type { ServiceChange } from "../../gateway/onboarding/services.js";
import { applyTenantStates, createFileTenantStateStore } from "../../gateway/state/tenant-state.js";
import { type CliWorld, createCliWorld, createPipeline, runCli, seededServiceYaml } from "./helpers.js";

let w: CliWorld;
beforeAll(async () => {
  w = await createCliWorld();
  await w.writeServices(`azureServices:\n${seededServiceYaml("Contoso", w.tenant("contoso.onmicrosoft.com"))}`);
});
afterAll(async () => {
  await w.close();
});

describe("services disable-auth / enable-auth", () => {
  it("when authentication is disabled, then the state directory says so, the file is unchanged, and a gateway with that state refuses the tenant; enabled, it is accepted again", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const pipeline = await createPipeline(w.configPath);
    try {
      const token = w.h.sim.mint({ tenantId: t.id });
      const check = async () => {
        const r = await pipeline.auth.authenticate({ url: "/CCM_STS", authorization: `Bearer ${token}` });
        return r.ok ? "ok" : r.reason;
      };
      const store = createFileTenantStateStore(join(w.dir, ".state"));
      const reload = async () => {
        const loaded = await readConfig(w.configPath, { env: {} });
        if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
        pipeline.auth.setConfig(applyTenantStates(loaded.config, await store.load()));
      };
      expect(await check()).toBe("ok");
      const before = await w.readConfig();

      const disabled = await runCli(w, ["disable-auth", "Contoso"]);
      expect(disabled.code).toBe(0);
      expect(disabled.stdout).toContain('Entra authentication disabled for "Contoso"');
      expect(await w.readConfig()).toBe(before);
      expect((await store.load())[t.id]).toMatchObject({ disabled: true, by: expect.stringContaining("services CLI") });
      await reload();
      expect(await check()).toBe("tenant_disabled");

      const enabled = await runCli(w, ["enable-auth", "Contoso"]);
      expect(enabled.code).toBe(0);
      expect((await store.load())[t.id]?.disabled).toBe(false);
      expect(await w.readConfig()).toBe(before);
      await reload();
      expect(await check()).toBe("ok");
    } finally {
      await pipeline.close();
    }
  });

  it("when a running gateway takes the change through the seam, then the CLI does not write the file", async () => {
    const before = await w.readConfig();
    const changes: ServiceChange[] = [];
    const run = await runCli(w, ["disable-auth", "contoso"], {
      applyToRunningGateway: async (change) => {
        changes.push(change);
        return true;
      },
    });
    expect(run.code).toBe(0);
    expect(changes).toEqual([
      {
        kind: "tenantAuthentication",
        serviceName: "Contoso",
        tenantId: w.tenant("contoso.onmicrosoft.com").id,
        disabled: true,
      },
    ]);
    expect(run.stdout).toContain("The running gateway disabled Entra authentication");
    expect(await w.readConfig()).toBe(before);
  });

  it("when the seam finds no running gateway, then the CLI writes the state directory given, not the file", async () => {
    const before = await w.readConfig();
    const run = await runCli(w, ["disable-auth", "Contoso", "--state-dir", "gw-state"], {
      applyToRunningGateway: async () => false,
    });
    expect(run.code).toBe(0);
    expect(await w.readConfig()).toBe(before);
    const states = await createFileTenantStateStore(join(w.dir, "gw-state")).load();
    expect(states[w.tenant("contoso.onmicrosoft.com").id]?.disabled).toBe(true);
    expect(run.stdout).toContain("next start");
  });

  it("when the service does not exist, then it says so and exits 1", async () => {
    const run = await runCli(w, ["enable-auth", "Nope"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no service named "Nope"');
  });
});
