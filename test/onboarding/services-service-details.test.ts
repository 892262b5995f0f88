/**
 * The wizard's *Service details* rules in `services add`: tenants per service type, clouds, app kinds and
 * actions, refused before anything is created in Entra ID; Log Analytics import-only with its 2107 warning.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliWorld, createCliWorld, runCli, seededServerSecret, seededServiceYaml } from "./helpers.js";

let w: CliWorld;
beforeAll(async () => {
  w = await createCliWorld();
  const contoso = w.tenant("contoso.onmicrosoft.com");
  const server = contoso.apps.find((a) => a.appId === contoso.serverAppId)!;
  await w.writeServices(`azureServices:
${seededServiceYaml("Contoso", contoso)}  - name: Store
    type: storeForBusiness
    tenant: { id: ${contoso.id}, name: ${contoso.name} }
    webApp:
      name: ConfigMgrService
      clientId: ${contoso.serverAppId}
      appIdUri: ${server.identifierUris[0]}
      secret: { value: ${seededServerSecret(contoso)} }
`);
});
afterAll(async () => {
  await w.close();
});

function createArgs(name: string, type: string, tenantId: string, extra: string[] = []): string[] {
  return ["add", "--name", name, "--type", type, "--tenant-id", tenantId, "--web-app", "create", ...extra];
}

describe("Service details rules in services add", () => {
  it("when a second tenant is added to Store for Business, then it is refused with a clear message before any sign-in or app creation", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const apps = t.apps.length;
    const before = await w.readConfig();
    const run = await runCli(w, createArgs("Store 2", "storeForBusiness", t.id), { approveAs: w.adminOf(t) });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `Microsoft Store for Business allows one tenant, and service "Store" (tenant ${w.tenant("contoso.onmicrosoft.com").id}) already connects it; remove that service first`,
    );
    expect(run.stderr).toContain("Nothing was created or written.");
    expect(run.userCodes).toEqual([]);
    expect(t.apps.length).toBe(apps);
    expect(await w.readConfig()).toBe(before);
  });

  it("when a cloud management tenant is added twice, then it is refused (each instance a distinct tenant)", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const run = await runCli(w, createArgs("Contoso again", "cloudManagement", t.id));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`tenant ${t.id} already has a cloudManagement service ("Contoso")`);
  });

  it("when Store for Business is asked for the US Government cloud, then it is refused (public cloud only)", async () => {
    const t = w.tenant("tailspin.onmicrosoft.us");
    const run = await runCli(
      w,
      createArgs("Gov store", "storeForBusiness", t.id, ["--environment", "AzureUSGovernmentCloud"]),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "Microsoft Store for Business supports AzurePublicCloud only, not AzureUSGovernmentCloud",
    );
  });

  it("when a Log Analytics web app is to be created or given a native app, then it is refused (import only, web app only)", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const run = await runCli(w, createArgs("LA", "logAnalytics", t.id, ["--native-app", "create"]));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Log Analytics Connector web apps can only be imported, not created");
    expect(run.stderr).toContain("Log Analytics Connector uses a web app only, no native app");
    expect(run.userCodes).toEqual([]);
  });

  it("when a Log Analytics web app is imported, then it is added with the warning that CM removed the connector in 2107", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const server = t.apps.find((a) => a.appId === t.serverAppId)!;
    await writeFile(join(w.dir, "la.secret"), seededServerSecret(t));
    const run = await runCli(w, [
      "add",
      "--name",
      "LA",
      "--type",
      "logAnalytics",
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
      "la.secret",
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("the Log Analytics Connector was removed from Configuration Manager in version 2107");
    expect(await w.readConfig()).toContain("type: logAnalytics");
  });

  it("when the App ID URI names another tenant, then the whole-config validation refuses it before anything is created", async () => {
    const t = w.tenant("northwind.onmicrosoft.com");
    const other = w.tenant("contoso.onmicrosoft.com");
    const run = await runCli(
      w,
      createArgs("Northwind", "cloudManagement", t.id, ["--web-app-id-uri", `api://${other.id}/ConfigMgrService`]),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("the configuration would not validate");
    expect(run.stderr).toContain(`api:// App ID URI names tenant ${other.id}, not this service's tenant ${t.id}`);
    expect(run.userCodes).toEqual([]);
  });
});

describe("Administration Service Management in services add (its own service type)", () => {
  it("when it is added for a tenant without a cloud management service, then it is refused before anything is created", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const apps = t.apps.length;
    const run = await runCli(
      w,
      createArgs("Fabrikam AdminService", "adminServiceManagement", t.id, ["--native-app", "create"]),
      { approveAs: w.adminOf(t) },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`tenant ${t.id} has no cloud management service`);
    expect(t.apps.length).toBe(apps);
  });

  it("when the old --admin-service-management flag is given, then it is refused with the advice to add the service type", async () => {
    const t = w.tenant("tailspin.onmicrosoft.us");
    const run = await runCli(w, [
      ...createArgs("Tailspin", "cloudManagement", t.id, ["--native-app", "create"]),
      "--admin-service-management",
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--type adminServiceManagement");
  });

  it("when it is created for a cloud management tenant, then its own web and native apps are created and the service is written", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const apps = t.apps.length;
    const run = await runCli(
      w,
      createArgs("Contoso AdminService", "adminServiceManagement", t.id, [
        "--web-app-name",
        "ConfigMgrAdminService",
        "--native-app",
        "create",
        "--native-app-name",
        "ConfigMgrAdminServiceClient",
      ]),
      { approveAs: w.adminOf(t) },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(t.apps.length).toBe(apps + 2);
    // The seed's note: only CMG VMSS deployments can enable it.
    expect(run.stderr).toMatch(/warning: .*applies only to CMG virtual machine scale set \(VMSS\) deployments/);
    const text = await w.readConfig();
    expect(text).toContain("type: adminServiceManagement");
    expect(text).toContain(`appIdUri: api://${t.id}/ConfigMgrAdminService`);
  });
});
