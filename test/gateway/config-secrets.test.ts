import { describe, expect, it } from "vitest";
import { check, problems, warnings } from "./config-helpers.js";
import { cloudManagementService, TENANT_A } from "./fixtures.js";

function withSecret(secret: unknown, extra: Record<string, unknown> = {}) {
  const service = cloudManagementService(TENANT_A);
  return check({
    azureServices: [{ ...service, webApp: { ...(service.webApp as object), secret, ...extra } }],
    upstream: { url: "https://mp" },
  });
}

const secretOf = (result: ReturnType<typeof check>) =>
  result.ok ? result.config.azureServices[0]?.webApp.secret : undefined;

describe("secrets: exactly one of value / fromEnv / fromFile", () => {
  it("when given inline, then the value is used", () => {
    expect(secretOf(withSecret({ value: "inline" }))?.reveal()).toBe("inline");
  });

  it("when given fromEnv and the variable is set, then its value is used", () => {
    const secret = secretOf(withSecret({ fromEnv: "GW_SECRET" }));
    expect(secret?.reveal()).toBe("env-secret");
    expect(secret?.origin).toBe("fromEnv");
  });

  it("when fromEnv names a missing variable, then it is a problem", () => {
    expect(problems(withSecret({ fromEnv: "NOPE" })).join("\n")).toMatch(/environment variable NOPE is not set/);
  });

  it("when given fromFile, then the file's content without its final newline is used", () => {
    expect(secretOf(withSecret({ fromFile: "/etc/gw/secret.txt" }))?.reveal()).toBe("file-secret");
  });

  it("when fromFile is unreadable or empty, then it is a problem", () => {
    expect(problems(withSecret({ fromFile: "/etc/gw/none" })).join("\n")).toMatch(
      /cannot read file \/etc\/gw\/none \(ENOENT\)/,
    );
    expect(problems(withSecret({ fromFile: "/etc/gw/empty.txt" })).join("\n")).toMatch(/is empty/);
  });

  it("when none or two sources are given, then it is a problem", () => {
    expect(problems(withSecret({})).join("\n")).toMatch(/exactly one of value, fromEnv, fromFile \(found none\)/);
    expect(problems(withSecret({ value: "a", fromFile: "/etc/gw/secret.txt" })).join("\n")).toMatch(
      /found value, fromFile/,
    );
  });
});

describe("secret expiry (CM 2006+ notifications, imported apps too)", () => {
  it("when the secret expires within 30 days, then a warning", () => {
    expect(warnings(withSecret({ value: "x" }, { secretExpiry: "2025-02-01" })).join("\n")).toMatch(
      /expires on 2025-02-01/,
    );
  });

  it("when it has expired, then a warning that it expired", () => {
    expect(warnings(withSecret({ value: "x" }, { secretExpiry: "2024-12-01" })).join("\n")).toMatch(
      /expired on 2024-12-01/,
    );
  });

  it("when it is far away, then no warning and the timestamp is exposed", () => {
    const result = withSecret({ value: "x" }, { secretExpiry: "2026-06-01T00:00:00Z" });
    expect(warnings(result).join("\n")).not.toMatch(/expire/);
    expect(result.ok && result.config.azureServices[0]?.webApp.secretExpiresAtMs).toBe(Date.UTC(2026, 5, 1));
  });

  it("when the date is not ISO 8601, then it is a problem", () => {
    expect(problems(withSecret({ value: "x" }, { secretExpiry: "01/02/2026" })).length).toBe(1);
  });
});
