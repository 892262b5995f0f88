/**
 * `services add` creating both app registrations through Graph with an administrator's device code sign-in;
 * the created apps then get tokens the gateway's auth pipeline accepts.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { PublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type CliRun,
  type CliWorld,
  clientCredentials,
  createCliWorld,
  createPipeline,
  decodeClaims,
  runCli,
} from "./helpers.js";

let w: CliWorld;
let run: CliRun;
let tenantId: string;
let service: {
  tenant: { id: string; name: string };
  webApp: { clientId: string; appIdUri: string; secret: { fromFile?: string }; secretExpiry: string; origin: string };
  nativeApp: { clientId: string; name: string };
};

beforeAll(async () => {
  w = await createCliWorld();
  const t = w.tenant("contoso.onmicrosoft.com");
  tenantId = t.id;
  run = await runCli(
    w,
    [
      "add",
      "--name",
      "Contoso created",
      "--type",
      "cloudManagement",
      "--tenant-id",
      t.id,
      "--web-app",
      "create",
      "--web-app-name",
      "GatewayService",
      "--secret-years",
      "2",
      "--native-app",
      "create",
      "--native-app-name",
      "GatewayClient",
    ],
    { approveAs: w.adminOf(t) },
  );
  service = (parse(await w.readConfig()) as { azureServices: (typeof service)[] }).azureServices[0]!;
});
afterAll(async () => {
  await w.close();
});

describe("services add (create)", () => {
  it("when both apps are created, then one administrator sign-in is asked for and the service is written", () => {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.userCodes).toHaveLength(1);
    expect(run.stdout).toMatch(/To sign in, use a web browser to open the page .* and enter the code [A-Z0-9]+/);
    expect(run.stdout).toContain("Signed in as admin@contoso.onmicrosoft.com to Contoso (contoso.onmicrosoft.com)");
    expect(service.tenant).toEqual({ id: tenantId, name: "contoso.onmicrosoft.com" });
    expect(service.webApp.origin).toBe("created");
    expect(service.webApp.appIdUri).toBe(`api://${tenantId}/GatewayService`);
  });

  it("when the web app is created, then it exists in the directory with its App ID URI, scope and Directory.Read.All", () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const web = t.apps.find((a) => a.appId === service.webApp.clientId);
    expect(web).toBeDefined();
    expect(web!.displayName).toBe("GatewayService");
    expect(web!.identifierUris).toEqual([`api://${tenantId}/GatewayService`]);
    expect(web!.exposedScopes).toEqual(["user_impersonation"]);
    expect(web!.graphPermissions).toEqual(["Directory.Read.All"]);
    expect(web!.passwordCredentials).toHaveLength(1);
    // 2 years, as asked
    const days = (Date.parse(service.webApp.secretExpiry) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(725);
    expect(days).toBeLessThan(735);
  });

  it("when the native app is created, then it is a public client with the broker redirect URI and permission on the web app", () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const native = t.apps.find((a) => a.appId === service.nativeApp.clientId);
    expect(native).toBeDefined();
    expect(native!.isPublicClient).toBe(true);
    expect(native!.redirectUris).toEqual([
      "https://ConfigMgrService",
      `ms-appx-web://Microsoft.AAD.BrokerPlugin/${service.nativeApp.clientId}`,
    ]);
    expect(native!.delegatedResources).toEqual([service.webApp.clientId]);
  });

  it("when the secret is stored, then it is a 0600 file referenced with fromFile, never printed, and it works", async () => {
    expect(service.webApp.secret).toEqual({ fromFile: `secrets/${service.webApp.clientId}.secret` });
    const file = join(w.dir, service.webApp.secret.fromFile!);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const secret = (await readFile(file, "utf8")).trim();
    expect(run.stdout + run.stderr).not.toContain(secret);
    expect(await w.readConfig()).not.toContain(secret);
    const token = await clientCredentials(w, tenantId, service.webApp.clientId, secret);
    expect(token.ok && token.claims).toMatchObject({ appid: service.webApp.clientId, roles: ["Directory.Read.All"] });
    expect(run.stdout).toMatch(/Verified web app/);
    expect(run.stdout).toMatch(/Verified native app/);
  });

  it("when a user signs in with the created native app, then the gateway's pipeline accepts the token; tokens of other apps are refused", async () => {
    const t = w.tenant("contoso.onmicrosoft.com");
    const user = t.users.find((u) => !u.isAdmin)!;
    const pca = new PublicClientApplication({
      auth: {
        clientId: service.nativeApp.clientId,
        authority: w.h.sim.authority(tenantId),
        knownAuthorities: [new URL(w.h.sim.url).host],
      },
      system: { networkClient: w.net },
    });
    const result = await pca.acquireTokenByUsernamePassword({
      scopes: [`${service.webApp.appIdUri}/user_impersonation`],
      username: user.userPrincipalName,
      password: user.password,
    });
    expect(decodeClaims(result!.accessToken)).toMatchObject({
      aud: service.webApp.appIdUri,
      appid: service.nativeApp.clientId,
    });
    const pipeline = await createPipeline(w.configPath);
    try {
      const accepted = await pipeline.auth.authenticate({
        url: "/CCM_STS",
        authorization: `Bearer ${result!.accessToken}`,
      });
      expect(accepted.ok && accepted.principal).toMatchObject({ kind: "user", tenantId, objectId: user.id });
      const device = w.h.sim.mint({ tenantId, kind: "device", claims: { aud: service.webApp.appIdUri } });
      const deviceResult = await pipeline.auth.authenticate({ url: "/CCM_STS", authorization: `Bearer ${device}` });
      expect(deviceResult.ok && deviceResult.principal?.kind).toBe("device");
      // The seeded ConfigMgrService app is not the one configured: its audience is refused.
      const other = w.h.sim.mint({ tenantId });
      const refused = await pipeline.auth.authenticate({ url: "/CCM_STS", authorization: `Bearer ${other}` });
      expect(refused.ok ? "ok" : refused.reason).toBe("audience_invalid");
    } finally {
      await pipeline.close();
    }
  });
});
