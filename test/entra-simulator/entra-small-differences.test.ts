/**
 * Small answers where Entra and Graph differ from what one would guess: the v1 device-code member name,
 * the unknown-tenant discovery error, US Government's Azure AD Graph host, and `$top` on `users/delta`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { appGraphAuth, type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let contoso: DirectoryTenant;

beforeAll(async () => {
  h = await startEmulator();
  contoso = h.sim.directory.tenants[0]!;
});
afterAll(() => h.close());

describe("Entra's small differences", () => {
  it("when a device code is asked at the v1 endpoint, then the answer names verification_url; v2 names verification_uri", async () => {
    const server = h.sim.directory.findApp(contoso, contoso.serverAppId)!;
    const v1 = await h.call("POST", `/${contoso.id}/oauth2/devicecode`, {
      form: { client_id: contoso.clientAppId, resource: server.identifierUris[0]! },
    });
    expect(v1.status).toBe(200);
    expect(v1.body.verification_url).toBe("https://microsoft.com/devicelogin");
    expect(v1.body).not.toHaveProperty("verification_uri");
    const v2 = await h.call("POST", `/${contoso.id}/oauth2/v2.0/devicecode`, {
      form: { client_id: contoso.clientAppId, scope: `${server.identifierUris[0]}/.default` },
    });
    expect(v2.body.verification_uri).toBe("https://microsoft.com/devicelogin");
    expect(v2.body).not.toHaveProperty("verification_url");
  });

  it("when discovery or keys are asked for an unknown tenant, then 400 invalid_tenant AADSTS90002", async () => {
    const unknown = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    for (const path of [
      `/${unknown}/v2.0/.well-known/openid-configuration`,
      `/${unknown}/.well-known/openid-configuration`,
      `/nosuch.onmicrosoft.com/discovery/v2.0/keys`,
    ]) {
      const res = await h.call("GET", path);
      expect(res.status, path).toBe(400);
      expect(res.body, path).toMatchObject({ error: "invalid_tenant", error_codes: [90002] });
      expect(res.body.error_description).toMatch(/^AADSTS90002: Tenant '.+' not found\./);
    }
  });

  it("when the US Government discovery document is read, then cloud_graph_host_name is graph.microsoftazure.us", async () => {
    const gov = h.sim.directory.tenants.find((t) => t.cloud === "AzureUSGovernmentCloud")!;
    const doc = (await h.call("GET", `/${gov.id}/v2.0/.well-known/openid-configuration`)).body;
    expect(doc).toMatchObject({ cloud_graph_host_name: "graph.microsoftazure.us", msgraph_host: "graph.microsoft.us" });
    const pub = (await h.call("GET", `/${contoso.id}/v2.0/.well-known/openid-configuration`)).body;
    expect(pub.cloud_graph_host_name).toBe("graph.windows.net");
  });

  it("when users/delta is asked with $top, then the page size is Graph's default; Prefer odata.maxpagesize sets it", async () => {
    const auth = await appGraphAuth(h, contoso);
    expect(contoso.users.length).toBeGreaterThan(10);
    const withTop = await h.call("GET", "/v1.0/users/delta?$select=id&$top=10", { headers: auth });
    expect(withTop.body.value).toHaveLength(contoso.users.length);
    const prefer = await h.call("GET", "/v1.0/users/delta?$select=id", {
      headers: { ...auth, prefer: "odata.maxpagesize=10" },
    });
    expect(prefer.body.value).toHaveLength(10);
    expect(prefer.body["@odata.nextLink"]).toBeTruthy();
  });
});
