/**
 * The run's pool (test/harness-pool.ts) is what the harnesses use, and what they draw is theirs alone: stacks
 * and emulators start from the run's PKI and signing keys, and a test that rotates keys changes only its copy.
 * (The unit fixtures' keys: test/gateway/fixtures-keys.test.ts.)
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "./entra-simulator/harness.js";
import { poolDir, poolTlsMaterial, seedStackState } from "./harness-pool.js";

let pool: string;
let dir: string;
beforeAll(async () => {
  const found = poolDir();
  if (found === undefined) throw new Error("no pool: run through vitest (test/global-setup.ts makes it)");
  pool = found;
  dir = await mkdtemp(join(tmpdir(), "harness-pool-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const kidsOf = (doc: { keys: { kid: string }[] }) => doc.keys.map((k) => k.kid).sort();

describe("the run's pool of keys and PKI", () => {
  it("when a stack state directory is seeded, then it holds the run's TLS material (keys private) and emulator keys", async () => {
    await seedStackState(dir);
    for (const file of ["ca.crt", "server.crt", "server.key", "gateway-client.crt", "gateway-client.key"]) {
      expect(await readFile(join(dir, "tls", file), "utf8"), file).toBe(
        await readFile(join(pool, "tls", file), "utf8"),
      );
    }
    expect((await stat(join(dir, "tls", "server.key"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, "entra", "signing-keys.json"), "utf8")).toBe(
      await readFile(join(pool, "entra", "signing-keys-3.json"), "utf8"),
    );
    expect((await poolTlsMaterial()).ca.cert).toBe(await readFile(join(pool, "tls", "ca.crt"), "utf8"));
  });

  it("when an emulator harness starts and rotates a key, then it started from the run's keys and the pool is unchanged", async () => {
    const pooled = await readFile(join(pool, "entra", "signing-keys-2.json"), "utf8");
    const h = await startEmulator();
    try {
      const tenant = h.sim.directory.tenants[0]!;
      const published = kidsOf(h.sim.keys.exportPrivate());
      expect(published).toEqual(kidsOf(JSON.parse(pooled)));
      await h.call("POST", "/_sim/keys/rotate", { json: { tenantId: tenant.id } });
      expect(kidsOf(h.sim.keys.exportPrivate())).not.toEqual(published);
      expect(await readFile(join(pool, "entra", "signing-keys-2.json"), "utf8")).toBe(pooled);
    } finally {
      await h.close();
    }
  });
});
