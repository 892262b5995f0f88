/**
 * A key store that fetches for several processes, and the replicas those processes serve from
 * (docs/operations.md § Workers): the source's store is the only one that fetches; snapshots cross a channel
 * (here a structured clone, as IPC does) to every replica, and a replica's unknown `kid` becomes a question to
 * the source.
 */
import { describe, expect, it } from "vitest";
import { createAuthenticator } from "../../gateway/auth/authenticate.js";
import { createJwksReplica, type JwksReplica } from "../../gateway/auth/keys/jwks-replica.js";
import { createJwksStore, type KeySetSnapshot } from "../../gateway/auth/keys/jwks-store.js";
import { createTenantRegistry } from "../../gateway/auth/tenants.js";
import {
  baseConfigInput,
  FakeClock,
  FakeJwksServer,
  flushPromises,
  jwksOf,
  jwksUrl,
  makeConfig,
  newKid,
  newSigningKey,
  outcome,
  signToken,
  TENANT_A,
  TENANT_ADMIN,
  TENANT_DISABLED,
  TENANT_GOV,
  userClaimsV1,
} from "./fixtures.js";

/** A source store and two replicas (two "workers"), each with its authenticator. */
async function createHost() {
  const clock = new FakeClock();
  const idp = new FakeJwksServer();
  const key = newSigningKey();
  for (const tenant of [TENANT_A, TENANT_GOV, TENANT_ADMIN, TENANT_DISABLED]) {
    idp.serve(jwksUrl(tenant, 1), jwksOf([key]));
    idp.serve(jwksUrl(tenant, 2), jwksOf([key]));
  }
  const config = makeConfig(baseConfigInput());
  const replicas: JwksReplica[] = [];
  /** The channel: a snapshot arrives later, as a copy. */
  const deliver = (to: readonly JwksReplica[], snapshot: KeySetSnapshot) =>
    setImmediate(() => {
      for (const r of to) r.accept(structuredClone(snapshot));
    });
  const source = createJwksStore({
    fetcher: idp.fetch,
    settings: config.auth.jwks,
    clock,
    random: () => 0.5,
    onSnapshot: (snapshot) => deliver(replicas, snapshot),
  });
  const workers = [0, 1].map(() => {
    const replica: JwksReplica = createJwksReplica({
      settings: config.auth.jwks,
      clock,
      source: {
        request: (setId, reason) =>
          void (reason === "manual" ? source.refreshAll() : source.refetchUnknownKid(setId)).then(() => {
            const snapshot = source.snapshots().find((s) => s.id === setId);
            if (snapshot !== undefined) deliver([replica], snapshot);
          }),
      },
    });
    replicas.push(replica);
    return { keys: replica, auth: createAuthenticator({ config, keys: replica, clock }) };
  });
  source.sync(createTenantRegistry(config).keySets);
  await Promise.all(workers.map((w) => w.keys.whenSettled()));
  const check = (w: (typeof workers)[number], token: string) =>
    w.auth.authenticate({ url: "/CCM_STS", authorization: `Bearer ${token}` });
  return { clock, idp, key, source, workers, check, config };
}

describe("JWKS replicas fed by one fetching store", () => {
  it("when the source settles, then both replicas serve its keys without fetching", async () => {
    const h = await createHost();
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(1);
    const token = signToken(h.key, userClaimsV1(TENANT_A, h.clock.nowSec()));
    for (const w of h.workers) expect(outcome(await h.check(w, token))).toBe("ok");
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(1);
  });

  it("when unknown kids flood both replicas at once, then the source fetches once and both refuse them", async () => {
    const h = await createHost();
    const url = jwksUrl(TENANT_A, 1);
    const claims = userClaimsV1(TENANT_A, h.clock.nowSec());
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => h.check(h.workers[i % 2]!, signToken(h.key, claims, { kid: newKid() }))),
    );
    expect(new Set(results.map(outcome))).toEqual(new Set(["key_not_found"]));
    expect(h.idp.count(url)).toBe(2);
    // Later kids within the cooldown cost no question at all, let alone a fetch.
    for (const w of h.workers)
      expect(outcome(await h.check(w, signToken(h.key, claims, { kid: newKid() })))).toBe("key_not_found");
    expect(h.idp.count(url)).toBe(2);
  });

  it("when a key is rotated in, then one fetch lets both replicas accept its tokens", async () => {
    const h = await createHost();
    const rotated = newSigningKey();
    h.idp.serve(jwksUrl(TENANT_A, 1), jwksOf([h.key, rotated]));
    const token = signToken(rotated, userClaimsV1(TENANT_A, h.clock.nowSec()));
    const [first, second] = await Promise.all(h.workers.map((w) => h.check(w, token)));
    expect([outcome(first!), outcome(second!)]).toEqual(["ok", "ok"]);
    expect(h.idp.count(jwksUrl(TENANT_A, 1))).toBe(2);
  });

  it("when a key disappears at the source's refresh, then both replicas refuse its tokens at once, cached verdicts included", async () => {
    const h = await createHost();
    const token = signToken(h.key, userClaimsV1(TENANT_A, h.clock.nowSec()));
    for (const w of h.workers) expect(outcome(await h.check(w, token))).toBe("ok"); // verdicts cached
    h.idp.serve(jwksUrl(TENANT_A, 1), jwksOf([newSigningKey()]));
    await h.source.refreshAll();
    await flushPromises();
    for (const w of h.workers) expect(outcome(await h.check(w, token))).toBe("key_not_found");
  });

  it("when the source's IdP stays down, then the replicas go stale and unavailable as the source does", async () => {
    const h = await createHost();
    const states = () => ({
      source: h.source.statuses().map((s) => [s.id, s.state]),
      replicas: h.workers.map((w) => w.keys.statuses().map((s) => [s.id, s.state])),
    });
    h.idp.down = true;
    await h.source.refreshAll();
    await flushPromises();
    let now = states();
    expect(new Set(now.source.map(([, state]) => state))).toEqual(new Set(["stale"]));
    for (const r of now.replicas) expect(r).toEqual(now.source);
    await h.clock.advance(h.config.auth.jwks.staleWindowMs + 1);
    now = states();
    expect(new Set(now.source.map(([, state]) => state))).toEqual(new Set(["unavailable"]));
    for (const r of now.replicas) expect(r).toEqual(now.source);
  });
});
