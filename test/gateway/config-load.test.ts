import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfigFileSync, parseConfigText } from "../../gateway/config/load.js";
import { readConfig } from "../../gateway/config/read.js";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import { TENANT_A } from "./fixtures.js";

const YAML_CONFIG = `
azureServices:
  - name: Contoso cloud management
    type: cloudManagement
    environment: AzurePublicCloud
    tenant: { id: ${TENANT_A.id}, name: ${TENANT_A.name} }
    webApp:
      name: ConfigMgrService
      clientId: ${TENANT_A.serverAppId}
      appIdUri: ${TENANT_A.appIdUri}
      secret: { fromFile: secret.txt }
      secretExpiry: 2030-01-01
    nativeApp: { name: ConfigMgrClient, clientId: ${TENANT_A.clientAppId} }
upstream:
  url: https://mp.contoso.local
`;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gw-config-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("loading the configuration file", () => {
  it("when a YAML file is loaded, then it is validated and relative paths resolve against its folder", async () => {
    const dir = dirWith({ "gateway.yaml": YAML_CONFIG, "secret.txt": "from-file\n" });
    const result = await readConfig(join(dir, "gateway.yaml"), { env: {} });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.azureServices[0]?.webApp.secret.reveal()).toBe("from-file");
    expect(result.config.azureServices[0]?.webApp.secretExpiry).toBe("2030-01-01"); // YAML 1.2: a string, not a Date
  });

  it("when a JSON file is loaded, then it is parsed as JSON", () => {
    const dir = dirWith({ "gateway.json": JSON.stringify({ upstream: { url: "https://mp" } }) });
    expect(loadConfigFileSync(join(dir, "gateway.json")).ok).toBe(true);
  });

  it("when the YAML repeats a key, then it is a problem (not last-one-wins)", () => {
    const parsed = parseConfigText("upstream:\n  url: https://a\n  url: https://b\n", "x.yaml");
    expect(parsed.ok).toBe(false);
  });

  it("when the syntax is broken, then the problem names the file", () => {
    const parsed = parseConfigText("{ not json", "/etc/gw/x.json");
    expect(!parsed.ok && parsed.problems[0]).toMatch(/^\/etc\/gw\/x\.json:1:\d+: not valid JSON/);
    expect(parseConfigText("a: [1, 2", "x.yaml").ok).toBe(false);
  });

  it("when the file does not exist, then that is the one problem", async () => {
    const result = await readConfig("/nonexistent/gateway.yaml");
    expect(!result.ok && result.problems[0]).toMatch(/cannot read configuration file .* \(ENOENT\)/);
  });

  it("when the file is valid but has problems, then they all come back", async () => {
    const dir = dirWith({ "gateway.yaml": `${YAML_CONFIG}\nextra: 1\n` });
    const result = await readConfig(join(dir, "gateway.yaml"), { env: {} });
    expect(!result.ok && result.problems).toEqual(
      expect.arrayContaining(["extra: unknown key", expect.stringMatching(/cannot read file .*secret\.txt/)]),
    );
  });
});

describe("the shipped example configuration", () => {
  it("when gateway/config/example.yaml is loaded, then it is valid", async () => {
    const result = await readConfig("gateway/config/example.yaml", {
      env: { CONTOSO_SERVER_APP_SECRET: "x", CONTOSO_ADMIN_SERVICE_SECRET: "z" },
      readFile: (path) => (path.endsWith("secrets/fabrikam.txt") ? "y\n" : ""),
      now: () => Date.UTC(2025, 0, 15),
    });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.azureServices).toHaveLength(3);
    expect(result.config.routes).toHaveLength(DEFAULT_ROUTES.length); // no private copy of the defaults
    expect(result.config.managementPoints).toHaveLength(3);
  });
});
