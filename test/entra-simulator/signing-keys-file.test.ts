/** The signing-keys file (docs/architecture.md § Interfaces `entra.signingKeys`): private JWKs independent tools can sign with. */

import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "./harness.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "entra-keys-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("signing-keys file", () => {
  it("when a tool signs with the file's current key, then the token verifies against the published JWKS; after a restart the same keys are published", async () => {
    const file = join(dir, "signing-keys.json");
    const first = await startEmulator({ signingKeysFile: file });
    const tenant = first.sim.directory.tenants[0]!;
    const doc = JSON.parse(await readFile(file, "utf8"));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const current = doc.keys.find((k: any) => k.tid === tenant.id && k.current);
    expect(current.kid).toBe(first.sim.keys.current(tenant.id).kid);
    const token = await new SignJWT({ tid: tenant.id })
      .setProtectedHeader({ alg: "RS256", kid: current.kid, typ: "JWT" })
      .sign(await importJWK(current, "RS256"));
    const jwks = (await first.call("GET", `/${tenant.id}/discovery/keys`)).body;
    await expect(jwtVerify(token, createLocalJWKSet(jwks))).resolves.toBeTruthy();
    const kidsBefore = jwks.keys.map((k: any) => k.kid);

    const rotated = await first.call("POST", "/_sim/keys/rotate", { json: { tenantId: tenant.id } });
    const afterRotate = JSON.parse(await readFile(file, "utf8"));
    expect(afterRotate.keys.find((k: any) => k.tid === tenant.id && k.current).kid).toBe(rotated.body.kid);
    await first.close();

    const second = await startEmulator({ signingKeysFile: file });
    try {
      const kidsAfter = (await second.call("GET", `/${tenant.id}/discovery/keys`)).body.keys.map((k: any) => k.kid);
      expect(kidsAfter).toEqual(expect.arrayContaining([...kidsBefore, rotated.body.kid]));
      expect(second.sim.keys.current(tenant.id).kid).toBe(rotated.body.kid);
    } finally {
      await second.close();
    }
  });
});
