/** `services remove`: the connection leaves the configuration; the app registrations stay in Entra ID. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type CliWorld, createCliWorld, runCli, seededServiceYaml } from "./helpers.js";

let w: CliWorld;
beforeAll(async () => {
  w = await createCliWorld();
  await w.writeServices(
    `azureServices:\n${seededServiceYaml("Contoso", w.tenant("contoso.onmicrosoft.com"))}${seededServiceYaml("Fabrikam", w.tenant("fabrikam.onmicrosoft.com"))}`,
  );
});
afterAll(async () => {
  await w.close();
});

describe("services remove", () => {
  it("when a service is removed, then it leaves the file, the other stays, and the app registrations are left alone (and it says so)", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const appsBefore = t.apps.map((a) => a.appId);
    const run = await runCli(w, ["remove", "Contoso", "--yes"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Removed the connection "Contoso"');
    expect(run.stdout).toContain("The app registrations in Microsoft Entra ID");
    expect(run.stdout).toContain(`web app ConfigMgrService (${t.serverAppId})`);
    expect(run.stdout).toContain(`native app ConfigMgrClient (${t.clientAppId})`);
    expect(run.stdout).toContain("are left alone");
    const file = parse(await w.readConfig()) as { azureServices: { name: string }[] };
    expect(file.azureServices.map((s) => s.name)).toEqual(["Fabrikam"]);
    expect(await w.readConfig()).toContain("# the local Entra emulator");
    expect(t.apps.map((a) => a.appId)).toEqual(appsBefore);
  });

  it("when the service does not exist, then nothing changes and the exit code is 1", async () => {
    const before = await w.readConfig();
    const run = await runCli(w, ["remove", "Contoso", "--yes"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no service named "Contoso"');
    expect(await w.readConfig()).toBe(before);
  });
});
