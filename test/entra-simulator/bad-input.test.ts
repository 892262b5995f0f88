/** Bad input gets Entra-shaped errors (AADSTS codes) and never a crash. */
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryTenant } from "../../entra-simulator/seed.js";
import { type EmulatorHarness, startEmulator } from "./harness.js";

let h: EmulatorHarness;
let t: DirectoryTenant;
let clock = Date.now();

beforeAll(async () => {
  h = await startEmulator({ now: () => clock, deviceCodeLifetimeSec: 60, bodyLimitBytes: 8192 });
  t = h.sim.directory.tenants[0]!;
});
afterAll(() => h.close());

const server = () => h.sim.directory.findApp(t, t.serverAppId)!;

async function token(form: Record<string, string>, tenant = t.id, version = "v2.0/") {
  return h.call("POST", `/${tenant}/oauth2/${version}token`, { form });
}

function expectAad(res: { status: number; body: any }, status: number, error: string, code: number) {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ error, error_codes: [code] });
  expect(res.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  for (const field of ["timestamp", "trace_id", "correlation_id"]) expect(typeof res.body[field]).toBe("string");
}

describe("token endpoint errors", () => {
  it("when the tenant is unknown, then AADSTS90002 (invalid_request at the token endpoint, invalid_tenant on discovery)", async () => {
    expectAad(
      await token({ grant_type: "client_credentials" }, "00000000-0000-0000-0000-000000000000"),
      400,
      "invalid_request",
      90002,
    );
    expectAad(await h.call("GET", "/nope.example/v2.0/.well-known/openid-configuration"), 400, "invalid_tenant", 90002);
  });

  it("when grant_type is missing or unknown, then AADSTS900144 / AADSTS70003", async () => {
    expectAad(await token({ client_id: t.clientAppId }), 400, "invalid_request", 900144);
    expectAad(await token({ grant_type: "authorization_code_please" }), 400, "unsupported_grant_type", 70003);
  });

  it("when the body is not a form, repeats a parameter or is garbage, then invalid_request", async () => {
    expectAad(
      await h.call("POST", `/${t.id}/oauth2/v2.0/token`, { json: { grant_type: "client_credentials" } }),
      400,
      "invalid_request",
      900144,
    );
    expectAad(
      await h.call("POST", `/${t.id}/oauth2/v2.0/token`, {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=password&grant_type=client_credentials",
      }),
      400,
      "invalid_request",
      900144,
    );
    expectAad(
      await h.call("POST", `/${t.id}/oauth2/v2.0/token`, {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "%%%\u0000&&==",
      }),
      400,
      "invalid_request",
      900144,
    );
    const bin = await h.call("POST", `/${t.id}/oauth2/v2.0/token`, {
      headers: { "content-type": "application/octet-stream" },
      body: "\u0001\u0002",
    });
    expect(bin.status).toBeGreaterThanOrEqual(400);
    expect(bin.status).toBeLessThan(500);
    expect(bin.body.error).toBe("invalid_request");
  });

  it("when the body exceeds the limit, then 413 with an Entra-shaped error", async () => {
    const res = await h.call("POST", `/${t.id}/oauth2/v2.0/token`, {
      form: { grant_type: "password", username: "x".repeat(20_000) },
    });
    expectAad(res, 413, "invalid_request", 90013);
  });

  it("when the client is unknown or its secret wrong, missing or expired, then the matching AADSTS code", async () => {
    const s = server();
    const scope = "https://graph.microsoft.com/.default";
    expectAad(
      await token({
        grant_type: "client_credentials",
        client_id: "11111111-1111-1111-1111-111111111111",
        client_secret: "x",
        scope,
      }),
      400,
      "unauthorized_client",
      700016,
    );
    expectAad(
      await token({ grant_type: "client_credentials", client_id: s.appId, client_secret: "wrong", scope }),
      401,
      "invalid_client",
      7000215,
    );
    expectAad(
      await token({ grant_type: "client_credentials", client_id: s.appId, scope }),
      401,
      "invalid_client",
      7000218,
    );
    expectAad(
      await token({ grant_type: "client_credentials", client_id: t.clientAppId, scope }),
      401,
      "invalid_client",
      7000218,
    );
    const basic = Buffer.from(`${s.appId}:wrong`).toString("base64");
    expectAad(
      await h.call("POST", `/${t.id}/oauth2/v2.0/token`, {
        headers: { authorization: `Basic ${basic}` },
        form: { grant_type: "client_credentials", scope },
      }),
      401,
      "invalid_client",
      7000215,
    );
    const saved = clock;
    clock = Date.parse(s.passwordCredentials[0]!.endDateTime) + 1000;
    try {
      expectAad(
        await token({
          grant_type: "client_credentials",
          client_id: s.appId,
          client_secret: s.passwordCredentials[0]!.secretText,
          scope,
        }),
        401,
        "invalid_client",
        7000222,
      );
    } finally {
      clock = saved;
    }
  });

  it("when the resource or scope is unknown, then AADSTS500011 / AADSTS70011", async () => {
    const user = t.users[1]!;
    const base = {
      grant_type: "password",
      client_id: t.clientAppId,
      username: user.userPrincipalName,
      password: user.password,
    };
    expectAad(await token({ ...base, scope: "api://unknown/App/.default" }), 400, "invalid_resource", 500011);
    expectAad(
      await token({ ...base, scope: `${server().identifierUris[0]}/write_everything` }),
      400,
      "invalid_scope",
      70011,
    );
  });

  it("when the user is unknown, the password wrong or the account disabled, then AADSTS50034 / 50126 / 50057", async () => {
    const user = t.users[2]!;
    const base = { grant_type: "password", client_id: t.clientAppId, scope: `${server().identifierUris[0]}/.default` };
    expectAad(await token({ ...base, username: `ghost@${t.name}`, password: "x" }), 400, "invalid_grant", 50034);
    expectAad(
      await token({ ...base, username: user.userPrincipalName, password: "wrong" }),
      400,
      "invalid_grant",
      50126,
    );
    await h.call("POST", "/_sim/users/disable", { json: { tenantId: t.id, upn: user.userPrincipalName } });
    expectAad(
      await token({ ...base, username: user.userPrincipalName, password: user.password }),
      400,
      "invalid_grant",
      50057,
    );
    await h.call("POST", "/_sim/users/enable", { json: { tenantId: t.id, upn: user.userPrincipalName } });
    expect((await token({ ...base, username: user.userPrincipalName, password: user.password })).status).toBe(200);
  });

  it("when a device is unknown, disabled, signs with another key or replays its request, then AADSTS700003 / 135011 / 50013 / 500133", async () => {
    const device = t.devices[7]!;
    const other = t.devices[8]!;
    const sign = async (kid: string, jwk: typeof device.privateKeyJwk, jti: string) =>
      new SignJWT({ jti })
        .setProtectedHeader({ alg: "ES256", kid })
        .setIssuer(kid)
        .setSubject(kid)
        .setAudience(`https://login.microsoftonline.com/${t.id}`)
        .setIssuedAt(Math.floor(clock / 1000))
        .setExpirationTime(Math.floor(clock / 1000) + 300)
        .sign(await importJWK(jwk, "ES256"));
    const form = (request: string) => ({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      request,
      resource: server().identifierUris[0]!,
    });
    expectAad(
      await token(form(await sign("22222222-2222-2222-2222-222222222222", device.privateKeyJwk, "a")), t.id, ""),
      400,
      "invalid_grant",
      700003,
    );
    expectAad(
      await token(form(await sign(device.deviceId, other.privateKeyJwk, "b")), t.id, ""),
      400,
      "invalid_grant",
      50013,
    );
    expectAad(await token(form("not-a-jwt"), t.id, ""), 400, "invalid_grant", 50013);
    const good = await sign(device.deviceId, device.privateKeyJwk, "c");
    expect((await token(form(good), t.id, "")).status).toBe(200);
    expectAad(await token(form(good), t.id, ""), 400, "invalid_grant", 500133);
    await h.call("POST", "/_sim/devices/disable", { json: { tenantId: t.id, deviceId: device.deviceId } });
    expectAad(
      await token(form(await sign(device.deviceId, device.privateKeyJwk, "d")), t.id, ""),
      400,
      "invalid_grant",
      135011,
    );
  });

  it("when a device code is polled before approval, after a denial or after expiry, then 70016 / 70000 / 70019", async () => {
    const start = async () =>
      (
        await h.call("POST", `/${t.id}/oauth2/v2.0/devicecode`, {
          form: { client_id: t.clientAppId, scope: `${server().identifierUris[0]}/.default` },
        })
      ).body;
    const poll = (code: string) =>
      token({
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        client_id: t.clientAppId,
        device_code: code,
      });
    const pending = await start();
    expect(pending).toMatchObject({
      verification_uri: "https://microsoft.com/devicelogin",
      expires_in: 60,
      interval: 5,
    });
    expectAad(await poll(pending.device_code), 400, "authorization_pending", 70016);
    const denied = await start();
    await h.call("POST", "/_sim/devicecode/deny", { json: { userCode: denied.user_code } });
    expectAad(await poll(denied.device_code), 400, "authorization_declined", 70000);
    clock += 61_000;
    expectAad(await poll(pending.device_code), 400, "expired_token", 70019);
    expectAad(await poll("made-up"), 400, "invalid_grant", 70000);
  });

  it("when a refresh token is unknown or used by another client, then AADSTS9002313", async () => {
    expectAad(
      await token({
        grant_type: "refresh_token",
        client_id: t.clientAppId,
        refresh_token: "1.Abogus",
        scope: "openid",
      }),
      400,
      "invalid_grant",
      9002313,
    );
  });
});

describe("robustness", () => {
  it("when the control API and Graph get garbage, then they answer 4xx and the emulator keeps serving", async () => {
    const garbage = await h.call("POST", "/_sim/mint", {
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(garbage.status).toBe(400);
    expect((await h.call("POST", "/_sim/mint", { json: { tenantId: "nope" } })).status).toBe(400);
    expect((await h.call("POST", "/_sim/mint", { json: { tenantId: t.id, kind: "robot" } })).status).toBe(400);
    expect((await h.call("GET", "/v1.0/users", { headers: { authorization: "Bearer a.b.c" } })).status).toBe(401);
    expect((await h.call("GET", "/v1.0/nothing")).status).toBe(404);
    expect((await h.call("GET", "/no/such/endpoint")).status).toBe(404);
    expect((await h.call("GET", `/${"x".repeat(5000)}/discovery/keys`)).status).toBeLessThan(500);
    expect((await h.call("GET", `/${t.id}/discovery/keys`)).status).toBe(200);
  });
});
