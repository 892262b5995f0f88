import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { discoveryFromStack, loadMpConfigFile, MpConfigError, parseMpConfig } from "../../mp-simulator/config.js";

const TENANT = "11111111-2222-4333-8444-555555555555";
const APP = "66666666-7777-4888-8999-000000000000";

describe("standalone options file", () => {
  it("when a YAML file is valid, then options come out with secrets resolved from env and file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mp-config-"));
    await writeFile(join(dir, "secret.txt"), "from-file-secret\n");
    const path = join(dir, "mp.yaml");
    await writeFile(
      path,
      [
        "port: 8443",
        "clientCertificate: { mode: optional, allowedSubjects: [entra-gateway] }",
        "site: { siteCode: CHQ, fqdn: mp.corp.example }",
        "discovery:",
        "  authorityUrl: https://127.0.0.1:9000",
        "  graphUrl: https://127.0.0.1:9000",
        "  deltaIntervalMs: 60000",
        "  tenants:",
        `    - { tenantId: ${TENANT}, clientId: ${APP}, clientSecretFromFile: secret.txt, cloud: AzureUSGovernmentCloud }`,
      ].join("\n"),
    );
    const options = await loadMpConfigFile(path);
    expect(options).toMatchObject({
      port: 8443,
      clientCertificate: { mode: "optional" },
      site: { siteCode: "CHQ" },
      discovery: {
        deltaIntervalMs: 60_000,
        tenants: [{ tenantId: TENANT, clientSecret: "from-file-secret", cloud: "AzureUSGovernmentCloud" }],
      },
    });
  });

  it("when a file has several problems, then one error lists all of them, unknown keys included", async () => {
    const err = await parseMpConfig(
      {
        port: 70_000,
        colour: "blue",
        discovery: {
          authorityUrl: "http://insecure",
          graphUrl: "https://g",
          tenants: [{ tenantId: "nope", clientId: APP, clientSecret: "a", clientSecretFromEnv: "B" }],
        },
      },
      "/",
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MpConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/\d+ problem/);
    for (const fragment of ["port", "colour", "authorityUrl", "tenantId", "exactly one of"])
      expect(message).toContain(fragment);
  });

  it("when a secret's environment variable is missing, then the error names it", async () => {
    const err = await parseMpConfig(
      {
        discovery: {
          authorityUrl: "https://a",
          graphUrl: "https://a",
          tenants: [{ tenantId: TENANT, clientId: APP, clientSecretFromEnv: "MP_TEST_MISSING_SECRET" }],
        },
      },
      "/",
      {},
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain("MP_TEST_MISSING_SECRET");
  });

  it("when stack.json describes the stack, then discovery covers every tenant with a server app secret", () => {
    const discovery = discoveryFromStack({
      entra: { url: "https://127.0.0.1:9100" },
      tenants: [
        { id: TENANT, name: "contoso", cloud: "AzurePublicCloud", serverApp: { clientId: APP, secret: "s" } },
        { id: "99999999-2222-4333-8444-555555555555", cloud: "AzureUSGovernmentCloud", serverApp: { clientId: APP } },
      ],
    });
    expect(discovery).toEqual({
      authorityUrl: "https://127.0.0.1:9100",
      graphUrl: "https://127.0.0.1:9100",
      tenants: [{ tenantId: TENANT, clientId: APP, clientSecret: "s", cloud: "AzurePublicCloud", name: "contoso" }],
    });
    expect(() => discoveryFromStack({ tenants: [] })).toThrow(MpConfigError);
  });
});
