/**
 * Graph's rule for new identifier URIs: the app's ID, the tenant's ID or a verified domain must be in it,
 * else 400 `HostNameNotOnVerifiedDomain` in Graph's error shape. URIs an app already carries (imported
 * legacy apps with `https://ConfigMgrService`) keep working and are not re-checked on update.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { LEGACY_APP_ID_URI } from "../../entra-simulator/seed.js";
import { adminGraphAuth, type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let fabrikam: DirectoryTenant;
let auth: Record<string, string>;

beforeAll(async () => {
  h = await startEmulator();
  fabrikam = h.sim.directory.tenants.find((t) => t.name.startsWith("fabrikam"))!;
  auth = await adminGraphAuth(h, fabrikam);
});
afterAll(() => h.close());

const create = (identifierUris: string[]) =>
  h.call("POST", "/v1.0/applications", { headers: auth, json: { displayName: "Probe", identifierUris } });

describe("Graph identifier URIs on create", () => {
  it("when the URI is CM's old default https://ConfigMgrService, then 400 HostNameNotOnVerifiedDomain in Graph's error shape", async () => {
    const res = await create([LEGACY_APP_ID_URI]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: "HostNameNotOnVerifiedDomain",
        message: `Values of identifierUris property must use a verified domain of the organization or its subdomain: '${LEGACY_APP_ID_URI}'`,
        innerError: {
          date: expect.any(String),
          "request-id": expect.any(String),
          "client-request-id": expect.any(String),
        },
      },
    });
  });

  it("when the URI names the tenant, a verified domain or a subdomain of one, then the app is created", async () => {
    for (const uri of [
      `api://${fabrikam.id}/ConfigMgrService`,
      "https://fabrikam.com/GatewayService",
      "https://cm.fabrikam.com",
      "https://cm.fabrikam.com/ConfigMgrService",
      "https://fabrikam.onmicrosoft.com/OtherService",
      "api://fabrikam.com/ConfigMgrService2",
    ]) {
      const res = await create([uri]);
      expect(res.status, uri).toBe(201);
    }
  });

  it("when the URI is on another domain, http, an api:// name without tenant or app, or not a URI, then it is refused", async () => {
    for (const uri of [
      "https://contoso.com/ConfigMgrService",
      "https://notfabrikam.com/x",
      "http://fabrikam.com/ConfigMgrService",
      "api://ConfigMgrService",
      "api://contoso/ConfigMgrService",
      "urn:configmgr",
    ]) {
      const res = await create([uri]);
      expect(res.status, uri).toBe(400);
      expect(res.body.error.code, uri).toBe("HostNameNotOnVerifiedDomain");
    }
  });

  it("when an app adds api://{appId} after creation, then it is accepted; adding the legacy URI is refused", async () => {
    const created = await create([]);
    expect(created.status).toBe(201);
    const path = `/v1.0/applications/${created.body.id}`;
    const ok = await h.call("PATCH", path, {
      headers: auth,
      json: { identifierUris: [`api://${created.body.appId}`] },
    });
    expect(ok.status).toBe(204);
    const legacy = await h.call("PATCH", path, {
      headers: auth,
      json: { identifierUris: [`api://${created.body.appId}`, LEGACY_APP_ID_URI] },
    });
    expect(legacy.status).toBe(400);
    expect(legacy.body.error.code).toBe("HostNameNotOnVerifiedDomain");
  });

  it("when an imported legacy app is updated with its URI unchanged, then Graph accepts it and tokens still name that audience", async () => {
    const tailspin = h.sim.directory.tenants.find((t) => t.name.startsWith("tailspin"))!;
    const server = h.sim.directory.findApp(tailspin, tailspin.serverAppId)!;
    expect(server.identifierUris).toEqual([LEGACY_APP_ID_URI]);
    const token = await h.call("POST", `/${tailspin.id}/oauth2/token`, {
      form: {
        grant_type: "client_credentials",
        client_id: server.appId,
        client_secret: server.passwordCredentials[0]!.secretText,
        resource: LEGACY_APP_ID_URI,
      },
    });
    expect(token.status).toBe(200);
    const claims = JSON.parse(Buffer.from(token.body.access_token.split(".")[1], "base64url").toString());
    expect(claims.aud).toBe(LEGACY_APP_ID_URI);
  });
});
