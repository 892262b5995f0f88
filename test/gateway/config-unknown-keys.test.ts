import { describe, expect, it } from "vitest";
import { check, problems } from "./config-helpers.js";
import { baseConfigInput } from "./fixtures.js";

describe("configuration: unknown keys refused", () => {
  it("when a top-level key is unknown, then it is a problem", () => {
    expect(problems(check({ ...baseConfigInput(), tenants: [] }))).toContain("tenants: unknown key");
  });

  it("when a nested key is misspelt (disableAuthentification), then it is a problem naming the path", () => {
    const raw = baseConfigInput();
    const services = raw.azureServices as Record<string, unknown>[];
    services[0] = { ...services[0], disableAuthentification: true };
    expect(problems(check(raw))).toContain(
      "azureServices[0].disableAuthentification: unknown key (did you mean disableAuthentication?)",
    );
  });

  it("when keys are unknown in auth, jwks, routes, upstream, listen, environments and secrets, then each is listed", () => {
    const raw = {
      ...baseConfigInput(),
      auth: { skew: 1, jwks: { refreshMs: 1 } },
      routes: [{ prefix: "/x", requirement: "user", methods: ["GET"] }],
      upstream: { url: "https://mp", ca: "x" },
      listen: { tls: true },
      environments: { AzurePublicCloud: { graphHost: "x" }, AzureChinaCloud: {} },
    };
    const services = raw.azureServices as Record<string, unknown>[];
    services[0] = {
      ...services[0],
      webApp: { ...(services[0]?.webApp as object), secret: { value: "x", vault: "y" } },
    };
    expect(problems(check(raw))).toEqual(
      expect.arrayContaining([
        "auth.skew: unknown key",
        "auth.jwks.refreshMs: unknown key",
        "routes[0].methods: unknown key",
        "upstream.ca: unknown key",
        "listen.tls: unknown key",
        "environments.AzurePublicCloud.graphHost: unknown key",
        "environments.AzureChinaCloud: unknown key",
        "azureServices[0].webApp.secret.vault: unknown key",
      ]),
    );
  });
});
