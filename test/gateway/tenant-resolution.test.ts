import { describe, expect, it } from "vitest";
import { createTenantRegistry, firstIssuerPathSegment, isTenant, resolveTenant } from "../../gateway/auth/tenants.js";
import {
  baseConfigInput,
  issuerV1,
  makeConfig,
  TENANT_A,
  TENANT_ADMIN,
  TENANT_DISABLED,
  TENANT_GOV,
  TENANT_UNREGISTERED,
} from "./fixtures.js";

const registry = createTenantRegistry(makeConfig());
const reasonOf = (r: ReturnType<typeof resolveTenant>) => (isTenant(r) ? "ok" : r.reason);

describe("tenants: which tenant, cloud and issuer", () => {
  it("when the registry is built, then each cloud management tenant has its cloud's issuers and JWKS URLs", () => {
    const a = registry.get(TENANT_A.id)!;
    expect(a.issuerV1).toBe(`https://sts.windows.net/${TENANT_A.id}/`);
    expect(a.issuerV2).toBe(`https://login.microsoftonline.com/${TENANT_A.id}/v2.0`);
    expect(a.keySetV1.url).toBe(`https://login.microsoftonline.com/${TENANT_A.id}/discovery/keys`);
    expect(a.keySetV2.url).toBe(`https://login.microsoftonline.com/${TENANT_A.id}/discovery/v2.0/keys`);
    expect(a.challenge).toEqual({
      tenantId: TENANT_A.id,
      authorizationUri: `https://login.microsoftonline.com/${TENANT_A.id}`,
      resourceId: TENANT_A.appIdUri,
    });
    const gov = registry.get(TENANT_GOV.id)!;
    expect(gov.issuerV2).toBe(`https://login.microsoftonline.us/${TENANT_GOV.id}/v2.0`);
    expect(gov.keySetV2.url).toBe(`https://login.microsoftonline.us/${TENANT_GOV.id}/discovery/v2.0/keys`);
    expect(registry.keySets).toHaveLength(8);
    expect(registry.get(TENANT_DISABLED.id)?.disabled).toBe(true);
    expect(registry.get(TENANT_ADMIN.id)?.adminServiceManagement).toBe(true);
  });

  it("when the authority host is overridden (the emulator), then JWKS URLs and the challenge follow it, issuers only when overridden", () => {
    const config = makeConfig({
      ...baseConfigInput(),
      environments: {
        AzurePublicCloud: {
          authorityHost: "localhost:8443",
          issuerV1: "https://{authority}/{tenantid}/",
        },
      },
    });
    const a = createTenantRegistry(config).get(TENANT_A.id)!;
    expect(a.issuerV1).toBe(`https://localhost:8443/${TENANT_A.id}/`);
    expect(a.issuerV2).toBe(`https://login.microsoftonline.com/${TENANT_A.id}/v2.0`);
    expect(a.keySetV1.url).toBe(`https://localhost:8443/${TENANT_A.id}/discovery/keys`);
    expect(a.challenge.authorizationUri).toBe(`https://localhost:8443/${TENANT_A.id}`);
  });

  it("when a service is not cloud management, then its tenant cannot authenticate clients", () => {
    const raw = baseConfigInput();
    const config = makeConfig({
      ...raw,
      azureServices: [
        ...(raw.azureServices ?? []),
        {
          name: "Store",
          type: "storeForBusiness",
          tenant: { id: TENANT_UNREGISTERED, name: "microsoft.com" },
          webApp: {
            name: "store",
            clientId: TENANT_A.serverAppId,
            appIdUri: `api://${TENANT_UNREGISTERED}/Store`,
            secret: { value: "x" },
          },
        },
      ],
    });
    expect(createTenantRegistry(config).get(TENANT_UNREGISTERED)).toBeUndefined();
  });

  it("when tid is registered and iss names it first, then the tenant resolves", () => {
    expect(reasonOf(resolveTenant(registry, { tid: TENANT_A.id, iss: issuerV1(TENANT_A.id) }))).toBe("ok");
  });

  it("when tid is missing or not a GUID, then claim_invalid", () => {
    expect(reasonOf(resolveTenant(registry, { iss: issuerV1(TENANT_A.id) }))).toBe("claim_invalid");
    expect(reasonOf(resolveTenant(registry, { tid: "contoso.onmicrosoft.com", iss: "x" }))).toBe("claim_invalid");
    expect(reasonOf(resolveTenant(registry, { tid: 42 }))).toBe("claim_invalid");
  });

  it("when tid is a GUID the gateway does not serve, then tenant_unknown", () => {
    expect(reasonOf(resolveTenant(registry, { tid: TENANT_UNREGISTERED, iss: issuerV1(TENANT_UNREGISTERED) }))).toBe(
      "tenant_unknown",
    );
  });

  it("when tid differs in case from the registered GUID, then it is not the same tenant (ordinal, as Entra issues lower case)", () => {
    expect(reasonOf(resolveTenant(registry, { tid: TENANT_A.id.toUpperCase(), iss: issuerV1(TENANT_A.id) }))).toBe(
      "tenant_unknown",
    );
  });

  it("when iss's first path segment is not the tid, then issuer_invalid", () => {
    expect(reasonOf(resolveTenant(registry, { tid: TENANT_A.id, iss: issuerV1(TENANT_GOV.id) }))).toBe(
      "issuer_invalid",
    );
    expect(
      reasonOf(resolveTenant(registry, { tid: TENANT_A.id, iss: `https://sts.windows.net/x/${TENANT_A.id}/` })),
    ).toBe("issuer_invalid");
    expect(reasonOf(resolveTenant(registry, { tid: TENANT_A.id }))).toBe("issuer_invalid");
    expect(reasonOf(resolveTenant(registry, { tid: TENANT_A.id, iss: `http://sts.windows.net/${TENANT_A.id}/` }))).toBe(
      "issuer_invalid",
    );
  });

  it("when the first path segment is extracted, then host-only and odd forms yield nothing", () => {
    expect(firstIssuerPathSegment("https://sts.windows.net/abc/")).toBe("abc");
    expect(firstIssuerPathSegment("https://login.microsoftonline.com/abc/v2.0")).toBe("abc");
    expect(firstIssuerPathSegment("https://host")).toBeUndefined();
    expect(firstIssuerPathSegment("ftp://host/abc")).toBeUndefined();
  });
});
