import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  baseConfigInput,
  cloudManagementService,
  createHarness,
  deviceClaimsV1,
  type Harness,
  issuerV1,
  jwksOf,
  makeConfig,
  newKid,
  newSigningKey,
  outcome,
  signToken,
  TENANT_A,
  TENANT_ADMIN_SERVICE,
  TENANT_DISABLED,
  TENANT_GOV,
  TENANT_UNREGISTERED,
  tamperSignature,
  userClaimsV1,
  userClaimsV2,
} from "./fixtures.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});

const keyA = () => h.keyOf.get(TENANT_A.id)!;

describe("authenticate: accepted tokens", () => {
  it("when a v1 user token from a registered tenant is presented on /CCM_STS, then the user principal is returned", async () => {
    const claims = userClaimsV1(TENANT_A, h.clock.nowSec());
    const result = await h.check(signToken(keyA(), claims));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal).toMatchObject({
      kind: "user",
      tenantId: TENANT_A.id,
      objectId: claims.oid,
      clientAppId: TENANT_A.clientAppId,
      userName: claims.upn,
      version: 1,
    });
    expect(result.route.prefix).toBe("/CCM_STS");
  });

  it("when a v2 user token (aud = server app id, azp = client app) is presented, then it is accepted as version 2", async () => {
    const result = await h.check(h.tokens().GoodTokenV2);
    expect(result.ok && result.principal?.version).toBe(2);
  });

  it("when a device token without appid is presented, then a device principal with its deviceid is returned", async () => {
    const deviceId = randomUUID();
    const result = await h.check(signToken(keyA(), deviceClaimsV1(TENANT_A, h.clock.nowSec(), deviceId)));
    expect(result.ok && result.principal).toMatchObject({ kind: "device", deviceId, clientAppId: undefined });
  });

  it("when a user+device token is presented, then the principal is userDevice", async () => {
    const result = await h.check(h.tokens().UserDeviceToken);
    expect(result.ok && result.principal?.kind).toBe("userDevice");
  });

  it("when a US Government tenant's token is presented, then it is validated against that cloud's issuer and keys", async () => {
    const result = await h.check(h.tokens(TENANT_GOV).GoodTokenV2);
    expect(outcome(result)).toBe("ok");
    expect(h.idp.requests).toContain(`https://login.microsoftonline.us/${TENANT_GOV.id}/discovery/v2.0/keys`);
  });

  it("when the aud carries a trailing slash the App ID URI lacks, then it is still accepted", async () => {
    const claims = { ...userClaimsV1(TENANT_A, h.clock.nowSec()), aud: `${TENANT_A.appIdUri}/` };
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("ok");
  });

  it("when a v1 token's aud is the server app's client ID, then it is accepted", async () => {
    const claims = { ...userClaimsV1(TENANT_A, h.clock.nowSec()), aud: TENANT_A.serverAppId };
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("ok");
  });

  it("when the path is anonymous, then no token is needed and none is read", async () => {
    const result = await h.run({ url: "/SMS_MP/.sms_aut?MPLIST", authorization: "Bearer !!!garbage" });
    expect(result.ok && result.principal).toBe(undefined);
    expect(result.ok && result.route.requirement).toBe("anonymous");
  });

  it("when the path is passthrough, then the gateway leaves authentication to the MP", async () => {
    const result = await h.run({ url: "/ccm_system_tokenauth/request", authorization: "Bearer ccm-token" });
    expect(result.ok && result.route.requirement).toBe("passthrough");
  });
});

