/**
 * Every kind of token the emulator issues verifies with jose against the JWKS fetched over HTTPS, and its
 * claims match docs/architecture.md § Tokens.
 */

import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SEED, type DirectoryTenant } from "../../entra-simulator/seed.js";
import { type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let contoso: DirectoryTenant;
let v2Tenant: DirectoryTenant;

beforeAll(async () => {
  h = await startEmulator({
    seed: {
      tenants: [
        ...DEFAULT_SEED.tenants.slice(0, 1),
        {
          name: "v2.onmicrosoft.com",
          serverApp: { accessTokenVersion: 2 },
          users: { count: 3 },
          devices: { count: 2 },
        },
      ],
    },
  });
  [contoso, v2Tenant] = h.sim.directory.tenants as [DirectoryTenant, DirectoryTenant];
});
afterAll(() => h.close());

/** Verifies with jose against the tenant's JWKS fetched over HTTPS (v1 or v2 document). */
async function verifyWithJwks(token: string, tenant: DirectoryTenant, version: 1 | 2) {
  const path = version === 1 ? `/${tenant.id}/discovery/keys` : `/${tenant.id}/discovery/v2.0/keys`;
  const res = await h.call("GET", path);
  expect(res.status).toBe(200);
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(res.body), { algorithms: ["RS256"] });
  return { payload: payload as Record<string, unknown>, header: protectedHeader, jwks: res.body };
}

function serverOf(t: DirectoryTenant) {
  return h.sim.directory.findApp(t, t.serverAppId)!;
}

async function deviceRequest(
  t: DirectoryTenant,
  index = 0,
): Promise<{ jwt: string; deviceId: string; objectId: string }> {
  const device = t.devices[index]!;
  const key = await importJWK(device.privateKeyJwk, "ES256");
  const jwt = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: device.deviceId })
    .setIssuer(device.deviceId)
    .setSubject(device.deviceId)
    .setAudience(`https://login.microsoftonline.com/${t.id}`)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key);
  return { jwt, deviceId: device.deviceId, objectId: device.id };
}

function expectCommon(payload: Record<string, unknown>, t: DirectoryTenant) {
  expect(payload.tid).toBe(t.id);
  expect(payload.nbf).toBe(payload.iat);
  const lifetime = (payload.exp as number) - (payload.iat as number);
  expect(lifetime).toBeGreaterThanOrEqual(3600);
  expect(lifetime).toBeLessThanOrEqual(5400);
  expect(typeof payload.uti).toBe("string");
  expect(typeof payload.rh).toBe("string");
  expect(typeof payload.aio).toBe("string");
}

