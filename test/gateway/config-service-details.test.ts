import { describe, expect, it } from "vitest";
import { check, problems, warnings } from "./config-helpers.js";
import { cloudManagementService, TENANT_A, TENANT_GOV } from "./fixtures.js";

const upstream = { url: "https://mp.contoso.local" };
const webApp = (tenantId: string, origin = "imported") => ({
  name: "web",
  clientId: "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d",
  appIdUri: `api://${tenantId}/Service`,
  secret: { value: "x" },
  origin,
});
const logAnalytics = (extra: Record<string, unknown> = {}) => ({
  name: "Log Analytics",
  type: "logAnalytics",
  tenant: { id: TENANT_A.id, name: TENANT_A.name },
  webApp: webApp(TENANT_A.id),
  ...extra,
});
const store = (extra: Record<string, unknown> = {}) => ({
  name: "Store",
  type: "storeForBusiness",
  tenant: { id: TENANT_A.id, name: TENANT_A.name },
  webApp: webApp(TENANT_A.id, "created"),
  ...extra,
});

describe("Service details: cloud management", () => {
  it("when several distinct tenants are configured in both clouds, then it is valid", () => {
    const result = check({
      azureServices: [cloudManagementService(TENANT_A), cloudManagementService(TENANT_GOV)],
      upstream,
    });
    expect(problems(result)).toEqual([]);
  });

  it("when two cloud management services use the same tenant, then it is a problem", () => {
    const result = check({
      azureServices: [cloudManagementService(TENANT_A), cloudManagementService(TENANT_A, { name: "again" })],
      upstream,
    });
    expect(problems(result).join("\n")).toMatch(
      /tenant 5e97358c-.* is already used by cloud management service azureServices\[0\]/,
    );
  });

  it("when the same tenant differs only in case, then it is still the same tenant", () => {
    const upper = cloudManagementService(TENANT_A, {
      name: "again",
      tenant: { id: TENANT_A.id.toUpperCase(), name: "x" },
    });
    expect(problems(check({ azureServices: [cloudManagementService(TENANT_A), upper], upstream })).length).toBe(1);
  });

  it("when the native app is missing, then it is a problem (web + native app)", () => {
    const { nativeApp: _n, ...service } = cloudManagementService(TENANT_A);
    expect(problems(check({ azureServices: [service], upstream })).join("\n")).toMatch(/needs a nativeApp/);
  });

  it("when an environment outside Public and US Government is named, then it is a problem", () => {
    const service = cloudManagementService(TENANT_A, { environment: "AzureChinaCloud" });
    expect(problems(check({ azureServices: [service], upstream })).join("\n")).toMatch(
      /azureServices\[0\]\.environment/,
    );
  });

  it("when two services share a name, then it is a problem", () => {
    const result = check({
      azureServices: [
        cloudManagementService(TENANT_A),
        cloudManagementService(TENANT_GOV, { name: `CM ${TENANT_A.name}` }),
      ],
      upstream,
    });
    expect(problems(result).join("\n")).toMatch(/name repeats azureServices\[0\]/);
  });
});

describe("Service details: Log Analytics", () => {
  it("when one imported web app is configured, then it is valid with a warning that CM 2107 removed it", () => {
    const result = check({ azureServices: [logAnalytics()], upstream });
    expect(problems(result)).toEqual([]);
    expect(warnings(result).join("\n")).toMatch(/removed from Configuration Manager in version 2107/);
  });

  it("when it is in the US Government cloud, then it is valid (public and private clouds)", () => {
    expect(
      problems(check({ azureServices: [logAnalytics({ environment: "AzureUSGovernmentCloud" })], upstream })),
    ).toEqual([]);
  });

  it("when a second Log Analytics service is added, then it is a problem (one tenant)", () => {
    const result = check({
      azureServices: [
        logAnalytics(),
        logAnalytics({ name: "LA 2", tenant: { id: TENANT_GOV.id, name: "x" }, webApp: webApp(TENANT_GOV.id) }),
      ],
      upstream,
    });
    expect(problems(result).join("\n")).toMatch(/Log Analytics allows one tenant, found 2/);
  });

  it("when it has a native app, then it is a problem (web app only)", () => {
    const result = check({
      azureServices: [logAnalytics({ nativeApp: { name: "n", clientId: TENANT_A.clientAppId } })],
      upstream,
    });
    expect(problems(result).join("\n")).toMatch(/Log Analytics uses a web app only/);
  });

  it("when its app was created rather than imported, then it is a problem (import only)", () => {
    const result = check({ azureServices: [logAnalytics({ webApp: webApp(TENANT_A.id, "created") })], upstream });
    expect(problems(result).join("\n")).toMatch(/can only be imported/);
  });
});

