/** `services add --interactive`: the wizard's pages as prompts, driven through stdin. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type CliWorld, createCliWorld, runCli, seededServerSecret } from "./helpers.js";

let w: CliWorld;
beforeAll(async () => {
  w = await createCliWorld();
});
afterAll(async () => {
  await w.close();
});

describe("services add --interactive", () => {
  it("when the admin answers the import pages (typing the secret), then the apps are verified and the service is written with the secret in a file", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const secret = seededServerSecret(t);
    const run = await runCli(w, ["add", "--interactive"], {
      input: [
        "Contoso", // Name
        "CMG and user discovery", // Description
        "1", // Azure service: cloud management
        "", // Azure environment [AzurePublicCloud]
        "not-a-guid", // tenant ID, refused…
        t.id, // …and asked again
        "import", // Web app
        t.name, // tenant name
        "", // Application name [ConfigMgrService]
        t.serverAppId, // Client ID
        "value", // Secret key: I will type it
        secret, // Secret key (not shown)
        "2030-06-30", // expiry
        "", // App ID URI [api://{tenantId}/ConfigMgrService]
        "", // Native app [import]
        "", // Application name [ConfigMgrClient]
        t.clientAppId, // Client ID
        "", // Store the secret key [file]
        "", // Verify [y]
        "y", // Add this service?
      ],
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("— Azure Services —");
    expect(run.stdout).toContain("Microsoft Entra tenant ID: ");
    expect(run.stdout).toContain("must be a GUID");
    expect(run.stdout).toContain(`App ID URI [api://${t.id}/ConfigMgrService]: `);
    expect(run.stdout).toContain("Secret key (not shown): ");
    expect(run.stdout).toContain("— Summary —");
    expect(run.stdout).toMatch(/Verified web app/);
    expect(run.stdout).not.toContain(secret);
    const file = parse(await w.readConfig()) as { azureServices: Record<string, any>[] };
    expect(file.azureServices[0]).toMatchObject({
      name: "Contoso",
      description: "CMG and user discovery",
      type: "cloudManagement",
      environment: "AzurePublicCloud",
      tenant: { id: t.id, name: t.name },
      webApp: {
        clientId: t.serverAppId,
        appIdUri: `api://${t.id}/ConfigMgrService`,
        secret: { fromFile: `secrets/${t.serverAppId}.secret` },
        secretExpiry: "2030-06-30",
        origin: "imported",
      },
      nativeApp: { name: "ConfigMgrClient", clientId: t.clientAppId },
    });
    expect((await readFile(join(w.dir, "secrets", `${t.serverAppId}.secret`), "utf8")).trim()).toBe(secret);
  });

  it("when the admin chooses create on the pages, then the device code is printed, the app is created and the 2-year secret stored", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const run = await runCli(w, ["add", "--interactive"], {
      approveAs: w.adminOf(t),
      input: [
        "Store", // Name
        "", // Description
        "storeForBusiness", // Azure service (by name)
        // environment is not asked: Store for Business is public cloud only
        t.id, // tenant ID
        "create", // Web app
        "StoreApp", // Application name
        "", // HomePage URL
        "", // App ID URI [api://{tenantId}/StoreApp]
        "2", // validity
        "", // Store the secret key [file]
        "", // Verify
        "", // Add this service? [y]
      ],
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      "Azure environment: AzurePublicCloud (the only one Microsoft Store for Business supports)",
    );
    // The wizard's menu offers Administration Service Management as a service of its own, never as a question.
    expect(run.stdout).toContain("Administration Service Management (CM 2207+)");
    expect(run.stdout).not.toContain("restrict this tenant's tokens");
    expect(run.userCodes).toHaveLength(1);
    const created = t.apps.find((a) => a.displayName === "StoreApp");
    expect(created?.identifierUris).toEqual([`api://${t.id}/StoreApp`]);
    const store = (parse(await w.readConfig()) as { azureServices: Record<string, any>[] }).azureServices.find(
      (s) => s.name === "Store",
    );
    expect(store).toMatchObject({ type: "storeForBusiness", tenant: { name: t.name }, webApp: { origin: "created" } });
    expect(store?.nativeApp).toBeUndefined();
    const days = (Date.parse(store?.webApp.secretExpiry) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(725);
    expect(days).toBeLessThan(735);
  });

  it("when input ends before the pages are answered, then nothing is written", async () => {
    const before = await w.readConfig();
    const run = await runCli(w, ["add", "--interactive"], { input: ["Half done", ""] });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("input ended before every question was answered; nothing was changed");
    expect(await w.readConfig()).toBe(before);
  });
});
