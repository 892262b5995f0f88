/** The `admin` section: the admin API's listener and key. */
import type { ParsedConfig } from "../schema.js";
import type { Admin } from "../types.js";
import type { ValidationContext } from "./context.js";
import { resolveSecret } from "./secrets.js";

/** The shortest admin key accepted (characters). */
export const MIN_ADMIN_KEY_LENGTH = 32;

/** Resolves the admin listener and its key (at least {@link MIN_ADMIN_KEY_LENGTH} characters). */
export function resolveAdmin(admin: ParsedConfig["admin"], ctx: ValidationContext): Admin {
  const key = admin.key === undefined ? undefined : resolveSecret(admin.key, "admin.key", ctx);
  if (key !== undefined && key.reveal().length < MIN_ADMIN_KEY_LENGTH) {
    ctx.problem("admin.key", `must be at least ${MIN_ADMIN_KEY_LENGTH} characters`);
  }
  if (admin.enabled && !isLoopbackHost(admin.host)) {
    ctx.warn("admin.host", `the admin API listens on ${admin.host}, not loopback: restrict who can reach it`);
  }
  return { enabled: admin.enabled, host: admin.host, port: admin.port, key };
}

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
