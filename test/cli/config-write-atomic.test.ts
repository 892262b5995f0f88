/** `editConfigFile` writes atomically: mode and comments kept, no temp files left, edits serialised, races refused. */
import { writeFileSync } from "node:fs";
import { chmod, readdir, readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { appendService, editConfigFile, setServiceFlag, setValue } from "../../gateway/config/write.js";
import { CONFIG_YAML, configFolder, TENANT } from "./config-write-helpers.js";

describe("editConfigFile writes atomically", () => {
  it("when a flag is set, then only that value changes: comments, layout and the file mode are kept, and no temp file remains", async () => {
    const path = await configFolder(CONFIG_YAML, "gateway.yaml", 0o640);
    await chmod(path, 0o640);
    const result = await editConfigFile(path, (doc) => setServiceFlag(doc, "contoso", "disableAuthentication", true), {
      env: {},
    });
    expect(result.ok && result.written).toBe(true);
    expect(result.ok && result.config.azureServices[0]?.disableAuthentication).toBe(true);
    const text = await readFile(path, "utf8");
    expect(text).toBe(
      CONFIG_YAML.replace("disableAuthentication: false # CM 2010+", "disableAuthentication: true # CM 2010+"),
    );
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect((await readdir(dirname(path))).sort()).toEqual(["gateway.yaml", "server.secret"]);
  });

  it("when two edits run at once in one process, then both are applied (serialised, none lost)", async () => {
    const path = await configFolder();
    const [a, b] = await Promise.all([
      editConfigFile(path, (doc) => setServiceFlag(doc, "Contoso", "adminServiceManagement", true), { env: {} }),
      editConfigFile(path, (doc) => setValue(doc, ["azureServices", 0, "description"], "edited"), { env: {} }),
    ]);
    expect(a.ok && b.ok).toBe(true);
    const text = await readFile(path, "utf8");
    expect(text).toContain("adminServiceManagement: true");
    expect(text).toContain("description: edited");
  });

  it("when the file changes on disk during the edit, then the edit is refused and the other change kept", async () => {
    const path = await configFolder();
    const saved = `${CONFIG_YAML}# saved by an editor\n`;
    const result = await editConfigFile(
      path,
      (doc) => {
        setServiceFlag(doc, "Contoso", "disableAuthentication", true);
        // Someone saves the file in an editor between our read and our write.
        writeFileSync(path, saved);
      },
      { env: {} },
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems[0]).toContain("changed while it was being edited; nothing was written");
    expect(await readFile(path, "utf8")).toBe(saved);
  });

  it("when a service is appended to an empty flow list, then the list becomes a block list and validates", async () => {
    const path = await configFolder("azureServices: [] # none yet\nupstream: { url: https://mp.local }\n");
    const result = await editConfigFile(
      path,
      (doc) =>
        appendService(doc, {
          name: "Contoso",
          type: "cloudManagement",
          tenant: { id: TENANT, name: "contoso.onmicrosoft.com" },
          webApp: {
            name: "ConfigMgrService",
            clientId: "1f1e2d3c-4b5a-4697-8877-665544332211",
            appIdUri: `api://${TENANT}/ConfigMgrService`,
            secret: { fromFile: "server.secret" },
          },
          nativeApp: { name: "ConfigMgrClient", clientId: "a26a653e-17aa-43eb-ab36-0e36c7d29f49" },
        }),
      { env: {} },
    );
    expect(result.ok).toBe(true);
    const text = await readFile(path, "utf8");
    expect(text).toMatch(/^azureServices:\n {2}# none yet\n {2}- name: Contoso\n {4}type: cloudManagement\n/);
    expect(text).toContain("upstream: { url: https://mp.local }");
  });
});
