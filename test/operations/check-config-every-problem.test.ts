import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMain } from "../cli/run-main.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "entra-ops-check-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function check(text: string) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return runMain(["check-config", file]);
}

describe("check-config", () => {
  it("when the file has several problems, then every one is listed and the exit code is 1", async () => {
    const { code, err } = await check(`
upstream: { url: "ftp://mp" }
auth: { clockSkewSec: -5 }
admin: { key: { value: "short" } }
azureServices:
  - name: Contoso
    type: cloudManagement
    disableAuthentification: true
    tenant: { id: not-a-guid, name: contoso }
    webApp: { name: s, clientId: 1f1e2d3c-4b5a-4697-8877-665544332211, appIdUri: "api://x/y", secret: { value: s } }
`);
    expect(code).toBe(1);
    expect(err).toMatch(/invalid configuration: \d+ problems:/);
    for (const fragment of ["upstream.url", "auth.clockSkewSec", "disableAuthentification", "tenant.id"]) {
      expect(err).toContain(fragment);
    }
  });

  it("when the admin key is shorter than 32 characters, then it is a problem", async () => {
    const { code, err } = await check(`upstream: { url: "https://mp.example" }\nadmin: { key: { value: "short" } }\n`);
    expect(code).toBe(1);
    expect(err).toContain("admin.key: must be at least 32 characters");
    expect(err).not.toContain("short\n");
  });

  it("when the file is valid, then it says so, prints warnings on stderr and exits 0", async () => {
    const { code, out, err } = await check(`upstream: { url: "https://mp.example" }\n`);
    expect(code).toBe(0);
    expect(out).toContain("valid");
    expect(err).toContain("warning:");
  });
});

describe("check-config and Administration Service Management", () => {
  const cm = (extra = "") => `
  - name: Contoso
    type: cloudManagement${extra}
    tenant: { id: 5e97358c-d99c-4558-af0c-de7774091dda, name: contoso.onmicrosoft.com }
    webApp:
      name: ConfigMgrService
      clientId: 1f1e2d3c-4b5a-4697-8877-665544332211
      appIdUri: api://5e97358c-d99c-4558-af0c-de7774091dda/ConfigMgrService
      secret: { value: s }
    nativeApp: { name: ConfigMgrClient, clientId: a26a653e-17aa-43eb-ab36-0e36c7d29f49 }`;

  it("when the service is configured, then check-config warns that only CMG VMSS deployments can enable it", async () => {
    const { code, err } = await check(`upstream: { url: "https://mp" }
azureServices:${cm()}
  - name: Contoso AdminService
    type: adminServiceManagement
    tenant: { id: 5e97358c-d99c-4558-af0c-de7774091dda, name: contoso.onmicrosoft.com }
    webApp:
      name: ConfigMgrAdminService
      clientId: 2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f
      appIdUri: api://5e97358c-d99c-4558-af0c-de7774091dda/ConfigMgrAdminService
      secret: { value: s }
    nativeApp: { name: ConfigMgrAdminServiceClient, clientId: 3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a }
`);
    expect(code).toBe(0);
    expect(err).toMatch(
      /warning: .*applies only to CMG virtual machine scale set \(VMSS\) deployments, not classic CMG/,
    );
  });

  it("when a file still has adminServiceManagement: true on cloud management, then it loads and says how to migrate", async () => {
    const { code, err } = await check(`upstream: { url: "https://mp" }
azureServices:${cm("\n    adminServiceManagement: true")}
`);
    expect(code).toBe(0);
    expect(err).toMatch(
      /warning: .*adminServiceManagement: deprecated: Administration Service Management is now its own service/,
    );
  });
});
