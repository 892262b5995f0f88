/** Issuers per cloud are lists: US Government v1 accepts both documented forms, each bound to the tid. */
import { describe, expect, it } from "vitest";
import { matchIssuer } from "../../gateway/auth/claims.js";
import { createTenantRegistry } from "../../gateway/auth/tenants.js";
import {
  baseConfigInput,
  createHarness,
  makeConfig,
  outcome,
  signToken,
  TENANT_A,
  TENANT_GOV,
  userClaimsV1,
} from "./fixtures.js";

describe("issuers per cloud", () => {
  it("when a US Government v1 token names sts.windows.net or login.microsoftonline.us, then both are accepted", async () => {
    const h = await createHarness();
    const key = h.keyOf.get(TENANT_GOV.id)!;
    for (const iss of [
      `https://sts.windows.net/${TENANT_GOV.id}/`,
      `https://login.microsoftonline.us/${TENANT_GOV.id}/`,
    ]) {
      const token = signToken(key, { ...userClaimsV1(TENANT_GOV, h.clock.nowSec()), iss });
      expect(outcome(await h.check(token)), iss).toBe("ok");
    }
  });

  it("when the issuer names another tenant, or the public cloud takes the US Government form, then issuer_invalid", async () => {
    const h = await createHarness();
    const gov = signToken(h.keyOf.get(TENANT_GOV.id)!, {
      ...userClaimsV1(TENANT_GOV, h.clock.nowSec()),
      iss: `https://login.microsoftonline.us/${TENANT_A.id}/`,
    });
    expect(outcome(await h.check(gov))).toBe("issuer_invalid");
    const pub = signToken(h.keyOf.get(TENANT_A.id)!, {
      ...userClaimsV1(TENANT_A, h.clock.nowSec()),
      iss: `https://login.microsoftonline.us/${TENANT_A.id}/`,
    });
    expect(outcome(await h.check(pub))).toBe("issuer_invalid");
  });

  it("when an environment overrides issuerV1 with a list, then exactly that list applies", () => {
    const config = makeConfig({
      ...baseConfigInput(),
      environments: {
        AzureUSGovernmentCloud: { issuerV1: ["https://login.microsoftonline.us/{tenantid}/"] },
      },
    });
    const gov = createTenantRegistry(config).get(TENANT_GOV.id)!;
    expect(gov.issuersV1).toEqual([`https://login.microsoftonline.us/${TENANT_GOV.id}/`]);
    expect(matchIssuer(gov, `https://sts.windows.net/${TENANT_GOV.id}/`)).toBeUndefined();
    expect(matchIssuer(gov, `https://login.microsoftonline.us/${TENANT_GOV.id}/`)).toBe(1);
  });
});