describe("token kinds", () => {
  it("when a user signs in on the v1 endpoint, then the v1 user token has Entra's v1 claims and header", async () => {
    const server = serverOf(contoso);
    const user = contoso.users.find((u) => u.onPremisesSecurityIdentifier)!;
    const res = await h.call("POST", `/${contoso.id}/oauth2/token`, {
      form: {
        grant_type: "password",
        client_id: contoso.clientAppId,
        resource: `${server.identifierUris[0]}/`,
        username: user.userPrincipalName,
        password: user.password,
      },
    });
    expect(res.status).toBe(200);
    expect(typeof res.body.expires_in).toBe("string");
    const { payload, header } = await verifyWithJwks(res.body.access_token, contoso, 1);
    expect(header).toMatchObject({ typ: "JWT", alg: "RS256" });
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(header.x5t).toBe(header.kid);
    expectCommon(payload, contoso);
    expect(payload).toMatchObject({
      ver: "1.0",
      iss: `https://sts.windows.net/${contoso.id}/`,
      aud: `${server.identifierUris[0]}/`, // exactly as requested, trailing slash kept
      appid: contoso.clientAppId,
      appidacr: "0",
      upn: user.userPrincipalName,
      unique_name: user.userPrincipalName,
      oid: user.id,
      onprem_sid: user.onPremisesSecurityIdentifier,
      scp: "user_impersonation",
      amr: ["pwd"],
    });
    expect(payload).not.toHaveProperty("azp");
    expect(payload).not.toHaveProperty("deviceid");
    expect(payload.sub).not.toBe(user.id); // pairwise
  });

  it("when the resource app accepts v2 tokens, then the user token is v2 with aud = client ID and azp", async () => {
    const server = serverOf(v2Tenant);
    const user = v2Tenant.users[0]!;
    const res = await h.call("POST", `/${v2Tenant.id}/oauth2/v2.0/token`, {
      form: {
        grant_type: "password",
        client_id: v2Tenant.clientAppId,
        scope: `${server.identifierUris[0]}/user_impersonation openid profile offline_access`,
        username: user.userPrincipalName,
        password: user.password,
        client_info: "1",
      },
    });
    expect(res.status).toBe(200);
    expect(typeof res.body.expires_in).toBe("number");
    expect(res.body.refresh_token).toBeTruthy();
    expect(res.body.id_token.split(".")).toHaveLength(3);
    const { payload, header, jwks } = await verifyWithJwks(res.body.access_token, v2Tenant, 2);
    expect(header).not.toHaveProperty("x5t");
    expectCommon(payload, v2Tenant);
    expect(payload).toMatchObject({
      ver: "2.0",
      iss: `https://login.microsoftonline.com/${v2Tenant.id}/v2.0`,
      aud: server.appId,
      azp: v2Tenant.clientAppId,
      azpacr: "0",
      preferred_username: user.userPrincipalName,
      oid: user.id,
      scp: "user_impersonation",
    });
    expect(payload).not.toHaveProperty("appid");
    expect(payload).not.toHaveProperty("upn");
    // v2 keys carry the issuer template; substituted with tid it equals the token's iss (docs/architecture.md § Signing keys).
    const key = jwks.keys.find((k: { kid: string }) => k.kid === header.kid);
    expect(key.issuer.replace("{tenantid}", payload.tid)).toBe(payload.iss);
  });

  it("when a registered device presents its signed request, then the device token has idtyp device, sub == deviceid and no user claims or appid", async () => {
    const server = serverOf(contoso);
    const { jwt, deviceId, objectId } = await deviceRequest(contoso, 4);
    const res = await h.call("POST", `/${contoso.id}/oauth2/token`, {
      form: {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        request: jwt,
        resource: server.identifierUris[0]!,
      },
    });
    expect(res.status).toBe(200);
    const { payload } = await verifyWithJwks(res.body.access_token, contoso, 1);
    expectCommon(payload, contoso);
    expect(payload).toMatchObject({
      idtyp: "device",
      deviceid: deviceId,
      sub: deviceId,
      oid: objectId,
      amr: ["rsa"],
      aud: server.identifierUris[0],
    });
    for (const absent of ["upn", "unique_name", "scp", "roles", "appid"]) expect(payload).not.toHaveProperty(absent);
  });

  it("when a device token is requested with the client app, then it carries appid", async () => {
    const { jwt } = await deviceRequest(contoso, 5);
    const res = await h.call("POST", `/${contoso.id}/oauth2/token`, {
      form: {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        request: jwt,
        client_id: contoso.clientAppId,
        resource: serverOf(contoso).identifierUris[0]!,
      },
    });
    const { payload } = await verifyWithJwks(res.body.access_token, contoso, 1);
    expect(payload).toMatchObject({ idtyp: "device", appid: contoso.clientAppId });
  });

  it("when a user signs in on a registered device, then the user+device token has the user's claims and deviceid", async () => {
    const user = contoso.users[2]!;
    const { jwt, deviceId } = await deviceRequest(contoso, 1);
    const res = await h.call("POST", `/${contoso.id}/oauth2/token`, {
      form: {
        grant_type: "password",
        client_id: contoso.clientAppId,
        resource: serverOf(contoso).identifierUris[0]!,
        username: user.userPrincipalName,
        password: user.password,
        device_request: jwt,
      },
    });
    expect(res.status).toBe(200);
    const { payload } = await verifyWithJwks(res.body.access_token, contoso, 1);
    expectCommon(payload, contoso);
    expect(payload).toMatchObject({
      upn: user.userPrincipalName,
      oid: user.id,
      deviceid: deviceId,
      scp: "user_impersonation",
      appid: contoso.clientAppId,
    });
    expect(payload).not.toHaveProperty("idtyp");
  });

  it("when a confidential client uses client credentials, then the app token has idtyp app, roles, oid = its service principal and no scp", async () => {
    const server = serverOf(contoso);
    const res = await h.call("POST", `/${contoso.id}/oauth2/v2.0/token`, {
      form: {
        grant_type: "client_credentials",
        client_id: server.appId,
        client_secret: server.passwordCredentials[0]!.secretText,
        scope: "https://graph.microsoft.com/.default",
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty("refresh_token");
    const { payload } = await verifyWithJwks(res.body.access_token, contoso, 1);
    expectCommon(payload, contoso);
    expect(payload).toMatchObject({
      idtyp: "app",
      appid: server.appId,
      appidacr: "1",
      roles: ["Directory.Read.All"],
      oid: server.servicePrincipalId,
      sub: server.servicePrincipalId,
      aud: "https://graph.microsoft.com",
    });
    expect(payload).not.toHaveProperty("scp");
    expect(payload).not.toHaveProperty("upn");
  });

  it("when a token is minted through /_sim/mint with claims and header overrides, then it is signed by the tenant's current key with them applied", async () => {
    const res = await h.call("POST", "/_sim/mint", {
      json: {
        tenantId: contoso.id,
        kind: "device",
        version: 2,
        claims: { appid: null, azp: contoso.clientAppId, custom: "x" },
      },
    });
    expect(res.status).toBe(200);
    const { payload, header } = await verifyWithJwks(res.body.token, contoso, 2);
    expect(header.kid).toBe(h.sim.keys.current(contoso.id).kid);
    expect(payload).toMatchObject({
      ver: "2.0",
      idtyp: "device",
      azp: contoso.clientAppId,
      custom: "x",
      aud: serverOf(contoso).appId,
    });
    const unknownKid = await h.call("POST", "/_sim/mint", {
      json: { tenantId: contoso.id, header: { kid: "unknown-kid", x5t: null } },
    });
    expect(decodeProtectedHeader(unknownKid.body.token)).toEqual({ typ: "JWT", alg: "RS256", kid: "unknown-kid" });
  });

  it("when discovery documents are fetched, then v1 and v2 carry the real cloud's issuers and Entra's Cache-Control", async () => {
    const gov = await startEmulator();
    try {
      const t = gov.sim.directory.tenants.find((x) => x.cloud === "AzureUSGovernmentCloud")!;
      const v2 = await gov.call("GET", `/${t.id}/v2.0/.well-known/openid-configuration`);
      expect(v2.headers["cache-control"]).toBe("max-age=86400, private");
      expect(v2.body).toMatchObject({
        issuer: `https://login.microsoftonline.us/${t.id}/v2.0`,
        jwks_uri: `${gov.sim.url}/${t.id}/discovery/v2.0/keys`,
        token_endpoint: `${gov.sim.url}/${t.id}/oauth2/v2.0/token`,
        device_authorization_endpoint: `${gov.sim.url}/${t.id}/oauth2/v2.0/devicecode`,
        msgraph_host: "graph.microsoft.us",
        cloud_instance_name: "microsoftonline.us",
        id_token_signing_alg_values_supported: ["RS256"],
      });
      const v1 = await gov.call("GET", `/${t.id}/.well-known/openid-configuration`);
      expect(v1.body.issuer).toBe(`https://sts.windows.net/${t.id}/`);
      const keys = await gov.call("GET", `/${t.id}/discovery/keys`);
      expect(keys.headers["cache-control"]).toBe("max-age=86400, private");
      expect(keys.body.keys.length).toBeGreaterThanOrEqual(2);
      for (const k of keys.body.keys) {
        expect(Object.keys(k).sort()).toEqual(["e", "kid", "kty", "n", "use", "x5c", "x5t"]);
        expect(k.kid).toBe(k.x5t);
        // x5t is the base64url SHA-1 thumbprint of the x5c certificate, whose key is the published n/e.
        const der = Buffer.from(k.x5c[0], "base64");
        expect(createHash("sha1").update(der).digest("base64url")).toBe(k.x5t);
        const certKey = new X509Certificate(der).publicKey.export({ format: "jwk" });
        expect(certKey).toMatchObject({ n: k.n, e: k.e });
      }
    } finally {
      await gov.close();
    }
  });
});
