/**
 * `services disable-auth` / `enable-auth` without a running gateway, when the configuration shares runtime
 * tenant state through Redis: the change goes to Redis (where every replica hears it), never to the state
 * directory; a file that does not validate but names `sharedState` is refused rather than written around.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisTenantStateStore, type RedisTenantStateStore } from "../../gateway/state/redis-tenant-state.js";
import { TENANT_STATE_FILE } from "../../gateway/state/tenant-state.js";
import { eventually } from "../operations/helpers.js";
import { type RedisServer, redisTests, startRedisServer } from "../redis-server.js";
import { baseConfig, type CliWorld, createCliWorld, runCli, seededServiceYaml } from "./helpers.js";

describe.skipIf(redisTests().skip)("services disable-auth / enable-auth with shared state", () => {
  let redis: RedisServer;
  let w: CliWorld;
  let replica: RedisTenantStateStore;
  const withShared = (host: string) => `${baseConfig(host)}sharedState:\n  redisUrl: ${redis.url}\n`;

  beforeAll(async () => {
    redis = await startRedisServer();
    w = await createCliWorld(withShared);
    await w.writeServices(`azureServices:\n${seededServiceYaml("Contoso", w.tenant("contoso.onmicrosoft.com"))}`);
    // What a gateway replica runs: a store on the same Redis, subscribed.
    replica = createRedisTenantStateStore({ url: redis.url });
    await replica.load();
  });
  afterAll(async () => {
    await replica?.close();
    await w?.close();
    await redis?.close();
  });

  it("when authentication is disabled and enabled, then Redis holds the change, a subscribed replica hears it, and the state directory is untouched", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    let heard = 0;
    replica.watch(() => heard++);
    const before = await w.readConfig();

    const disabled = await runCli(w, ["disable-auth", "Contoso"]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain('Entra authentication disabled for "Contoso"');
    expect(disabled.stdout).toContain(`in the shared state (redis ${redis.url}`);
    await eventually(async () => heard > 0, "the replica hears the change");
    expect((await replica.load())[t.id]).toMatchObject({ disabled: true, by: expect.stringContaining("services CLI") });
    expect(existsSync(join(w.dir, ".state", TENANT_STATE_FILE))).toBe(false);

    const enabled = await runCli(w, ["enable-auth", "Contoso"]);
    expect(enabled.code, enabled.stderr).toBe(0);
    expect((await replica.load())[t.id]?.disabled).toBe(false);
    expect(await w.readConfig()).toBe(before);
  });

  it("when the file does not validate but names sharedState, then nothing is written anywhere", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const valid = await w.readConfig();
    await writeFile(w.configPath, `${valid}notAKey: true\n`);
    try {
      const refused = await runCli(w, ["disable-auth", "Contoso"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("does not validate now, and it configures sharedState");
      expect((await replica.load())[t.id]?.disabled).toBe(false);
      expect(existsSync(join(w.dir, ".state", TENANT_STATE_FILE))).toBe(false);
    } finally {
      await writeFile(w.configPath, valid);
    }
  });
});
