/**
 * The fixtures' signing keys come from the run's pool (test/harness-pool.ts), which workers share across test
 * files: no two keys handed out in one process may be the same key, or a "key the JWKS does not have" could be
 * a tenant's own key.
 */
import { describe, expect, it } from "vitest";
import { poolDir, pooledRsaKeysLeft } from "../harness-pool.js";
import { newSigningKey } from "./fixtures.js";

describe("fixture signing keys", () => {
  it("when more keys are drawn than the pool holds, then every key of the process is a different key", () => {
    expect(poolDir(), "the unit project's pool (test/global-setup.ts)").toBeDefined();
    const keys = Array.from({ length: pooledRsaKeysLeft() + 1 }, () => newSigningKey());
    const moduli = new Set(keys.map((k) => k.publicKey.export({ format: "jwk" }).n));
    expect(moduli.size).toBe(keys.length);
  });
});
