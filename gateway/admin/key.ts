/**
 * The admin key: from `admin.key` in the configuration, or generated into the state directory (`admin.key`,
 * mode 0600) when the configuration has none. Compared in constant time; logged only as a fingerprint.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MIN_ADMIN_KEY_LENGTH } from "../config/validate/admin.js";

/**
 * The generated key of `stateDir`, created on first use.
 *
 * @param stateDir where `admin.key` lives
 * @returns the key and the file it is in
 */
export async function ensureAdminKeyFile(stateDir: string): Promise<{ readonly key: string; readonly file: string }> {
  const file = join(stateDir, "admin.key");
  const existing = await readFile(file, "utf8").then(
    (t) => t.trim(),
    () => undefined,
  );
  if (existing !== undefined && existing.length >= MIN_ADMIN_KEY_LENGTH) return { key: existing, file };
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString("base64url");
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return { key, file };
}

/** A short SHA-256 fingerprint of a key, for audit lines ("who"). */
export function keyFingerprint(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

/**
 * Creates a constant-time checker for `Authorization: Bearer {key}`.
 *
 * @param key the admin key
 * @returns a function telling whether a presented header value carries the key
 */
export function createAdminKeyCheck(key: string): (authorization: string | undefined) => boolean {
  // Comparing digests keeps the comparison constant-time whatever the presented length.
  const expected = createHash("sha256").update(key).digest();
  return (authorization) => {
    if (authorization === undefined || !/^bearer /i.test(authorization)) return false;
    const presented = createHash("sha256").update(authorization.slice(7).trim()).digest();
    return timingSafeEqual(presented, expected);
  };
}
