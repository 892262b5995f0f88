/** `services renew-secret`: created apps through Graph (old secret removed), imported apps from the admin. */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type CliWorld, clientCredentials, createCliWorld, runCli, seededServerSecret } from "./helpers.js";

let w: CliWorld;
beforeAll(async () => {
  w = await createCliWorld();
});
afterAll(async () => {
  await w.close();
});

interface FileService {
  name: string;
  webApp: { clientId: string; secret: { fromFile?: string }; secretExpiry: string };
}
async function services(): Promise<FileService[]> {
  return (parse(await w.readConfig()) as { azureServices: FileService[] }).azureServices;
}
async function secretOf(s: FileService): Promise<string> {
  return (await readFile(join(w.dir, s.webApp.secret.fromFile!), "utf8")).trim();
}

describe("services renew-secret", () => {
  it("when a created app's secret is renewed, then the old secret stops working in Entra, the new one works, and every service sharing the app gets it", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const admin = w.adminOf(t);
    const created = await runCli(
      w,
      ["add", "--name", "Store", "--type", "storeForBusiness", "--tenant-id", t.id, "--web-app-name", "StoreService"],
      { approveAs: admin },
    );
    expect(created.code).toBe(0);
    const shared = await runCli(w, [
      "add",
      "--name",
      "Fabrikam CM",
      "--type",
      "cloudManagement",
      "--tenant-id",
      t.id,
      "--reuse-web-from",
      "Store",
      "--native-client-id",
      t.clientAppId,
    ]);
    expect(shared.stderr).toBe("");
    expect(shared.code).toBe(0);
    const [store, cm] = await services();
    expect(cm!.webApp.clientId).toBe(store!.webApp.clientId);
    const oldSecret = await secretOf(store!);
    const oldExpiry = store!.webApp.secretExpiry;

    const renewed = await runCli(w, ["renew-secret", "Store", "--secret-years", "1"], {
      approveAs: admin,
      now: () => Date.now() + 86_400_000,
    });
    expect(renewed.stderr).toBe("");
    expect(renewed.code).toBe(0);
    expect(renewed.userCodes).toHaveLength(1);
    expect(renewed.stdout).toMatch(/Removed the old secret .* no longer works/);
    const [store2, cm2] = await services();
    const newSecret = await secretOf(store2!);
    expect(newSecret).not.toBe(oldSecret);
    expect(renewed.stdout + renewed.stderr).not.toContain(newSecret);
    expect(store2!.webApp.secretExpiry).not.toBe(oldExpiry);
    expect(cm2!.webApp.secretExpiry).toBe(store2!.webApp.secretExpiry);
    expect(cm2!.webApp.secret).toEqual(store2!.webApp.secret);

    const oldTry = await clientCredentials(w, t.id, store!.webApp.clientId, oldSecret);
    expect(oldTry.ok ? "worked" : oldTry.message).toMatch(/AADSTS7000215/);
    const newTry = await clientCredentials(w, t.id, store!.webApp.clientId, newSecret);
    expect(newTry.ok).toBe(true);
    const app = t.apps.find((a) => a.appId === store!.webApp.clientId)!;
    expect(app.passwordCredentials).toHaveLength(1);
  });

  it("when an imported app's secret is renewed with a wrong new secret, then the AADSTS error is shown and nothing is written", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const server = t.apps.find((a) => a.appId === t.serverAppId)!;
    await writeFile(join(w.dir, "contoso.secret"), `${seededServerSecret(t)}\n`);
    const added = await runCli(w, [
      "add",
      "--name",
      "Contoso",
      "--type",
      "cloudManagement",
      "--tenant-id",
      t.id,
      "--tenant-name",
      t.name,
      "--web-app-name",
      "ConfigMgrService",
      "--web-client-id",
      t.serverAppId,
      "--web-app-id-uri",
      server.identifierUris[0]!,
      "--web-secret-file",
      "contoso.secret",
      "--web-secret-expiry",
      "2026-01-01",
      "--native-client-id",
      t.clientAppId,
    ]);
    expect(added.code).toBe(0);
    const before = await w.readConfig();
    const wrong = await runCli(w, [
      "renew-secret",
      "Contoso",
      "--secret-value",
      "not-the-secret",
      "--secret-expiry",
      "2031-01-01",
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/AADSTS7000215/);
    expect(await w.readConfig()).toBe(before);
  });

  it("when an imported app's secret is renewed with the portal's new secret, then it is verified and written to the secret file with the new expiry", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const server = t.apps.find((a) => a.appId === t.serverAppId)!;
    // The admin renewed the key in the Entra admin center.
    const portal = w.h.sim.directory.addPassword(server, "portal", "2031-01-01T00:00:00.000Z", new Date());
    const run = await runCli(w, [
      "renew-secret",
      "Contoso",
      "--secret-value",
      portal.secretText,
      "--secret-expiry",
      "2031-01-01",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Verified the new secret.");
    expect((await readFile(join(w.dir, "contoso.secret"), "utf8")).trim()).toBe(portal.secretText);
    const contoso = (await services()).find((s) => s.name === "Contoso")!;
    expect(contoso.webApp.secretExpiry).toBe("2031-01-01");
    expect(contoso.webApp.secret).toEqual({ fromFile: "contoso.secret" });
  });
});
