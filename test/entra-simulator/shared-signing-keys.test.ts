/**
 * One signing key set per cloud, as Entra: every tenant of a cloud publishes the same keys under its own
 * `jwks_uri`, tokens of all of them are signed by the same current key, and rotation or revocation through
 * any tenant acts on the whole cloud. The clouds' sets are distinct.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let contoso: DirectoryTenant;
let fabrikam: DirectoryTenant;
let tailspin: DirectoryTenant;

const keysOf = async (t: DirectoryTenant, path = "discovery/keys") =>
  (await h.call("GET", `/${t.id}/${path}`)).body.keys as { kid: string; n: string; issuer?: string }[];
const kidOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string;

beforeAll(async () => {
  h = await startEmulator({ rotationGraceMs: 60_000 });
  const byName = (prefix: string) => h.sim.directory.tenants.find((t) => t.name.startsWith(prefix))!;
  contoso = byName("contoso");
  fabrikam = byName("fabrikam");
  tailspin = byName("tailspin");
});
afterAll(() => h.close());

describe("signing keys: one set per cloud", () => {
  it("when two tenants of one cloud publish their JWKS, then v1 and v2 documents hold the same keys; another cloud's set differs", async () => {
    for (const path of ["discovery/keys", "discovery/v2.0/keys"]) {
      const a = (await keysOf(contoso, path)).map((k) => [k.kid, k.n]);
      const b = (await keysOf(fabrikam, path)).map((k) => [k.kid, k.n]);
      expect(a.length).toBeGreaterThanOrEqual(2);
      expect(b).toEqual(a);
      const gov = (await keysOf(tailspin, path)).map((k) => k.kid);
      expect(gov.some((kid) => a.some(([k]) => k === kid))).toBe(false);
    }
    // v2 keys keep their issuer form: the template (Contoso) or the tenant's own issuer (Fabrikam).
    expect((await keysOf(contoso, "discovery/v2.0/keys"))[0]!.issuer).toBe(
      "https://login.microsoftonline.com/{tenantid}/v2.0",
    );
    expect((await keysOf(fabrikam, "discovery/v2.0/keys"))[0]!.issuer).toBe(
      `https://login.microsoftonline.com/${fabrikam.id}/v2.0`,
    );
  });

  it("when tokens of two tenants of one cloud are minted, then the same current key signs both", () => {
    const a = kidOf(h.sim.mint({ tenantId: contoso.id }));
    expect(kidOf(h.sim.mint({ tenantId: fabrikam.id }))).toBe(a);
    expect(kidOf(h.sim.mint({ tenantId: tailspin.id }))).not.toBe(a);
  });

  it("when keys are rotated through one tenant, then every tenant of the cloud signs with and publishes the new key; the other cloud is untouched", async () => {
    const govBefore = (await keysOf(tailspin)).map((k) => k.kid);
    const rotated = await h.call("POST", "/_sim/keys/rotate", { json: { tenantId: contoso.id } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.cloud).toBe("AzurePublicCloud");
    expect(kidOf(h.sim.mint({ tenantId: fabrikam.id }))).toBe(rotated.body.kid);
    expect((await keysOf(fabrikam)).map((k) => k.kid)).toContain(rotated.body.kid);
    expect((await keysOf(tailspin)).map((k) => k.kid)).toEqual(govBefore);
    expect((await h.call("GET", `/_sim/keys/${fabrikam.id}`)).body).toMatchObject({
      cloud: "AzurePublicCloud",
      current: rotated.body.kid,
    });
  });

  it("when a key is revoked by cloud name, then it leaves every tenant's JWKS of that cloud at once", async () => {
    const current = h.sim.keys.current(contoso.id).kid;
    const revoked = await h.call("POST", "/_sim/keys/revoke", { json: { cloud: "AzurePublicCloud", kid: current } });
    expect(revoked.status).toBe(200);
    for (const t of [contoso, fabrikam]) expect((await keysOf(t)).map((k) => k.kid)).not.toContain(current);
    expect(kidOf(h.sim.mint({ tenantId: fabrikam.id }))).toBe(revoked.body.current);
    const gone = await h.call("POST", "/_sim/keys/revoke", { json: { cloud: "AzurePublicCloud", kid: current } });
    expect(gone.status).toBe(404);
  });
});
