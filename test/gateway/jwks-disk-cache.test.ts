import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { createFileJwksDiskCache } from "../../gateway/auth/keys/disk-cache.js";
import { createHarness, FakeClock, outcome, TENANT_A } from "./fixtures.js";

describe("JWKS on-disk copy", () => {
  it("when the gateway restarts during an IdP outage, then the copy on disk still validates tokens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jwks-"));
    const first = await createHarness({ diskCache: createFileJwksDiskCache(dir) });
    const jsonFiles = () => readdirSync(dir).filter((f) => f.endsWith(".json"));
    await vi.waitFor(() => expect(jsonFiles().length).toBe(8)); // 4 tenants × v1/v2, written in the background
    first.keys.close();
    const files = jsonFiles();
    const stored = readFileSync(join(dir, files[0]!), "utf8");
    expect(stored).not.toMatch(/"d":/); // public keys only

    const clock = new FakeClock(first.clock.now() + 60_000);
    const restarted = await createHarness({ diskCache: createFileJwksDiskCache(dir), idpDown: true, clock });
    const status = restarted.keys.statuses().find((s) => s.tenantId === TENANT_A.id && s.version === 1);
    expect(status).toMatchObject({ state: "stale", keyCount: 1 });
    expect(outcome(await restarted.check(restarted.tokens().GoodToken))).toBe("ok");
    expect(restarted.events.some((e) => e.reason === "disk")).toBe(true);
  });

  it("when there is no copy and the IdP is down, then the tenant is unavailable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jwks-"));
    const h = await createHarness({ diskCache: createFileJwksDiskCache(dir), idpDown: true });
    expect(outcome(await h.check(h.tokens().GoodToken))).toBe("keys_unavailable");
  });
});
