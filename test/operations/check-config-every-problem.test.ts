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
