/** The signing-keys file (docs/architecture.md § Interfaces `entra.signingKeys`): private JWKs independent tools can sign with. */

import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyStore } from "../../entra-simulator/keys.js";
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

  it("when the file is read, then each cloud key is listed once per tenant of its cloud with its cloud; a file of per-tenant keys is replaced at start", async () => {
    const file = join(dir, "signing-keys-clouds.json");
    const first = await startEmulator({ signingKeysFile: file });
    const tenants = first.sim.directory.tenants;
    await first.close();
    const doc = JSON.parse(await readFile(file, "utf8"));
    for (const t of tenants) {
      const mine = doc.keys.filter((k: any) => k.tid === t.id);
      expect(mine.every((k: any) => k.cloud === t.cloud)).toBe(true);
      expect(mine.filter((k: any) => k.current)).toHaveLength(1);
    }
    const publicKids = (tid: string) =>
      doc.keys
        .filter((k: any) => k.tid === tid)
        .map((k: any) => k.kid)
        .sort();
    const [a, b] = tenants.filter((t) => t.cloud === "AzurePublicCloud");
    expect(publicKids(a!.id)).toEqual(publicKids(b!.id));

    // Before one set per cloud the file had no `cloud` member: such keys cannot be shared faithfully.
    const legacy = { keys: doc.keys.map(({ cloud: _cloud, ...k }: any) => k) };
    await writeFile(file, JSON.stringify(legacy));
    const store = createKeyStore({ now: Date.now, rotationGraceMs: 1000, keysPerCloud: 1 });
    expect(await store.load(file)).toBe(false);
    const second = await startEmulator({ signingKeysFile: file });
    try {
      const kids = new Set(doc.keys.map((k: any) => k.kid));
      expect(kids.has(second.sim.keys.current(a!.id).kid)).toBe(false);
      const rewritten = JSON.parse(await readFile(file, "utf8"));
      expect(rewritten.keys.every((k: any) => typeof k.cloud === "string")).toBe(true);
    } finally {
      await second.close();
    }
  });
});