describe("authenticate: every rejection reason", () => {
  it("when no Authorization header is sent, then token_missing", async () => {
    expect(outcome(await h.check(undefined))).toBe("token_missing");
  });

  it("when the token is in the query string, then request_malformed", async () => {
    expect(
      outcome(await h.run({ url: `/CCM_STS?access_token=${h.tokens().GoodToken}`, authorization: undefined })),
    ).toBe("request_malformed");
  });

  it("when the token is in a form body, then request_malformed", async () => {
    const token = h.tokens().GoodToken;
    const result = await h.run({
      url: "/CCM_STS",
      authorization: `Bearer ${token}`,
      formBody: `access_token=${token}`,
    });
    expect(outcome(result)).toBe("request_malformed");
  });

  it("when two Authorization headers are sent, then request_malformed", async () => {
    const token = h.tokens().GoodToken;
    expect(outcome(await h.run({ url: "/CCM_STS", authorization: [`Bearer ${token}`, `Bearer ${token}`] }))).toBe(
      "request_malformed",
    );
  });

  it("when the scheme is not Bearer, then request_malformed", async () => {
    expect(outcome(await h.run({ url: "/CCM_STS", authorization: "Basic dXNlcjpwYXNz" }))).toBe("request_malformed");
  });

  it("when the token is not a JWS, then token_malformed", async () => {
    expect(outcome(await h.check("not.a-token"))).toBe("token_malformed");
  });

  it("when the token is larger than maxTokenBytes, then token_malformed", async () => {
    expect(outcome(await h.check("a".repeat(16_385)))).toBe("token_malformed");
  });

  it("when alg is HS256, then alg_not_allowed", async () => {
    const token = signToken(keyA(), userClaimsV1(TENANT_A, h.clock.nowSec()), { alg: "HS256" });
    expect(outcome(await h.check(token))).toBe("alg_not_allowed");
  });

  it("when tid is not a registered tenant, then tenant_unknown and no key is fetched", async () => {
    const before = h.idp.count();
    const claims = {
      ...userClaimsV1(TENANT_A, h.clock.nowSec()),
      tid: TENANT_UNREGISTERED,
      iss: issuerV1(TENANT_UNREGISTERED),
    };
    const result = await h.check(signToken(keyA(), claims, { kid: newKid() }));
    expect(outcome(result)).toBe("tenant_unknown");
    expect(result.ok === false && result.tenant).toBe(undefined);
    expect(h.idp.count()).toBe(before);
  });

  it("when iss names another tenant than tid, then issuer_invalid", async () => {
    const claims = { ...userClaimsV1(TENANT_A, h.clock.nowSec()), iss: issuerV1(TENANT_GOV.id) };
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("issuer_invalid");
  });

  it("when iss has the right tenant but another host, then issuer_invalid", async () => {
    const claims = { ...userClaimsV1(TENANT_A, h.clock.nowSec()), iss: `https://evil.example/${TENANT_A.id}/` };
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("issuer_invalid");
  });

  it("when the kid is not in the tenant's JWKS, then key_not_found", async () => {
    expect(outcome(await h.check(h.tokens().NonExistKidToken))).toBe("key_not_found");
  });

  it("when the signature does not verify, then signature_invalid", async () => {
    expect(outcome(await h.check(tamperSignature(h.tokens().GoodToken)))).toBe("signature_invalid");
  });

  it("when a token is signed by another key under a published kid, then signature_invalid", async () => {
    const forged = signToken(newSigningKey(), userClaimsV1(TENANT_A, h.clock.nowSec()), { kid: keyA().kid });
    expect(outcome(await h.check(forged))).toBe("signature_invalid");
  });

  it("when the token has expired beyond the skew, then token_expired", async () => {
    expect(outcome(await h.check(h.tokens().ExpiredToken))).toBe("token_expired");
  });

  it("when nbf is in the future beyond the skew, then token_not_yet_valid", async () => {
    expect(outcome(await h.check(h.tokens().NotYetValidToken))).toBe("token_not_yet_valid");
  });

  it("when aud is another resource, then audience_invalid", async () => {
    expect(outcome(await h.check(h.tokens().WrongAudienceToken))).toBe("audience_invalid");
  });

  it("when appid is not the tenant's client app, then client_app_invalid", async () => {
    expect(outcome(await h.check(h.tokens().WrongClientAppToken))).toBe("client_app_invalid");
  });

  it("when exp is missing, then claim_invalid", async () => {
    const { exp: _exp, ...claims } = userClaimsV1(TENANT_A, h.clock.nowSec());
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("claim_invalid");
  });

  it("when an app-only token is presented, then token_kind_not_allowed", async () => {
    expect(outcome(await h.check(h.tokens().AppToken))).toBe("token_kind_not_allowed");
  });

  it("when a device token is presented on a user route (/AdminService/), then token_kind_not_allowed", async () => {
    expect(outcome(await h.check(h.tokens().DeviceToken, "/AdminService/v1.0/Device"))).toBe("token_kind_not_allowed");
  });

  it("when an Administration Service Management token is used on /CCM_STS, then admin_service_only", async () => {
    expect(outcome(await h.check(h.tokens(TENANT_ADMIN_SERVICE).GoodToken))).toBe("admin_service_only");
  });

  it("when the tenant has Entra authentication disabled, then tenant_disabled", async () => {
    expect(outcome(await h.check(h.tokens(TENANT_DISABLED).GoodToken))).toBe("tenant_disabled");
  });

  it("when the path matches no route, then route_unknown", async () => {
    expect(outcome(await h.check(h.tokens().GoodToken, "/SMS_DP_SMSPKG$/secret"))).toBe("route_unknown");
  });

  it("when the path hides a dot segment, then request_malformed", async () => {
    expect(outcome(await h.check(undefined, "/SMS_MP/.sms_aut/../../AdminService/v1.0/Device"))).toBe(
      "request_malformed",
    );
  });

  it("when a tenant's keys were never fetched, then keys_unavailable", async () => {
    const down = await createHarness({ idpDown: true });
    expect(outcome(await down.check(down.tokens().GoodToken))).toBe("keys_unavailable");
  });
});

