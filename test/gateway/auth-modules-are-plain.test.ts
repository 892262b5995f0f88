import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith(".ts") ? [full] : [];
  });
}

describe("auth/ and config/ are plain functions over plain data", () => {
  it("when their sources are scanned, then none imports fastify or starts a server", () => {
    const files = [...sources("gateway/auth"), ...sources("gateway/config")];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toMatch(/from\s+["']fastify/);
      expect(text, file).not.toMatch(/\.listen\(|createServer\(/);
      // Key sets reach cluster workers through a seam (auth/keys/jwks-replica.ts), never through node:cluster here.
      expect(text, file).not.toMatch(/from\s+["'](node:)?(cluster|child_process)["']|process\.send\(/);
      expect(text, file).not.toMatch(/:\s*any\b|as any\b/);
    }
  });
});

describe("only the HTTP layer imports fastify (docs/architecture.md § Layout and dependencies)", () => {
  it("when every gateway source is scanned, then fastify is imported under gateway/http/ only", () => {
    const importers = sources("gateway").filter((file) => /from\s+["']fastify/.test(readFileSync(file, "utf8")));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((file) => !file.startsWith(join("gateway", "http")))).toEqual([]);
  });
});
