/**
 * Plugs the admin API into the services CLI's seam (`gateway-seam.ts`): with `ENTRA_GATEWAY_ADMIN_URL` set,
 * tenant flags go through `POST /tenants/{id}/disable|enable` (the gateway writes the file and every worker
 * applies it before the call returns) and written configurations through `POST /config/reload`. Without it,
 * or when no gateway answers (connection refused), the CLI edits the file and a running gateway picks it up
 * by its file watch. Any other answer — a refused admin key (401) above all — is an error, never a reason to
 * go around the gateway.
 *
 * Environment: `ENTRA_GATEWAY_ADMIN_URL` (e.g. `https://127.0.0.1:9444`), `ENTRA_GATEWAY_ADMIN_KEY` or
 * `ENTRA_GATEWAY_ADMIN_KEY_FILE` (default `.state/admin.key`), `ENTRA_GATEWAY_ADMIN_CA` (PEM file to trust
 * for the admin listener's certificate, e.g. `.state/tls/ca.crt`).
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import type { ApplyToRunningGateway, ServiceChange } from "./gateway-seam.js";

/** Environment variable names. */
export const ADMIN_ENV = {
  url: "ENTRA_GATEWAY_ADMIN_URL",
  key: "ENTRA_GATEWAY_ADMIN_KEY",
  keyFile: "ENTRA_GATEWAY_ADMIN_KEY_FILE",
  ca: "ENTRA_GATEWAY_ADMIN_CA",
} as const;

/** Connection errors that mean "no gateway is running there" (fall back to editing the file). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * The seam function for the environment, or undefined when no admin URL is set.
 *
 * @throws Error when the admin URL is set but the key (or CA file) cannot be read: a misconfiguration, not
 *   an absent gateway.
 */
export function adminApplyFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ApplyToRunningGateway | undefined {
  const url = env[ADMIN_ENV.url];
  if (url === undefined || url === "") return undefined;
  const key = (env[ADMIN_ENV.key] ?? readFileSync(env[ADMIN_ENV.keyFile] ?? ".state/admin.key", "utf8")).trim();
  const caFile = env[ADMIN_ENV.ca];
  const dispatcher = new Agent({ connect: caFile ? { ca: readFileSync(caFile, "utf8") } : {}, headersTimeout: 30_000 });
  const base = url.replace(/\/+$/, "");
  return async (change: ServiceChange) => {
    const path =
      change.kind === "tenantAuthentication"
        ? `/tenants/${encodeURIComponent(change.tenantId)}/${change.disabled ? "disable" : "enable"}`
        : "/config/reload";
    try {
      const res = await request(`${base}${path}`, {
        method: "POST",
        dispatcher,
        headers: { authorization: `Bearer ${key}` },
      });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return true;
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new Error(
          `the admin API at ${base} refused the admin key (HTTP ${res.statusCode}): check ${ADMIN_ENV.key} or ${ADMIN_ENV.keyFile} (the key in the gateway's state directory, admin.key); nothing was changed through it`,
        );
      }
      throw new Error(`admin API ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    } catch (err) {
      const code =
        (err as { code?: string; cause?: { code?: string } }).code ??
        (err as { cause?: { code?: string } }).cause?.code;
      if (code !== undefined && UNREACHABLE.has(code)) return false;
      throw err;
    }
  };
}