describe("Service details: Store for Business", () => {
  it("when one public-cloud web app is configured (imported or created), then it is valid", () => {
    expect(problems(check({ azureServices: [store()], upstream }))).toEqual([]);
  });

  it("when it is in the US Government cloud, then it is a problem (public only)", () => {
    const result = check({ azureServices: [store({ environment: "AzureUSGovernmentCloud" })], upstream });
    expect(problems(result).join("\n")).toMatch(/Store for Business supports AzurePublicCloud only/);
  });

  it("when a second one is added, then it is a problem (one tenant)", () => {
    const result = check({ azureServices: [store(), store({ name: "Store 2" })], upstream });
    expect(problems(result).join("\n")).toMatch(/Store for Business allows one tenant, found 2/);
  });

  it("when it has a native app, then it is a problem (web app only)", () => {
    const result = check({
      azureServices: [store({ nativeApp: { name: "n", clientId: TENANT_A.clientAppId } })],
      upstream,
    });
    expect(problems(result).join("\n")).toMatch(/Store for Business uses a web app only/);
  });

  it("when adminServiceManagement is set on it, then it is a problem (cloud management only)", () => {
    const result = check({ azureServices: [store({ adminServiceManagement: true })], upstream });
    expect(problems(result).join("\n")).toMatch(/adminServiceManagement applies to cloud management only/);
  });

  it("when the same tenant also has cloud management and Store for Business, then it is valid (one app per service)", () => {
    expect(problems(check({ azureServices: [cloudManagementService(TENANT_A), store()], upstream }))).toEqual([]);
  });
});

describe("Service details: Administration Service Management (CM 2207+)", () => {
  const asm = (extra: Record<string, unknown> = {}) => ({
    name: "AdminService",
    type: "adminServiceManagement",
    tenant: { id: TENANT_A.id, name: TENANT_A.name },
    webApp: webApp(TENANT_A.id, "created"),
    nativeApp: { name: "ConfigMgrAdminServiceClient", clientId: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" },
    ...extra,
  });

  it("when it segments a cloud management tenant, then it is valid and warns that only CMG VMSS can enable it", () => {
    const result = check({ azureServices: [cloudManagementService(TENANT_A), asm()], upstream });
    expect(problems(result)).toEqual([]);
    expect(warnings(result).join("\n")).toMatch(/applies only to CMG virtual machine scale set \(VMSS\) deployments/);
  });

  it("when its tenant has no cloud management service, or another environment, or no native app, then it is a problem", () => {
    expect(problems(check({ azureServices: [asm()], upstream })).join("\n")).toMatch(/has no cloud management service/);
    expect(
      problems(
        check({
          azureServices: [cloudManagementService(TENANT_A), asm({ environment: "AzureUSGovernmentCloud" })],
          upstream,
        }),
      ).join("\n"),
    ).toMatch(/differs from its cloud management service/);
    expect(
      problems(
        check({ azureServices: [cloudManagementService(TENANT_A), asm({ nativeApp: undefined })], upstream }),
      ).join("\n"),
    ).toMatch(/Administration Service Management needs a nativeApp/);
  });

  it("when it reuses the cloud management web app, or is added twice, then it is a problem (segmentation needs its own app)", () => {
    const cm = cloudManagementService(TENANT_A) as { webApp: Record<string, unknown> };
    expect(problems(check({ azureServices: [cm, asm({ webApp: cm.webApp })], upstream })).join("\n")).toMatch(
      /webApp must be its own app registration/,
    );
    expect(problems(check({ azureServices: [cm, asm(), asm({ name: "again" })], upstream })).join("\n")).toMatch(
      /already has Administration Service Management/,
    );
  });

  it("when the deprecated adminServiceManagement: true is on a cloud management service, then it loads with a migration message", () => {
    const result = check({
      azureServices: [cloudManagementService(TENANT_A, { adminServiceManagement: true })],
      upstream,
    });
    expect(problems(result)).toEqual([]);
    expect(warnings(result).join("\n")).toMatch(
      /adminServiceManagement: deprecated: .*type: adminServiceManagement.*clients keep authenticating everywhere else/,
    );
  });

  it("when managementPoints lists an ID twice, then it is a problem", () => {
    const result = check({
      azureServices: [cloudManagementService(TENANT_A)],
      upstream,
      managementPoints: [{ id: "1" }, { id: "1", url: "https://mp2.contoso.local" }],
    });
    expect(problems(result).join("\n")).toMatch(/managementPoints\[1\]\.id: 1 is listed twice/);
  });
});
