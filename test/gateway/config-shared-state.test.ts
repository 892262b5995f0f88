/**
 * `sharedState` (docs/configuration.md § `sharedState`): a Redis URL that is safe to log (no password in it),
 * the password as a secret of its own, a bounded key prefix; absent, the state directory serves.
 */
import { describe, expect, it } from "vitest";
import { check, problems } from "./config-helpers.js";
import { cloudManagementService, TENANT_A } from "./fixtures.js";

function withShared(sharedState: unknown) {
  return check({ azureServices: [cloudManagementService(TENANT_A)], upstream: { url: "https://mp" }, sharedState });
}

describe("sharedState", () => {
  it("when absent, then the configuration has none (the state directory holds the runtime state)", () => {
    const result = check({ azureServices: [cloudManagementService(TENANT_A)], upstream: { url: "https://mp" } });
    expect(result.ok && result.config.sharedState).toBeUndefined();
  });

  it("when a Redis URL and a password file are given, then both resolve and the prefix defaults", () => {
    const result = withShared({
      redisUrl: "rediss://redis.internal:6380/2",
      password: { fromFile: "/etc/gw/secret.txt" },
    });
    expect(problems(result)).toEqual([]);
    const shared = result.ok ? result.config.sharedState : undefined;
    expect(shared?.redisUrl).toBe("rediss://redis.internal:6380/2");
    expect(shared?.password?.reveal()).toBe("file-secret");
    expect(shared?.keyPrefix).toBe("entra-gateway:");
  });

  it("when the URL carries a password, then it is a problem whose message does not repeat it", () => {
    const text = problems(withShared({ redisUrl: "redis://user:hunter2@redis.internal:6379" })).join("\n");
    expect(text).toMatch(/sharedState\.redisUrl: must not carry a password: give it as sharedState\.password/);
    expect(text).not.toContain("hunter2");
  });

  it("when the URL is not a Redis URL, then each mistake is named", () => {
    expect(problems(withShared({ redisUrl: "redis.internal:6379" })).join("\n")).toMatch(
      /must be redis:\/\/ or rediss:\/\//,
    );
    expect(problems(withShared({ redisUrl: "http://redis.internal" })).join("\n")).toMatch(/not http:/);
    expect(problems(withShared({ redisUrl: "not a url" })).join("\n")).toMatch(/must be a URL/);
    expect(problems(withShared({ redisUrl: "redis://redis.internal/cache" })).join("\n")).toMatch(/database number/);
  });

  it("when the key prefix or a key is wrong, then it is a problem", () => {
    expect(problems(withShared({ redisUrl: "redis://r", keyPrefix: "has space" })).join("\n")).toMatch(
      /sharedState\.keyPrefix/,
    );
    expect(problems(withShared({ redisUrl: "redis://r", pasword: { value: "x" } })).join("\n")).toMatch(/pasword/);
    expect(problems(withShared({ redisUrl: "redis://r", password: { fromEnv: "NOPE" } })).join("\n")).toMatch(
      /sharedState\.password: environment variable NOPE is not set/,
    );
  });
});
