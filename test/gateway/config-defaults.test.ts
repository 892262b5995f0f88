import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { DEFAULT_ENVIRONMENTS } from "../../gateway/config/schema.js";
import { check } from "./config-helpers.js";
import { baseConfigInput, TENANT_A } from "./fixtures.js";

describe("configuration defaults", () => {
  it("when only the upstream is given, then every default of docs/configuration.md is filled in", () => {
    const result = check({ upstream: { url: "https://mp.contoso.local" } });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    const { auth, listen, upstream, routes, environments } = result.config;
    expect(auth).toMatchObject({
      realm: "entra-gateway",
      allowedAlgs: ["RS256"],
      maxTokenBytes: 16_384,
      clockSkewSec: 300,
      deviceTokenRequireClientApp: false,
      jwks: {
        refreshIntervalMs: 3_600_000,
        ttlMs: 86_400_000,
        unknownKidCooldownMs: 300_000,
        globalRefetchBudgetPerMinute: 30,
        fetchTimeoutMs: 5_000,
      },
      verifiedCache: { maxEntries: 50_000, maxBytes: 67_108_864 },
      negativeCache: { maxEntries: 10_000, ttlMs: 30_000 },
    });
    expect(listen).toMatchObject({ host: "0.0.0.0", port: 8443 });
    expect(upstream).toMatchObject({ url: "https://mp.contoso.local", connections: 128 });
    expect(routes.map((r) => r.prefix)).toContain("/CCM_STS");
    expect(environments.AzurePublicCloud).toMatchObject({ ...DEFAULT_ENVIRONMENTS.AzurePublicCloud, ca: undefined });
    expect(environments.AzureUSGovernmentCloud.authorityHost).toBe("login.microsoftonline.us");
    expect(result.warnings.join("\n")).toMatch(/no cloud management service/);
  });

  it("when a service omits optional fields, then environment, flags, description and origin take defaults", () => {
    const raw = baseConfigInput();
    const service = { ...(raw.azureServices as Record<string, unknown>[])[0] };
    delete service.environment;
    delete service.adminServiceManagement;
    delete service.disableAuthentication;
    const result = check({ ...raw, azureServices: [service] });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.azureServices[0]).toMatchObject({
      environment: "AzurePublicCloud",
      adminServiceManagement: false,
      disableAuthentication: false,
      description: "",
    });
  });

  it("when the result is returned, then it is deep-frozen", () => {
    const result = check(baseConfigInput());
    if (!result.ok) throw new Error(result.problems.join("\n"));
    const { config } = result;
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.azureServices[0]?.webApp)).toBe(true);
    expect(Object.isFrozen(config.auth.jwks)).toBe(true);
    expect(Object.isFrozen(config.routes[0])).toBe(true);
    expect(() => {
      (config.azureServices[0] as { disableAuthentication: boolean }).disableAuthentication = true;
    }).toThrow(TypeError);
  });

  it("when GUIDs are written in upper case, then they are normalised to Entra's lower case", () => {
    const raw = baseConfigInput();
    const service = (raw.azureServices as Record<string, unknown>[])[0]!;
    const upper = {
      ...service,
      tenant: { id: TENANT_A.id.toUpperCase(), name: "x" },
      webApp: { ...(service.webApp as object), clientId: TENANT_A.serverAppId.toUpperCase() },
    };
    const result = check({ ...raw, azureServices: [upper] });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.azureServices[0]?.tenant.id).toBe(TENANT_A.id);
    expect(result.config.azureServices[0]?.webApp.clientId).toBe(TENANT_A.serverAppId);
  });

  it("when the config is serialised or inspected, then no secret appears", () => {
    const result = check(baseConfigInput());
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(JSON.stringify(result.config)).not.toContain("s3cr3t-value");
    expect(inspect(result.config, { depth: 10 })).not.toContain("s3cr3t-value");
    expect(result.config.azureServices[0]?.webApp.secret.reveal()).toBe("s3cr3t-value");
  });
});
