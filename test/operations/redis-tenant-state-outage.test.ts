/**
 * The Redis store when Redis goes away (fail static): changes are refused with the typed error (the admin
 * API's 503), the states in force stay, and when Redis is back the replica reads again what changed while it
 * could not hear it — and adds back the states it knew when the Redis that came back has lost them.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantSwitch } from "../../gateway/admin/tenant-switch.js";
import { createRedisTenantStateStore, type RedisTenantStateStore } from "../../gateway/state/redis-tenant-state.js";
import { TenantStateUnavailableError } from "../../gateway/state/tenant-state.js";
import {
  type ConnectionCutter,
  type RedisServer,
  redisTests,
  startConnectionCutter,
  startRedisServer,
} from "../redis-server.js";
import { eventually } from "./helpers.js";

const T1 = "0b1c2d3e-0000-4000-8000-000000000011";
const T2 = "0b1c2d3e-0000-4000-8000-000000000012";
const at = () => new Date().toISOString();

describe.skipIf(redisTests().skip)("runtime tenant state in Redis, through an outage", () => {
  let redis: RedisServer;
  let link: ConnectionCutter;
  const stores: RedisTenantStateStore[] = [];
  const open = (url: string) => {
    const store = createRedisTenantStateStore({ url, maxReconnectDelayMs: 200 });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    link = await startConnectionCutter(redis.port);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await link?.close();
    await redis?.close();
  });

  it("when Redis is down, then changes are refused, the disable stays; when it is back, a change made meanwhile applies and the disable is added back", async () => {
    // Replica A reaches Redis through a link the test can cut; its switch is what the gateway serves from.
    const a = open(link.url);
    const connection: boolean[] = [];
    a.onConnectionChange((up) => connection.push(up));
    const tenants = await createTenantSwitch(a, pino({ level: "silent" }));
    let applied = 0;
    tenants.follow(async () => {
      applied++;
    });
    await tenants.set(T1, { disabled: true, by: "admin on a", at: at() });
    expect(tenants.states()[T1]?.disabled).toBe(true);

    // Redis dies.
    await redis.stop();
    await eventually(async () => !a.connected, "a notices the outage");
    expect(connection.at(-1)).toBe(false);
    const refused = await tenants.set(T1, { disabled: false, by: "admin on a", at: at() }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TenantStateUnavailableError);
    await expect(tenants.clear(T1)).rejects.toBeInstanceOf(TenantStateUnavailableError);
    await expect(a.load()).rejects.toBeInstanceOf(TenantStateUnavailableError);
    expect(tenants.states()[T1]?.disabled).toBe(true);

    // Redis comes back empty (no persistence) while A is still cut off; another client disables T2.
    link.cut();
    await redis.start();
    const other = open(redis.url);
    expect(await other.load()).toEqual({});
    await other.set(T2, { disabled: true, by: "services CLI", at: at() });
    expect(applied).toBe(0);
    expect(a.connected).toBe(false);

    // A's link is back: it resyncs (T2, never heard over pub/sub) and adds back T1, which the new Redis lost.
    link.restore();
    await eventually(async () => a.connected, "a reconnects");
    await eventually(async () => tenants.states()[T2]?.disabled === true, "a picks up T2");
    expect(tenants.states()[T1]?.disabled).toBe(true);
    expect(applied).toBeGreaterThan(0);
    expect(connection.at(-1)).toBe(true);
    expect(await other.load()).toEqual({
      [T1]: expect.objectContaining({ disabled: true, by: "admin on a" }),
      [T2]: expect.objectContaining({ disabled: true, by: "services CLI" }),
    });

    // And changes are taken again.
    await tenants.set(T1, { disabled: false, by: "admin on a", at: at() });
    expect((await other.load())[T1]?.disabled).toBe(false);
  });

  it("when Redis cannot be reached at start, then no switch is made: a gateway does not serve without the states", async () => {
    const closed = await startConnectionCutter(redis.port);
    closed.cut();
    const store = createRedisTenantStateStore({ url: closed.url, connectWaitMs: 300, maxReconnectDelayMs: 100 });
    stores.push(store);
    await expect(createTenantSwitch(store, pino({ level: "silent" }))).rejects.toThrow(
      /runtime tenant state \(redis redis:\/\/127\.0\.0\.1:\d+ hash entra-gateway:tenant-state\) cannot be read/,
    );
    expect(store.connected).toBe(false);
    await closed.close();
  });
});
