/**
 * The CLI behaves the same on every command (docs/operations.md § CLI): `--help` prints that command's help,
 * `--json` gives one JSON document, an unknown flag prints the usage and exits 2; syntax errors name their
 * line:column, unknown keys get a did-you-mean; services are found by name, tenant domain or tenant ID;
 * `services remove` confirms; an admin API that refuses the key is an error. In-process `main()` with
 * captured streams (`serve`, the real-process and the real-terminal cases are in cli-process.test.ts).
 */

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import { runMain } from "./run-main.js";

const CONTOSO = "5e97358c-d99c-4558-af0c-de7774091dda";
const FABRIKAM = "0b6c2f5e-8a44-4e1f-9d3a-2c7b91e0f4a8";

function service(name: string, type: string, tenantId: string, tenantName: string, clientId: string, extra = "") {
  return `  - name: ${name}
    type: ${type}
    tenant: { id: ${tenantId}, name: ${tenantName} }
    webApp:
      name: ConfigMgrService
      clientId: ${clientId}
      appIdUri: api://${tenantId}/ConfigMgrService
      secret: { value: not-a-real-secret }
      secretExpiry: 2099-12-31
${extra}`;
}

const CONFIG = `# services for the CLI tests
azureServices:
${service("Contoso", "cloudManagement", CONTOSO, "contoso.onmicrosoft.com", "1f1e2d3c-4b5a-4697-8877-665544332211", "    nativeApp: { name: ConfigMgrClient, clientId: a26a653e-17aa-43eb-ab36-0e36c7d29f49 }\n")}${service("Contoso logs", "logAnalytics", CONTOSO, "contoso.onmicrosoft.com", "2f1e2d3c-4b5a-4697-8877-665544332211")}${service("Fabrikam", "cloudManagement", FABRIKAM, "fabrikam.onmicrosoft.com", "7d2b9c41-3e5f-4a6b-8c7d-9e0f1a2b3c4d", "    nativeApp: { name: ConfigMgrClient, clientId: c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f }\n")}environments:
  AzurePublicCloud: { authorityHost: "127.0.0.1:9" } # nothing listens: Entra calls fail fast
  AzureUSGovernmentCloud: { authorityHost: "127.0.0.1:9" }
upstream: { url: "https://127.0.0.1:9" }
`;

