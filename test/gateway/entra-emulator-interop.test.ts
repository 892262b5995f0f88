/**
 * Cross-check of two independent readings of docs/architecture.md § Entra ID facts: tokens and JWKS documents built by the emulator's own
 * code (entra-simulator/tokens.ts, keys.ts) must pass the gateway's pipeline, and its app tokens must not.
 * Only the emulator's pure builders are used: no server, no network.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { CLOUDS, issuerFor } from "../../entra-simulator/clouds.js";
import { createKeyStore, type KeyStore, toPublishedJwk } from "../../entra-simulator/keys.js";
import type { DirectoryApp, DirectoryDevice, DirectoryUser } from "../../entra-simulator/seed.js";
import { buildAccessClaims, signToken, type TokenSubject } from "../../entra-simulator/tokens.js";
import { createHarness, type Harness, jwksUrl, outcome, TENANT_A } from "./fixtures.js";

let h: Harness;
let store: KeyStore;
const cloud = CLOUDS.AzurePublicCloud;

const client = {
  id: randomUUID(),
  appId: TENANT_A.clientAppId,
  servicePrincipalId: randomUUID(),
  displayName: "ConfigMgrClient",
} as DirectoryApp;
const user = {
  id: randomUUID(),
  userPrincipalName: `jane@${TENANT_A.name}`,
  displayName: "Jane Doe",
  givenName: "Jane",
  surname: "Doe",
  onPremisesSecurityIdentifier: "S-1-5-21-1-2-3-1104",
} as DirectoryUser;
const device = { deviceId: randomUUID(), id: randomUUID(), displayName: "PC-1" } as DirectoryDevice;

function mint(subject: Partial<TokenSubject> & Pick<TokenSubject, "version">): string {
  const full: TokenSubject = {
    tenantId: TENANT_A.id,
    cloud,
    audience: subject.version === 1 ? TENANT_A.appIdUri : TENANT_A.serverAppId,
    clientAuth: "0",
    nowSec: Math.floor(h.clock.nowSec()),
    ...subject,
  };
  return signToken(buildAccessClaims(full), store.current(TENANT_A.id), full.version);
}

beforeAll(async () => {
  h = await createHarness();
  store = createKeyStore({ now: () => h.clock.now(), rotationGraceMs: 86_400_000, keysPerCloud: 2 });
  await store.ensureTenant(TENANT_A.id, "AzurePublicCloud");
  const published = store.published(TENANT_A.id);
  h.idp.serve(jwksUrl(TENANT_A, 1), { keys: published.map((k) => toPublishedJwk(k, undefined)) });
  h.idp.serve(jwksUrl(TENANT_A, 2), { keys: published.map((k) => toPublishedJwk(k, cloud.keyIssuer)) });
  await h.keys.refreshAll();
}, 60_000);

describe("interop with the Entra emulator's token and key formats", () => {
  it("when the emulator mints a v1 user token for the client app, then the gateway accepts it as user", async () => {
    const result = await h.check(mint({ version: 1, client, user, scopes: ["user_impersonation"] }));
    expect(result.ok && result.principal).toMatchObject({ kind: "user", objectId: user.id, version: 1 });
  });

  it("when the emulator mints a v2 user token, then the gateway accepts it (key issuer template honoured)", async () => {
    const result = await h.check(mint({ version: 2, client, user, scopes: ["user_impersonation"] }));
    expect(result.ok && result.principal?.version).toBe(2);
  });

  it("when the emulator mints a device token without a client, then the gateway accepts it as device", async () => {
    const result = await h.check(mint({ version: 1, device }));
    expect(result.ok && result.principal).toMatchObject({
      kind: "device",
      deviceId: device.deviceId,
      objectId: device.id,
    });
  });

  it("when the emulator mints a user+device token, then the gateway classifies it userDevice", async () => {
    const result = await h.check(mint({ version: 1, client, user, device, scopes: ["user_impersonation"] }));
    expect(result.ok && result.principal?.kind).toBe("userDevice");
  });

  it("when the emulator mints an app-only token, then the gateway refuses it (token_kind_not_allowed)", async () => {
    expect(outcome(await h.check(mint({ version: 1, client, roles: ["Directory.Read.All"] })))).toBe(
      "token_kind_not_allowed",
    );
  });

  it("when the emulator's v1 issuer is filled in, then it is the issuer the gateway expects", () => {
    expect(issuerFor(cloud.v1Issuer, TENANT_A.id)).toBe(h.auth.tenants.get(TENANT_A.id)?.issuerV1);
    expect(issuerFor(cloud.v2Issuer, TENANT_A.id)).toBe(h.auth.tenants.get(TENANT_A.id)?.issuerV2);
  });
});
