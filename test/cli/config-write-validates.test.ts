/** `editConfigFile` validates the whole resulting configuration before writing, in YAML or JSON. */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { editConfigFile, removeService, setServiceValue, setTenantAuthentication } from "../../gateway/config/write.js";
import { CONFIG_YAML, configFolder, TENANT } from "./config-write-helpers.js";

describe("editConfigFile validates before writing", () => {
  it("when an edit makes the configuration invalid, then every problem is returned and the file is untouched", async () => {
    const path = await configFolder();
    const result = await editConfigFile(
      path,
      (doc) => {
        setServiceValue(doc, "Contoso", ["tenant", "id"], "not-a-guid");
        setServiceValue(doc, "Contoso", ["disableAuthentification"], true);
      },
      { env: {} },
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems.some((p) => p.includes("tenant.id") && p.includes("must be a GUID"))).toBe(true);
    expect(problems.some((p) => p.includes("disableAuthentification") && p.includes("unknown key"))).toBe(true);
    expect(await readFile(path, "utf8")).toBe(CONFIG_YAML);
  });

  it("when an edit names no existing service, then it is refused with that message", async () => {
    const path = await configFolder();
    const result = await editConfigFile(path, (doc) => removeService(doc, "Fabrikam"), { env: {} });
    expect(!result.ok && result.problems).toEqual(['no service named "Fabrikam" in azureServices']);
  });

  it("when a tenant is disabled by its ID (the admin API's use), then its cloud management service is flagged", async () => {
    const path = await configFolder();
    let name = "";
    const result = await editConfigFile(
      path,
      (doc) => {
        name = setTenantAuthentication(doc, TENANT.toUpperCase(), true);
      },
      { env: {} },
    );
    expect(result.ok && result.config.azureServices[0]?.disableAuthentication).toBe(true);
    expect(name).toBe("Contoso");
    expect(await readFile(path, "utf8")).toContain("disableAuthentication: true # CM 2010+");
  });

  it("when dryRun is set, then the result is validated but nothing is written", async () => {
    const path = await configFolder();
    const result = await editConfigFile(path, (doc) => removeService(doc, "Contoso"), { env: {}, dryRun: true });
    expect(result.ok && result.written).toBe(false);
    expect(result.ok && result.config.azureServices).toEqual([]);
    expect(await readFile(path, "utf8")).toBe(CONFIG_YAML);
  });

  it("when the configuration file is JSON, then it stays JSON after the edit", async () => {
    const json = `${JSON.stringify(parse(CONFIG_YAML), null, 2)}\n`;
    const path = await configFolder(json, "gateway.json");
    const result = await editConfigFile(path, (doc) => setServiceValue(doc, "Contoso", ["description"], "from JSON"), {
      env: {},
    });
    expect(result.ok).toBe(true);
    const text = await readFile(path, "utf8");
    expect(JSON.parse(text).azureServices[0].description).toBe("from JSON");
    expect(text.startsWith("{\n")).toBe(true);
  });
});
