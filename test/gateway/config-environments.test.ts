import { describe, expect, it } from "vitest";
import { check, problems } from "./config-helpers.js";
import { baseConfigInput } from "./fixtures.js";

const withEnv = (override: Record<string, unknown>) =>
  check({ ...baseConfigInput(), environments: { AzurePublicCloud: override } });

describe("environments: overridable authority and templates", () => {
  it("when the authority host is overridden (the emulator), then unset templates still use {authority}", () => {
    const result = withEnv({ authorityHost: "127.0.0.1:8443", caFile: "/etc/gw/ca.pem" });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.environments.AzurePublicCloud).toMatchObject({
      authorityHost: "127.0.0.1:8443",
      jwksV2: "https://{authority}/{tenantid}/discovery/v2.0/keys",
      ca: expect.stringContaining("BEGIN CERTIFICATE"),
    });
    expect(result.config.environments.AzureUSGovernmentCloud.authorityHost).toBe("login.microsoftonline.us");
  });

  it("when an issuer template lacks {tenantid} or does not put it first in the path, then it is a problem", () => {
    expect(problems(withEnv({ issuerV1: "https://sts.windows.net/" })).join("\n")).toMatch(
      /must contain the \{tenantid\}/,
    );
    expect(problems(withEnv({ issuerV2: "https://{authority}/x/{tenantid}/v2.0" })).join("\n")).toMatch(
      /first path segment/,
    );
  });

  it("when a template is not https or has an unknown placeholder, then it is a problem", () => {
    expect(problems(withEnv({ jwksV1: "http://{authority}/{tenantid}/discovery/keys" })).join("\n")).toMatch(
      /https URL/,
    );
    expect(problems(withEnv({ jwksV2: "https://{host}/{tenantid}/keys" })).join("\n")).toMatch(/unknown placeholder/);
  });

  it("when the authority host is not a host[:port], then it is a problem", () => {
    expect(problems(withEnv({ authorityHost: "https://login.example" })).join("\n")).toMatch(/authorityHost/);
  });

  it("when both ca and caFile, an unreadable caFile or non-PEM CA is given, then it is a problem", () => {
    expect(problems(withEnv({ ca: "x", caFile: "/etc/gw/ca.pem" })).join("\n")).toMatch(/not both/);
    expect(problems(withEnv({ caFile: "/etc/gw/missing.pem" })).join("\n")).toMatch(/cannot read file/);
    expect(problems(withEnv({ caFile: "/etc/gw/not-pem.txt" })).join("\n")).toMatch(/must be PEM/);
  });
});

describe("upstream and listener files", () => {
  it("when the client certificate is given without its key, then it is a problem", () => {
    const result = check({
      ...baseConfigInput(),
      upstream: { url: "https://mp", clientCertFile: "/etc/gw/client.pem" },
    });
    expect(problems(result).join("\n")).toMatch(/both clientCertFile and clientKeyFile/);
  });

  it("when CA, client certificate and key are given, then they are read (the key as a secret)", () => {
    const result = check({
      ...baseConfigInput(),
      upstream: {
        url: "https://mp",
        caFile: "/etc/gw/ca.pem",
        clientCertFile: "/etc/gw/client.pem",
        clientKeyFile: "/etc/gw/client.key",
      },
      listen: { certFile: "/etc/gw/client.pem", keyFile: "/etc/gw/client.key", port: 9443 },
    });
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.upstream.ca).toContain("BEGIN CERTIFICATE");
    expect(result.config.upstream.clientKey?.reveal()).toContain("PRIVATE KEY");
    expect(JSON.stringify(result.config.listen)).not.toContain("PRIVATE KEY");
  });

  it("when the upstream is plain http, then a warning", () => {
    expect(check({ ...baseConfigInput(), upstream: { url: "http://mp" } }).warnings.join("\n")).toMatch(/plain http/);
  });
});

describe("auth settings cross-checks", () => {
  it("when refreshIntervalMs exceeds ttlMs or retryMinMs exceeds retryMaxMs, then it is a problem", () => {
    const result = check({
      ...baseConfigInput(),
      auth: { jwks: { refreshIntervalMs: 90_000_000, retryMinMs: 10, retryMaxMs: 5 } },
    });
    expect(problems(result)).toEqual(
      expect.arrayContaining([
        "auth.jwks.refreshIntervalMs: must not exceed auth.jwks.ttlMs",
        "auth.jwks.retryMinMs: must not exceed auth.jwks.retryMaxMs",
      ]),
    );
  });

  it("when allowedAlgs names an unsupported algorithm or repeats one, then it is a problem", () => {
    expect(problems(check({ ...baseConfigInput(), auth: { allowedAlgs: ["HS256"] } })).length).toBe(1);
    expect(problems(check({ ...baseConfigInput(), auth: { allowedAlgs: ["RS256", "RS256"] } })).length).toBe(1);
    expect(problems(check({ ...baseConfigInput(), auth: { allowedAlgs: [] } })).length).toBe(1);
  });
});
