/**
 * The Redis store of runtime tenant state (`gateway/state/redis-tenant-state.ts`) against a real
 * redis-server: what is set is what every store loads, a change made through one store is heard by the
 * others, and a damaged or hostile hash is a refused load, never a crash or a tenant silently dropped.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createRedisTenantStateStore,
  MAX_SHARED_ENTRY_BYTES,
  MAX_SHARED_TENANTS,
  type RedisTenantStateStore,
  redactRedisUrl,
} from "../../gateway/state/redis-tenant-state.js";
import { type RedisServer, redisTests, startRedisServer } from "../redis-server.js";
import { eventually } from "./helpers.js";

const T1 = "0b1c2d3e-0000-4000-8000-000000000001";
const T2 = "0b1c2d3e-0000-4000-8000-000000000002";
const at = () => new Date().toISOString();

describe.skipIf(redisTests().skip)("runtime tenant state in Redis", () => {
  let redis: RedisServer;
  let raw: Redis;
  const stores: RedisTenantStateStore[] = [];
  let prefixes = 0;
  /** A store on its own key prefix (each test its own data set), or on `prefix` to share one. */
  const open = (prefix = `test${++prefixes}:`) => {
    const store = createRedisTenantStateStore({ url: redis.url, keyPrefix: prefix });
    stores.push(store);
    return { store, prefix };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    raw?.disconnect();
    await redis?.close();
  });

  it("when a tenant is set and then cleared, then every load answers what is stored", async () => {
    const { store } = open();
    expect(await store.load()).toEqual({});
    const state = { disabled: true, by: "admin key 3f2a from 127.0.0.1", at: at() };
    expect(await store.set(T1.toUpperCase(), state)).toEqual({ [T1]: state });
    expect(await store.set(T2, { ...state, disabled: false })).toEqual({
      [T1]: state,
      [T2]: { ...state, disabled: false },
    });
    expect(await store.load()).toEqual({ [T1]: state, [T2]: { ...state, disabled: false } });
    expect(await store.clear(T1)).toEqual({ [T2]: { ...state, disabled: false } });
    expect(await store.load()).toEqual({ [T2]: { ...state, disabled: false } });
    expect(store.connected).toBe(true);
  });

  it("when one store changes a tenant, then another store on the same prefix hears it and loads the change", async () => {
    const { store: a, prefix } = open();
    const { store: b } = open(prefix);
    const { store: elsewhere } = open();
    await Promise.all([a.load(), b.load(), elsewhere.load()]);
    let heard = 0;
    let heardElsewhere = 0;
    b.watch(() => heard++);
    elsewhere.watch(() => heardElsewhere++);
    const before = heard;
    await a.set(T1, { disabled: true, by: "replica a", at: at() });
    await eventually(async () => heard > before, "b hears the change");
    expect((await b.load())[T1]?.disabled).toBe(true);
    // Another prefix is another data set: its stores are not told.
    expect(heardElsewhere).toBe(0);
    expect(await elsewhere.load()).toEqual({});
  });

  it("when the hash holds a malformed entry, then load rejects naming it and the store stays usable", async () => {
    const { store, prefix } = open();
    await store.set(T1, { disabled: true, by: "x", at: at() });
    await raw.hset(`${prefix}tenant-state`, T2, "{ not json");
    await expect(store.load()).rejects.toThrow(/tenant entry "0b1c2d3e-0000-4000-8000-000000000002" is malformed/);
    await raw.hset(`${prefix}tenant-state`, T2, JSON.stringify({ disabled: "yes", by: "x", at: at() }));
    await expect(store.load()).rejects.toThrow(/is malformed/);
    await raw.hdel(`${prefix}tenant-state`, T2);
    await raw.hset(`${prefix}tenant-state`, "not-a-guid", JSON.stringify({ disabled: false, by: "x", at: at() }));
    await expect(store.load()).rejects.toThrow(/"not-a-guid" is malformed/);
    await raw.hdel(`${prefix}tenant-state`, "not-a-guid");
    expect(Object.keys(await store.load())).toEqual([T1]);
  });

  it("when the hash is oversized or not a hash, then Redis refuses to send it and load rejects", async () => {
    const { store, prefix } = open();
    await store.load();
    const key = `${prefix}tenant-state`;
    await raw.hset(key, T1, "x".repeat(MAX_SHARED_ENTRY_BYTES + 1));
    await expect(store.load()).rejects.toThrow(/TOOBIG an entry exceeds/);
    await raw.del(key);
    const fields: string[] = [];
    for (let i = 0; i <= MAX_SHARED_TENANTS; i++) fields.push(`f${i}`, "{}");
    await raw.hset(key, ...fields);
    await expect(store.load()).rejects.toThrow(/TOOBIG hash holds 10001 entries/);
    await raw.del(key);
    await raw.set(key, "a string");
    await expect(store.load()).rejects.toThrow(/WRONGTYPE/);
    await raw.del(key);
    expect(await store.load()).toEqual({});
  });

  it("when a state would not fit the bounded read, then set refuses it before writing", async () => {
    const { store } = open();
    await store.load();
    await expect(store.set(T1, { disabled: true, by: "b".repeat(MAX_SHARED_ENTRY_BYTES), at: at() })).rejects.toThrow(
      /longer than/,
    );
    expect(await store.load()).toEqual({});
  });

  it("when the URL carries a password, then where names the server without it", () => {
    expect(redactRedisUrl("redis://user:s3cret@redis.internal:6380/2")).toBe("redis://redis.internal:6380/2");
    expect(redactRedisUrl("rediss://:s3cret@redis.internal")).toBe("rediss://redis.internal");
    const store = createRedisTenantStateStore({ url: `redis://:s3cret@127.0.0.1:${redis.port}` });
    stores.push(store);
    expect(store.where).toContain(`127.0.0.1:${redis.port}`);
    expect(store.where).not.toContain("s3cret");
  });
});