let dir: string;
let configPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-behaves-"));
  configPath = join(dir, "gateway.yaml");
});
beforeEach(async () => {
  await writeFile(configPath, CONFIG);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const SERVICES_COMMANDS: Record<string, string[]> = {
  list: [],
  show: ["Contoso"],
  add: ["--name", "X", "--type", "cloudManagement", "--tenant-id", FABRIKAM],
  verify: ["Contoso"],
  "renew-secret": ["Contoso", "--secret-value", "new-secret", "--secret-expiry", "2099-01-01", "--no-verify"],
  "update-app-settings": ["Contoso"],
  "disable-auth": ["Contoso"],
  "enable-auth": ["Contoso"],
  remove: ["Fabrikam", "--yes"],
};

const COMMANDS: string[] = [
  "serve",
  "check-config",
  "explain-token",
  "analyze",
  "services",
  ...Object.keys(SERVICES_COMMANDS).map((c) => `services ${c}`),
];

describe("--help", () => {
  it.each(COMMANDS)("when `%s --help` runs, then it prints the command's help on stdout and exits 0", async (cmd) => {
    const r = await runMain([...cmd.split(" "), "--help"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/usage:/i);
    expect(r.err).toBe("");
  });

  it("when check-config --help runs, then it prints help instead of reading a file named --help", async () => {
    const r = await runMain(["check-config", "--help"]);
    expect(r.out).toContain("check-config [FILE | --config FILE]");
    expect(r.out + r.err).not.toContain("cannot read");
  });
});

describe("unknown flags", () => {
  it.each(COMMANDS)(
    "when `%s --frobnicate` runs, then the usage goes to stderr and the exit code is 2",
    async (cmd) => {
      const r = await runMain([...cmd.split(" "), "--frobnicate", "--config", configPath]);
      expect(r.code).toBe(2);
      expect(r.err).toContain("--frobnicate");
      expect(r.err).toMatch(/usage:/i);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(await readFile(configPath, "utf8")).toBe(CONFIG);
    },
  );
});

describe("the configuration file", () => {
  it("when check-config gets --config FILE, then it reads that file as it reads a positional FILE; both at once is a usage error", async () => {
    const positional = await runMain(["check-config", configPath, "--json"]);
    const flag = await runMain(["check-config", "--config", configPath, "--json"]);
    expect(flag.code, flag.err).toBe(0);
    expect(JSON.parse(flag.out)).toEqual(JSON.parse(positional.out));
    const both = await runMain(["check-config", configPath, "--config", configPath]);
    expect(both.code).toBe(2);
    expect(both.err).toContain("not both");
  });

  it.each(["serve", "check-config", "explain-token", "analyze"])(
    "when `%s --config ''` names no file, then it is a usage error (exit 2), not an attempt to read ''",
    async (cmd) => {
      const r = await runMain([cmd, "--config", "", ...(cmd === "analyze" ? ["--tenant", "Contoso"] : [])], {
        input: "",
      });
      expect(r.code).toBe(2);
      expect(r.err).toContain("--config FILE (or ENTRA_GATEWAY_CONFIG) is required");
    },
  );
});

describe("--json", () => {
  it("when check-config --json runs, then stdout is one JSON object for a valid and for an invalid file", async () => {
    const good = await runMain(["check-config", configPath, "--json"]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.out)).toMatchObject({
      ok: true,
      services: 3,
      cloudManagementTenants: 2,
      routes: DEFAULT_ROUTES.length,
    });
    await writeFile(configPath, "upstream: { url: ftp://x }\n");
    const bad = await runMain(["check-config", configPath, "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, problems: [expect.stringContaining("upstream.url")] });
  });

  it("when explain-token --json runs, then the explanation is one JSON object", async () => {
    const r = await runMain(["explain-token", "--config", configPath, "--json"], { input: "" });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({
      path: "/CCM_STS",
      verdict: { accepted: false, reason: "token_missing", status: 401 },
    });
  });

  it.each(Object.entries(SERVICES_COMMANDS))(
    "when `services %s --json` runs, then stdout is one JSON document whose ok matches the exit code",
    async (command, args) => {
      const r = await runMain(["services", command, ...args, "--config", configPath, "--json"]);
      const doc = JSON.parse(r.out) as { ok: boolean; command: string; exitCode: number; errors: string[] };
      expect(doc).toMatchObject({ command, exitCode: r.code, ok: r.code === 0 });
      expect(r.code === 0 || doc.errors.length > 0).toBe(true);
    },
  );

  it("when services list/show --json run, then the services are in the document", async () => {
    const list = JSON.parse((await runMain(["services", "list", "--config", configPath, "--json"])).out);
    expect(list.services.map((s: { name: string }) => s.name)).toEqual(["Contoso", "Contoso logs", "Fabrikam"]);
    const show = JSON.parse((await runMain(["services", "show", "Fabrikam", "--config", configPath, "--json"])).out);
    expect(show.service).toMatchObject({ name: "Fabrikam", tenant: { id: FABRIKAM } });
  });
});

describe("configuration problems", () => {
  it("when the YAML has syntax errors, then each names its line:column", async () => {
    await writeFile(configPath, "upstream:\n  url: https://mp\nroutes: [ { prefix: /x\nupstream: 2\n");
    const r = await runMain(["check-config", configPath]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${configPath.replaceAll(".", "\\.")}:4:1: Map keys must be unique`));
  });

  it("when a JSON file has a syntax error, then it names its line:column", async () => {
    const file = join(dir, "gateway.json");
    await writeFile(file, '{\n  "upstream": { "url": "https://mp" },\n}\n');
    const r = await runMain(["check-config", file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}:3:1: not valid JSON`);
  });

  it("when keys are misspelt, then each unknown key gets the closest known key, and a far-off one none", async () => {
    await writeFile(
      configPath,
      `${CONFIG.replace("    type: logAnalytics\n", "    type: logAnalytics\n    disableAuthentification: true\n")}upstreem: {}\nauth: { jwks: { refreshIntervalMS: 5 } }\nzzzzzz: 1\n`,
    );
    const r = await runMain(["check-config", configPath]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "azureServices[1].disableAuthentification: unknown key (did you mean disableAuthentication?)",
    );
    expect(r.err).toContain("auth.jwks.refreshIntervalMS: unknown key (did you mean refreshIntervalMs?)");
    expect(r.err).toContain("upstreem: unknown key (did you mean upstream?)");
    expect(r.err).toMatch(/zzzzzz: unknown key\n/);
  });
});

describe("naming a service", () => {
  it.each([
    ["its service name", "fabrikam"],
    ["its tenant domain", "FABRIKAM.onmicrosoft.com"],
    ["its tenant ID", FABRIKAM.toUpperCase()],
  ])("when a service is named by %s, then show, disable-auth and remove find it", async (_how, key) => {
    const show = await runMain(["services", "show", key, "--config", configPath]);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toMatch(/Fabrikam/);
    const off = await runMain(["services", "disable-auth", key, "--config", configPath]);
    expect(off.code, off.err).toBe(0);
    expect(off.out).toContain('Entra authentication disabled for "Fabrikam"');
    const removed = await runMain(["services", "remove", key, "--yes", "--config", configPath]);
    expect(removed.code, removed.err).toBe(0);
    expect(await readFile(configPath, "utf8")).not.toContain("name: Fabrikam");
  });

  it("when a tenant domain or ID belongs to several services, then the command names them and changes nothing", async () => {
    for (const key of ["contoso.onmicrosoft.com", CONTOSO]) {
      const r = await runMain(["services", "remove", key, "--yes", "--config", configPath]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('2 services ("Contoso", "Contoso logs"): name one of them');
    }
    expect(await readFile(configPath, "utf8")).toBe(CONFIG);
  });
});

describe("services remove", () => {
  it("when there is no terminal and no --yes, then it refuses with exit 2 and the file is unchanged", async () => {
    const r = await runMain(["services", "remove", "Fabrikam", "--config", configPath], { input: "y\n" });
    expect(r.code).toBe(2);
    expect(r.err).toContain("no terminal to ask on; add --yes");
    expect(await readFile(configPath, "utf8")).toBe(CONFIG);
  });
});

describe("a running gateway that refuses the admin key", () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(401, { "www-authenticate": 'Bearer realm="entra-gateway-admin"' }).end('{"error":"unauthorized"}');
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it("when disable-auth gets a 401, then it fails with a clear message and does not edit the file", async () => {
    const env = { ENTRA_GATEWAY_ADMIN_URL: url, ENTRA_GATEWAY_ADMIN_KEY: "k".repeat(40) };
    const r = await runMain(["services", "disable-auth", "Fabrikam", "--config", configPath], { env });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`the admin API at ${url} refused the admin key (HTTP 401)`);
    expect(await readFile(configPath, "utf8")).toBe(CONFIG);
    expect(seen).toContain(`POST /tenants/${FABRIKAM}/disable`);
  });

  it("when the reload after a written change gets a 401, then the command exits 1 and says the file was written", async () => {
    const env = { ENTRA_GATEWAY_ADMIN_URL: url, ENTRA_GATEWAY_ADMIN_KEY: "k".repeat(40) };
    const r = await runMain(["services", "remove", "Fabrikam", "--yes", "--config", configPath], { env });
    expect(r.code).toBe(1);
    expect(r.err).toContain("refused the admin key (HTTP 401)");
    expect(r.err).toContain(`${configPath} was written`);
    expect(seen).toContain("POST /config/reload");
  });
});
