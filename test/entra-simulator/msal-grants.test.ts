import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMsalNetworkClient } from "../../lib/msal-network.js";
import { type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let net: ReturnType<typeof createMsalNetworkClient>;

beforeAll(async () => {
  h = await startEmulator({ deviceCodeIntervalSec: 1 });
  net = createMsalNetworkClient(h.tls.ca.cert);
});
afterAll(async () => {
  await net.close();
  await h.close();
});

function decode(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

function msalAuth(tenantId: string, clientId: string) {
  return {
    clientId,
    authority: h.sim.authority(tenantId),
    knownAuthorities: [new URL(h.sim.url).host],
  };
}

describe("msal-node against the emulator", () => {
  it("when a confidential client asks for Graph with its secret, then it gets an app token with Directory.Read.All", async () => {
    const t = h.sim.directory.tenants[0]!;
    const server = h.sim.directory.findApp(t, t.serverAppId)!;
    const cca = new ConfidentialClientApplication({
      auth: { ...msalAuth(t.id, server.appId), clientSecret: server.passwordCredentials[0]!.secretText },
      system: { networkClient: net },
    });
    const result = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
    const claims = decode(result!.accessToken);
    expect(claims).toMatchObject({
      aud: "https://graph.microsoft.com",
      tid: t.id,
      idtyp: "app",
      appid: server.appId,
      roles: ["Directory.Read.All"],
    });
  });

  it("when a public client signs in with a password (ROPC), then it gets a v1 user token for the server app and refreshes silently", async () => {
    const t = h.sim.directory.tenants[0]!;
    const server = h.sim.directory.findApp(t, t.serverAppId)!;
    const user = t.users[1]!;
    const pca = new PublicClientApplication({ auth: msalAuth(t.id, t.clientAppId), system: { networkClient: net } });
    const scopes = [`${server.identifierUris[0]}/user_impersonation`];
    const result = await pca.acquireTokenByUsernamePassword({
      scopes,
      username: user.userPrincipalName,
      password: user.password,
    });
    const claims = decode(result!.accessToken);
    expect(claims).toMatchObject({
      aud: server.identifierUris[0],
      appid: t.clientAppId,
      upn: user.userPrincipalName,
      oid: user.id,
      ver: "1.0",
      scp: "user_impersonation",
    });
    expect(result!.account?.homeAccountId).toBe(`${user.id}.${t.id}`);
    const silent = await pca.acquireTokenSilent({ account: result!.account!, scopes, forceRefresh: true });
    expect(silent.accessToken).not.toBe(result!.accessToken);
    expect(decode(silent.accessToken)).toMatchObject({ oid: user.id, aud: server.identifierUris[0] });
  });

  it("when a user approves a device code, then msal's polling returns the user's token", async () => {
    const t = h.sim.directory.tenants[2]!; // US Government tenant
    const server = h.sim.directory.findApp(t, t.serverAppId)!;
    const user = t.users[3]!;
    const pca = new PublicClientApplication({ auth: msalAuth(t.id, t.clientAppId), system: { networkClient: net } });
    const result = await pca.acquireTokenByDeviceCode({
      scopes: [`${server.identifierUris[0]}/.default`],
      deviceCodeCallback: (response) => {
        void h.call("POST", "/_sim/devicecode/approve", {
          json: { userCode: response.userCode, upn: user.userPrincipalName },
        });
      },
    });
    expect(decode(result!.accessToken)).toMatchObject({
      iss: `https://sts.windows.net/${t.id}/`,
      upn: user.userPrincipalName,
    });
  });
});
