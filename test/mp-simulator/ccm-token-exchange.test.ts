import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guid, type MpHarness, startMp } from "./harness.js";

let h: MpHarness;
const tenantId = guid();
const clientAppId = guid();

beforeAll(async () => {
  h = await startMp();
});
afterAll(async () => {
  await h.close();
});

describe("POST /CCM_STS exchanges a gateway-validated identity for a CCM token", () => {
  it("when the identity is a device, then the CCM token is signed by the MP, lives 8 h and names tenant and device", async () => {
    const deviceId = guid();
    const res = await h.call("POST", "/CCM_STS", {
      identity: { tenantId, kind: "device", deviceId, objectId: guid() },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "CCM", kind: "device", tenant_id: tenantId, expires_in: 28_800 });
    const header = decodeProtectedHeader(res.body.token);
    expect(header).toMatchObject({ alg: "RS256", kid: h.mp.signing.thumbprint });
    const claims = decodeJwt(res.body.token);
    expect(claims).toMatchObject({ tid: tenantId, deviceid: deviceId, token_type: "device", sub: deviceId });
    expect(claims.oid).toBeUndefined();
    expect(claims.exp! - claims.iat!).toBe(8 * 3600);
    expect(res.body.expires_on).toBe(claims.exp);
  });

  it("when the identity is a user, then the token carries the user's object ID and the client app", async () => {
    const objectId = guid();
    const res = await h.call("POST", "/CCM_STS", { identity: { tenantId, kind: "user", objectId, clientAppId } });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.token)).toMatchObject({
      token_type: "user",
      oid: objectId,
      sub: objectId,
      appid: clientAppId,
    });
  });

  it("when the identity is user+device, then the token carries both", async () => {
    const objectId = guid();
    const deviceId = guid();
    const res = await h.call("POST", "/CCM_STS", {
      identity: { tenantId, kind: "user+device", objectId, deviceId, clientAppId },
    });
    expect(decodeJwt(res.body.token)).toMatchObject({ token_type: "user+device", oid: objectId, deviceid: deviceId });
  });

  it("when the identity is an app, then 403 token_kind_not_allowed", async () => {
    const res = await h.call("POST", "/CCM_STS", { identity: { tenantId, kind: "app", objectId: guid() } });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("token_kind_not_allowed");
  });

  it("when the body is not a JSON object, then 400 and no token", async () => {
    const identity = { tenantId, kind: "device" as const, deviceId: guid() };
    const broken = await h.call("POST", "/CCM_STS", {
      identity,
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toBe("body_malformed");
    const array = await h.call("POST", "/CCM_STS", { identity, json: [1, 2] });
    expect(array.status).toBe(400);
    expect(array.body.token).toBeUndefined();
  });
});
