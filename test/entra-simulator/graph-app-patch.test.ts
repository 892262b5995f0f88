/**
 * Graph `PATCH /v1.0/applications/{id}` as the Azure Services Wizard's "Update application settings" and the
 * native app's broker redirect need it: permission IDs as real manifests carry them, scopes with IDs,
 * collections replaced as a whole, absent ones left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { adminGraphAuth, type EmulatorHarness, startEmulator } from "./harness.js";

const GRAPH = "00000003-0000-0000-c000-000000000000";
const DIRECTORY_READ_ALL = "7ab1d382-f21e-4acd-a863-ba3e13f7da61";

let h: EmulatorHarness;
let tenant: DirectoryTenant;
let auth: { authorization: string };

beforeAll(async () => {
  h = await startEmulator();
  tenant = h.sim.directory.tenants[0]!;
  auth = await adminGraphAuth(h, tenant);
});
afterAll(() => h.close());

describe("Graph PATCH /v1.0/applications/{id}", () => {
  it("when requiredResourceAccess names Directory.Read.All by its ID and api adds a scope, then the app's tokens carry the role and GET shows IDs", async () => {
    const created = await h.call("POST", "/v1.0/applications", {
      headers: auth,
      json: { displayName: "Bare", identifierUris: [`api://${tenant.id}/Bare`] },
    });
    expect(created.status).toBe(201);
    expect(created.body.api.oauth2PermissionScopes).toEqual([]);
    const patched = await h.call("PATCH", `/v1.0/applications/${created.body.id}`, {
      headers: auth,
      json: {
        api: { oauth2PermissionScopes: [{ id: "b7f2c1d0-0000-4000-8000-000000000001", value: "user_impersonation" }] },
        requiredResourceAccess: [{ resourceAppId: GRAPH, resourceAccess: [{ id: DIRECTORY_READ_ALL, type: "Role" }] }],
      },
    });
    expect(patched.status).toBe(204);
    const got = await h.call("GET", `/v1.0/applications/${created.body.id}`, { headers: auth });
    expect(got.body.identifierUris).toEqual([`api://${tenant.id}/Bare`]); // absent collections left alone
    expect(got.body.api.oauth2PermissionScopes).toMatchObject([{ value: "user_impersonation", type: "User" }]);
    expect(got.body.api.oauth2PermissionScopes[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.body.requiredResourceAccess).toEqual([
      { resourceAppId: GRAPH, resourceAccess: [{ id: DIRECTORY_READ_ALL, type: "Role" }] },
    ]);

    const pwd = await h.call("POST", `/v1.0/applications/${created.body.id}/addPassword`, {
      headers: auth,
      json: { passwordCredential: { displayName: "t" } },
    });
    const token = await h.call("POST", `/${tenant.id}/oauth2/v2.0/token`, {
      form: {
        grant_type: "client_credentials",
        client_id: created.body.appId,
        client_secret: pwd.body.secretText,
        scope: "https://graph.microsoft.com/.default",
      },
    });
    const claims = JSON.parse(Buffer.from(token.body.access_token.split(".")[1], "base64url").toString());
    expect(claims.roles).toEqual(["Directory.Read.All"]);
  });

  it("when publicClient.redirectUris is patched, then the redirect URIs are replaced and the app is a public client", async () => {
    const created = await h.call("POST", "/v1.0/applications", {
      headers: auth,
      json: { displayName: "Native", publicClient: { redirectUris: ["https://ConfigMgrService"] } },
    });
    const broker = `ms-appx-web://Microsoft.AAD.BrokerPlugin/${created.body.appId}`;
    const patched = await h.call("PATCH", `/v1.0/applications/${created.body.id}`, {
      headers: auth,
      json: { publicClient: { redirectUris: ["https://ConfigMgrService", broker] } },
    });
    expect(patched.status).toBe(204);
    const got = await h.call("GET", `/v1.0/applications/${created.body.id}`, { headers: auth });
    expect(got.body.publicClient.redirectUris).toEqual(["https://ConfigMgrService", broker]);
    expect(got.body.isFallbackPublicClient).toBe(true);
  });

  it("when requiredResourceAccess is not an array, then Graph answers 400", async () => {
    const created = await h.call("POST", "/v1.0/applications", { headers: auth, json: { displayName: "X" } });
    const bad = await h.call("PATCH", `/v1.0/applications/${created.body.id}`, {
      headers: auth,
      json: { requiredResourceAccess: "all" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("Request_BadRequest");
  });
});
