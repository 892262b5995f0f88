/**
 * The optional on-disk copy of each key set's last good JWKS (docs/architecture.md § Caches), so a gateway restarted during an
 * IdP outage still serves. One JSON file per key set, written atomically (temp file + rename) so a crash
 * mid-write never leaves a torn file. Only public keys are stored.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JwksDiskCache, JwksDiskRecord } from "./jwks-store.js";

function fileName(id: string): string {
  // Ids come from configuration (`{environment}/{tenant}/v{n}`); map anything else to `_` all the same.
  return `${id.replace(/[^A-Za-z0-9.-]/g, "_")}.json`;
}

/**
 * Creates a disk cache in `dir` (created on first write).
 *
 * @param dir directory for the copies (`auth.jwks.diskCacheDir`)
 */
export function createFileJwksDiskCache(dir: string): JwksDiskCache {
  return {
    async load(id: string): Promise<JwksDiskRecord | undefined> {
      let text: string;
      try {
        text = await readFile(join(dir, fileName(id)), "utf8");
      } catch {
        return undefined;
      }
      const value: unknown = JSON.parse(text);
      if (typeof value !== "object" || value === null) return undefined;
      const { url, fetchedAtMs, jwks } = value as Record<string, unknown>;
      if (typeof url !== "string" || typeof fetchedAtMs !== "number") return undefined;
      return { url, fetchedAtMs, jwks };
    },
    async save(id: string, record: JwksDiskRecord): Promise<void> {
      await mkdir(dir, { recursive: true });
      const target = join(dir, fileName(id));
      const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(temp, JSON.stringify(record), { mode: 0o644 });
      await rename(temp, target);
    },
  };
}
