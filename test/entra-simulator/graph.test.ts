/** Microsoft Graph as user discovery and the Azure Services Wizard use it: paging, delta, app registrations. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOOL_CLIENT_ID } from "../../entra-simulator/grants.js";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { adminGraphAuth, appGraphAuth, type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let tenant: DirectoryTenant;
let graphToken: string;

async function appToken(t: DirectoryTenant): Promise<string> {
  return (await appGraphAuth(h, t)).authorization.slice("Bearer ".length);
}

/** Follows @odata.nextLink until the last page; returns all items and the last page. */
async function follow(first: string, token: string): Promise<{ items: any[]; last: any; pages: number }> {
  const items: any[] = [];
  let url: string | undefined = first;
  let last: any;
  let pages = 0;
  while (url) {
    const res = await h.call("GET", url.replace(h.sim.url, ""), { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    pages += 1;
    items.push(...res.body.value);
    last = res.body;
    url = res.body["@odata.nextLink"];
  }
  return { items, last, pages };
}

beforeAll(async () => {
  h = await startEmulator();
  tenant = h.sim.directory.tenants[0]!;
  graphToken = await appToken(tenant);
});
afterAll(() => h.close());

describe("Graph users", () => {
  it("when users are listed with $top and $select, then @odata.nextLink pages through every user with only the selected attributes", async () => {
    const { items, last, pages } = await follow(
      `/v1.0/users?$select=id,userPrincipalName,onPremisesSecurityIdentifier&$top=10`,
      graphToken,
    );
    expect(items).toHaveLength(tenant.users.length);
    expect(pages).toBe(Math.ceil(tenant.users.length / 10));
    expect(new Set(items.map((u) => u.id)).size).toBe(tenant.users.length);
    expect(Object.keys(items[0]).sort()).toEqual(["id", "onPremisesSecurityIdentifier", "userPrincipalName"]);
    expect(
      items.some(
        (u) =>
          typeof u.onPremisesSecurityIdentifier === "string" && u.onPremisesSecurityIdentifier.startsWith("S-1-5-21-"),
      ),
    ).toBe(true);
    expect(last).not.toHaveProperty("@odata.deltaLink");
  });

  it("when users change after a delta round, then the next delta returns the added user and the removed ones with @removed", async () => {
    const first = await follow(`/v1.0/users/delta?$select=id,displayName,userPrincipalName&$top=20`, graphToken);
    expect(first.items).toHaveLength(tenant.users.length);
    const deltaLink: string = first.last["@odata.deltaLink"];
    expect(deltaLink).toContain("/v1.0/users/delta?$deltatoken=");

    const added = await h.call("POST", "/_sim/users", {
      json: { tenantId: tenant.id, upn: `new.hire@${tenant.name}` },
    });
    expect(added.status).toBe(201);
    const soft = tenant.users[5]!;
    const hard = tenant.users[6]!;
    await h.call("POST", "/_sim/users/remove", { json: { tenantId: tenant.id, upn: soft.userPrincipalName } });
    await h.call("POST", "/_sim/users/remove", {
      json: { tenantId: tenant.id, upn: hard.userPrincipalName, permanent: true },
    });

    const second = await follow(deltaLink, graphToken);
    expect(second.items).toEqual([
      { id: added.body.id, displayName: expect.any(String), userPrincipalName: `new.hire@${tenant.name}` },
      { id: soft.id, "@removed": { reason: "changed" } },
      { id: hard.id, "@removed": { reason: "deleted" } },
    ]);
    // Nothing changed since: the next round is empty and hands out a fresh delta link.
    const third = await follow(second.last["@odata.deltaLink"], graphToken);
    expect(third.items).toEqual([]);
    expect(third.last["@odata.deltaLink"]).toBeTruthy();
  });

  it("when Graph is called without a token, with another resource's token or without the permission, then it answers 401/403 in Graph's error shape", async () => {
    const none = await h.call("GET", "/v1.0/users");
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("InvalidAuthenticationToken");
    const minted = h.sim.mint({ tenantId: tenant.id }); // a CM user token: audience is the server app
    const wrongAud = await h.call("GET", "/v1.0/users", { headers: { authorization: `Bearer ${minted}` } });
    expect(wrongAud.status).toBe(401);
    const graphNoRole = h.sim.mint({
      tenantId: tenant.id,
      kind: "app",
      claims: { aud: "https://graph.microsoft.com", roles: ["Mail.Read"] },
    });
    const forbidden = await h.call("GET", "/v1.0/users", { headers: { authorization: `Bearer ${graphNoRole}` } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe("Authorization_RequestDenied");
    const forged = `${graphToken.slice(0, graphToken.lastIndexOf(".") + 1)}${"A".repeat(342)}`;
    expect((await h.call("GET", "/v1.0/users", { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    const badSelect = await h.call("GET", "/v1.0/users?$select=password", {
      headers: { authorization: `Bearer ${graphToken}` },
    });
    expect(badSelect.status).toBe(400);
  });
});

describe("Graph app registrations", () => {
  it("when an admin creates a server app and adds a password, then the app exists and its secret gets client-credentials tokens", async () => {
    const auth = await adminGraphAuth(h, tenant);
    const uri = `api://${tenant.id}/CreatedService`;
    const created = await h.call("POST", "/v1.0/applications", {
      headers: auth,
      json: {
        displayName: "CreatedService",
        identifierUris: [uri],
        api: { oauth2PermissionScopes: [{ value: "user_impersonation" }] },
        requiredResourceAccess: [
          {
            resourceAppId: "00000003-0000-0000-c000-000000000000",
            resourceAccess: [{ id: "Directory.Read.All", type: "Role" }],
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ displayName: "CreatedService", identifierUris: [uri] });
    const dup = await h.call("POST", "/v1.0/applications", {
      headers: auth,
      json: { displayName: "Dup", identifierUris: [uri] },
    });
    expect(dup.status).toBe(400);
    const pwd = await h.call("POST", `/v1.0/applications/${created.body.id}/addPassword`, {
      headers: auth,
      json: { passwordCredential: { displayName: "ConfigMgr" } },
    });
    expect(pwd.status).toBe(200);
    expect(pwd.body.secretText).toMatch(/^.{3}8Q~/);
    const listed = await h.call("GET", `/v1.0/applications?$filter=appId eq '${created.body.appId}'`, {
      headers: auth,
    });
    expect(listed.body.value).toHaveLength(1);
    expect(listed.body.value[0].passwordCredentials[0].secretText).toBeNull();

    const token = await h.call("POST", `/${tenant.id}/oauth2/token`, {
      form: {
        grant_type: "client_credentials",
        client_id: created.body.appId,
        client_secret: pwd.body.secretText,
        resource: uri,
      },
    });
    expect(token.status).toBe(200);
    const claims = JSON.parse(Buffer.from(token.body.access_token.split(".")[1], "base64url").toString());
    expect(claims).toMatchObject({ aud: uri, appid: created.body.appId, idtyp: "app" });

    const removed = await h.call("POST", `/v1.0/applications/${created.body.id}/removePassword`, {
      headers: auth,
      json: { keyId: pwd.body.keyId },
    });
    expect(removed.status).toBe(204);
    const after = await h.call("POST", `/${tenant.id}/oauth2/token`, {
      form: {
        grant_type: "client_credentials",
        client_id: created.body.appId,
        client_secret: pwd.body.secretText,
        resource: uri,
      },
    });
    expect(after.status).toBe(401);
    expect(after.body.error_codes).toEqual([7000215]);
  });

  it("when a non-admin user or an app without Application.ReadWrite.All creates an app, then Graph refuses with 403", async () => {
    const user = tenant.users.find((u) => !u.isAdmin)!;
    const signIn = await h.call("POST", `/${tenant.id}/oauth2/v2.0/token`, {
      form: {
        grant_type: "password",
        client_id: ADMIN_TOOL_CLIENT_ID,
        scope: "https://graph.microsoft.com/.default",
        username: user.userPrincipalName,
        password: user.password,
      },
    });
    const res = await h.call("POST", "/v1.0/applications", {
      headers: { authorization: `Bearer ${signIn.body.access_token}` },
      json: { displayName: "x" },
    });
    expect(res.status).toBe(403);
    const app = await h.call("POST", "/v1.0/applications", {
      headers: { authorization: `Bearer ${graphToken}` },
      json: { displayName: "x" },
    });
    expect(app.status).toBe(403);
  });
});
