/** `services update-app-settings`: the server app gets what device tokens and directory reads need, via Graph. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryApp } from "../../entra-simulator/seed.js";
import { type CliWorld, clientCredentials, createCliWorld, runCli } from "./helpers.js";

let w: CliWorld;
let bare: DirectoryApp;
let secret: string;

beforeAll(async () => {
  w = await createCliWorld();
  const t = w.tenant("contoso.onmicrosoft.com");
  // An app registered by hand in the portal, without the scope or the Graph permission.
  bare = w.h.sim.directory.createApplication(
    t,
    { displayName: "HandMade", identifierUris: [`api://${t.id}/HandMade`] },
    new Date(),
  );
  secret = w.h.sim.directory.addPassword(bare, "portal", "2030-01-01T00:00:00.000Z", new Date()).secretText;
  await writeFile(join(w.dir, "handmade.secret"), secret);
  const added = await runCli(w, [
    "add",
    "--name",
    "Store",
    "--type",
    "storeForBusiness",
    "--tenant-id",
    t.id,
    "--tenant-name",
    t.name,
    "--web-app-name",
    "HandMade",
    "--web-client-id",
    bare.appId,
    "--web-app-id-uri",
    `api://${t.id}/HandMade`,
    "--web-secret-file",
    "handmade.secret",
  ]);
  expect(added.code).toBe(0);
});
afterAll(async () => {
  await w.close();
});

async function usersStatus(token: string): Promise<number> {
  return (await w.h.call("GET", "/v1.0/users?$top=1", { headers: { authorization: `Bearer ${token}` } })).status;
}

describe("services update-app-settings", () => {
  it("when the server app lacks the settings, then Graph adds user_impersonation and Directory.Read.All and directory reads work", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const before = await clientCredentials(w, t.id, bare.appId, secret);
    expect(before.ok && "roles" in before.claims).toBe(false);
    expect(before.ok).toBe(true);
    if (before.ok) expect(await usersStatus(before.token)).toBe(403);
    const configBefore = await w.readConfig();

    const run = await runCli(w, ["update-app-settings", "Store"], { approveAs: w.adminOf(t) });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("delegated scope user_impersonation exposed");
    expect(run.stdout).toContain("Microsoft Graph application permission Directory.Read.All added");
    expect(run.stdout).not.toContain("App ID URI"); // it was already there
    expect(bare.exposedScopes).toEqual(["user_impersonation"]);
    expect(bare.graphPermissions).toEqual(["Directory.Read.All"]);
    expect(bare.identifierUris).toEqual([`api://${t.id}/HandMade`]);
    expect(await w.readConfig()).toBe(configBefore);

    const after = await clientCredentials(w, t.id, bare.appId, secret);
    expect(after.ok && after.claims.roles).toEqual(["Directory.Read.All"]);
    expect(after.ok && (await usersStatus(after.token))).toBe(200);
  });

  it("when the settings are already there, then nothing is patched", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const run = await runCli(w, ["update-app-settings", "Store"], { approveAs: w.adminOf(t) });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("already has the latest settings; nothing changed");
  });
});
