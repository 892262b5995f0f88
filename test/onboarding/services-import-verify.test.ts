/** `services add` importing existing app registrations, with the wizard's Verify against the emulator. */
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliWorld, createCliWorld, runCli, seededServerSecret } from "./helpers.js";

let w: CliWorld;
beforeAll(async () => {
  w = await createCliWorld();
});
afterAll(async () => {
  await w.close();
});

function importArgs(t: ReturnType<CliWorld["tenant"]>, extra: string[]): string[] {
  const server = t.apps.find((a) => a.appId === t.serverAppId)!;
  return [
    "add",
    "--name",
    "Contoso",
    "--type",
    "cloudManagement",
    "--tenant-id",
    t.id,
    "--tenant-name",
    t.name,
    "--web-app",
    "import",
    "--web-app-name",
    "ConfigMgrService",
    "--web-client-id",
    t.serverAppId,
    "--web-app-id-uri",
    server.identifierUris[0]!,
    "--web-secret-expiry",
    "2030-01-31",
    "--native-app",
    "import",
    "--native-client-id",
    t.clientAppId,
    ...extra,
  ];
}

describe("services add (import) with verify", () => {
  it("when a fromEnv secret of the configuration is not set in the CLI's environment, then a change refuses and says why", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const first = await runCli(w, importArgs(t, ["--web-secret-env", "CONTOSO_SECRET"]), {
      env: { CONTOSO_SECRET: seededServerSecret(t) },
    });
    expect(first.code).toBe(0);
    // Any change that writes the file validates the whole result (tenant disable/enable writes runtime state,
    // not the file, so it is not such a change): here, adding a second service.
    const fabrikam = w.tenant("fabrikam.onmicrosoft.com");
    const second = await runCli(
      w,
      importArgs(fabrikam, ["--web-secret-value", "not-checked", "--no-verify"]).map((a) =>
        a === "Contoso" ? "Fabrikam" : a,
      ),
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("environment variable CONTOSO_SECRET is not set");
    expect(second.stderr).toContain("set the environment variables the configuration references");
    const cleanup = await runCli(w, ["remove", "Contoso", "--yes"], { env: { CONTOSO_SECRET: "x" } });
    expect(cleanup.code).toBe(0);
  });

  it("when the secret is wrong, then the exact AADSTS error is shown and nothing is written", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const before = await w.readConfig();
    const run = await runCli(w, importArgs(t, ["--web-secret-env", "CONTOSO_SECRET"]), {
      env: { CONTOSO_SECRET: "wrong-secret-value" },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /Verification of the web app failed \(client credentials for Microsoft Graph\): AADSTS7000215: Invalid client secret provided\. Ensure the secret being sent/,
    );
    expect(run.stderr).not.toContain("Error(s):");
    expect(run.stderr).toContain("Nothing was written.");
    expect(await w.readConfig()).toBe(before);
  });

  it("when the secret is right (given as an env reference), then verify succeeds and the service is written with the reference", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const secret = seededServerSecret(t);
    const run = await runCli(w, importArgs(t, ["--web-secret-env", "CONTOSO_SECRET"]), {
      env: { CONTOSO_SECRET: secret },
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Verified web app: client .* got tokens for Microsoft Graph and api:\/\//);
    expect(run.stdout).toMatch(/Verified native app: public client/);
    const text = await w.readConfig();
    expect(text).toContain("fromEnv: CONTOSO_SECRET");
    expect(text).not.toContain(secret);
    expect(text).toContain("# the local Entra emulator"); // comments survive
    expect(text).toContain(`clientId: ${t.clientAppId}`);
    expect((await stat(w.configPath)).mode & 0o777).toBe(0o640); // mode kept
    // secrets never printed back
    expect(run.stdout + run.stderr).not.toContain(secret);

    const show = await runCli(w, ["show", "Contoso", "--json"], { env: { CONTOSO_SECRET: secret } });
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout).service).toMatchObject({
      name: "Contoso",
      type: "cloudManagement",
      tenant: { id: t.id, name: t.name },
      webApp: { clientId: t.serverAppId, origin: "imported", secret: "environment variable CONTOSO_SECRET" },
      nativeApp: { clientId: t.clientAppId },
    });
  });

  it("when the native client ID is not registered in the tenant, then verify shows AADSTS700016", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const server = t.apps.find((a) => a.appId === t.serverAppId)!;
    await writeFile(join(w.dir, "fabrikam.secret"), `${seededServerSecret(t)}\n`);
    const run = await runCli(
      w,
      [
        "add",
        "--name",
        "Fabrikam",
        "--type",
        "cloudManagement",
        "--tenant-id",
        t.id,
        "--tenant-name",
        t.name,
        "--web-client-id",
        t.serverAppId,
        "--web-app-name",
        "ConfigMgrService",
        "--web-app-id-uri",
        server.identifierUris[0]!,
        "--web-secret-file",
        "fabrikam.secret",
        "--native-client-id",
        "0d9b5c1e-1111-4222-8333-944455556666",
      ],
      { env: { CONTOSO_SECRET: seededServerSecret(w.tenant("contoso.onmicrosoft.com")) } },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/Verified web app/);
    expect(run.stderr).toMatch(/native app failed .*AADSTS700016/);
    expect(await w.readConfig()).not.toContain("Fabrikam");
  });
});
