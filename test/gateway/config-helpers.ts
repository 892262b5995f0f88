/** Helpers for the configuration tests: validate with a fake environment and file system. */
import { type ValidationResult, validateConfig } from "../../gateway/config/validate.js";

/** Fake files by path. */
export const FILES: Record<string, string> = {
  "/etc/gw/secret.txt": "file-secret\n",
  "/etc/gw/empty.txt": "",
  "/etc/gw/ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  "/etc/gw/not-pem.txt": "hello",
  "/etc/gw/client.pem": "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
  "/etc/gw/client.key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
};

/** Validates with `FILES` and `{ GW_SECRET: "env-secret" }`. */
export function check(raw: unknown, now = Date.UTC(2025, 0, 15)): ValidationResult {
  return validateConfig(raw, {
    env: { GW_SECRET: "env-secret" },
    readFile: (path) => {
      const text = FILES[path];
      if (text === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return text;
    },
    now: () => now,
  });
}

/** The problems of a result (empty when valid). */
export function problems(result: ValidationResult): readonly string[] {
  return result.ok ? [] : result.problems;
}

/** The warnings of a result. */
export function warnings(result: ValidationResult): readonly string[] {
  return result.warnings;
}