describe("authenticate: check order", () => {
  it("when a token is both forged and for a disabled tenant, then the cheap tenant check answers before crypto", async () => {
    const before = h.auth.counters.signatureChecks;
    const forged = tamperSignature(h.tokens(TENANT_DISABLED).GoodToken);
    expect(outcome(await h.check(forged))).toBe("tenant_disabled");
    expect(h.auth.counters.signatureChecks).toBe(before);
  });

  it("when the v2 issuer is used with ver 1.0, then claim_invalid", async () => {
    const claims = { ...userClaimsV2(TENANT_A, h.clock.nowSec()), ver: "1.0" };
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("claim_invalid");
  });

  it("when the tenant list is extended by a reload, then the new tenant's tokens work", async () => {
    const local = await createHarness();
    const other = newSigningKey();
    const tenant = { ...TENANT_A, id: "11111111-2222-4333-8444-555555555555", name: "new.example.com" } as const;
    const service = cloudManagementService(TENANT_A, {
      name: "new",
      tenant: { id: tenant.id, name: tenant.name },
      webApp: {
        name: "w",
        clientId: TENANT_A.serverAppId,
        appIdUri: `api://${tenant.id}/ConfigMgrService`,
        secret: { value: "x" },
      },
    });
    local.idp.serve(`https://login.microsoftonline.com/${tenant.id}/discovery/keys`, jwksOf([other]));
    const raw = baseConfigInput();
    local.auth.setConfig(makeConfig({ ...raw, azureServices: [...(raw.azureServices ?? []), service] }));
    await local.keys.whenSettled();
    const claims = {
      ...userClaimsV1(TENANT_A, local.clock.nowSec()),
      tid: tenant.id,
      iss: issuerV1(tenant.id),
      aud: `api://${tenant.id}/ConfigMgrService`,
    };
    expect(outcome(await local.check(signToken(other, claims)))).toBe("ok");
  });
});

describe("authenticate: device tokens and the client-app switch", () => {
  it("when deviceTokenRequireClientApp is on, then a device token without appid is refused and one with it passes", async () => {
    const strict = await createHarness({
      config: { ...baseConfigInput(), auth: { deviceTokenRequireClientApp: true } },
    });
    expect(outcome(await strict.check(strict.tokens().DeviceToken))).toBe("client_app_invalid");
    expect(outcome(await strict.check(strict.tokens().DeviceTokenWithAppId))).toBe("ok");
  });

  it("when a device token names another client app, then it is refused even with the switch off", async () => {
    const claims = { ...deviceClaimsV1(TENANT_A, h.clock.nowSec()), appid: TENANT_GOV.clientAppId };
    expect(outcome(await h.check(signToken(keyA(), claims)))).toBe("client_app_invalid");
  });
});
