import { describe, expect, it } from "vitest";
import { check, problems, warnings } from "./config-helpers.js";
import { cloudManagementService, TENANT_A, TENANT_GOV } from "./fixtures.js";

function withUri(appIdUri: string) {
  const service = cloudManagementService(TENANT_A);
  return check({
    azureServices: [{ ...service, webApp: { ...(service.webApp as object), appIdUri } }],
    upstream: { url: "https://mp" },
  });
}

describe("App ID URI rules (Create Server Application dialog)", () => {
  it("when it is api://{tenantId}/{name} with the service's tenant, then it is valid without warning", () => {
    const result = withUri(`api://${TENANT_A.id}/ConfigMgrService`);
    expect(problems(result)).toEqual([]);
    expect(warnings(result).join("\n")).not.toMatch(/App ID URI/);
  });

  it("when it is https://{verified-domain}/{name}, then it is valid", () => {
    expect(problems(withUri("https://contoso.onmicrosoft.com/ConfigMgrService"))).toEqual([]);
    expect(problems(withUri("https://contoso.com/apps/ConfigMgrService"))).toEqual([]);
  });

  it("when it is the old default https://ConfigMgrService, then it is accepted with a warning", () => {
    const result = withUri("https://ConfigMgrService");
    expect(problems(result)).toEqual([]);
    expect(warnings(result).join("\n")).toMatch(/old default App ID URI/);
  });

  it("when api:// names another tenant or no GUID, then it is a problem", () => {
    expect(problems(withUri(`api://${TENANT_GOV.id}/ConfigMgrService`)).join("\n")).toMatch(/names tenant/);
    expect(problems(withUri("api://contoso/ConfigMgrService")).join("\n")).toMatch(/api:\/\/\{tenantId\}\/\{name\}/);
  });

  it("when it is api://{clientId} (the portal's default), then it is valid", () => {
    expect(problems(withUri(`api://${TENANT_A.serverAppId}`))).toEqual([]);
    expect(problems(withUri(`api://${TENANT_A.serverAppId.toUpperCase()}`))).toEqual([]);
  });

  it("when it is api://{tenantId}/{clientId}, then it is valid", () => {
    expect(problems(withUri(`api://${TENANT_A.id}/${TENANT_A.serverAppId}`))).toEqual([]);
  });

  it("when it is api://{name}/{clientId}, then it is valid", () => {
    expect(problems(withUri(`api://productapi/${TENANT_A.serverAppId}`))).toEqual([]);
  });

  it("when it is api://{verified-domain}/{name}, then it is valid", () => {
    expect(problems(withUri("api://contoso.com/ConfigMgrService"))).toEqual([]);
  });

  it("when it is https://{tenant}.onmicrosoft.com/{name}, then it is valid", () => {
    expect(problems(withUri("https://contoso.onmicrosoft.com/ConfigMgrService"))).toEqual([]);
  });

  it("when it is https://{name}.{verified-domain} with or without a path, then it is valid", () => {
    expect(problems(withUri("https://configmgr.contoso.com"))).toEqual([]);
    expect(problems(withUri("https://configmgr.contoso.com/"))).toEqual([]);
    expect(problems(withUri("https://configmgr.contoso.com/ConfigMgrService"))).toEqual([]);
  });

  it("when api:// names another client ID or tenant, has no name, or is a bare other GUID, then it is a problem naming the forms", () => {
    expect(problems(withUri(`api://${TENANT_A.id}/`)).length).toBe(1);
    expect(problems(withUri(`api://${TENANT_A.id}`)).join("\n")).toMatch(/without a path must be api:\/\/\{clientId\}/);
    expect(problems(withUri(`api://${TENANT_GOV.serverAppId}`)).length).toBe(1);
    expect(problems(withUri("api://ConfigMgrService")).length).toBe(1);
    expect(problems(withUri("api://ConfigMgrService/x")).join("\n")).toMatch(/must be one of api:\/\/\{clientId\}/);
  });

  it("when https has no domain, no path, a port, a query or is http, then it is a problem", () => {
    for (const uri of [
      "https://localhost/ConfigMgrService",
      "https://contoso.com",
      "https://contoso.com#x",
      "https://user@cm.contoso.com/x",
      "https://contoso.com/",
      "https://contoso.com:8443/x",
      "https://contoso.com/x?y=1",
      "http://contoso.com/ConfigMgrService",
      "urn:configmgr",
    ]) {
      expect(problems(withUri(uri)).length, uri).toBe(1);
    }
  });
});
