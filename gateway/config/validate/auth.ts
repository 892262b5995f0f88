/** The `auth` section's rules that span fields (the schema bounds each field on its own). */
import type { AuthSettings } from "../schema.js";
import type { ValidationContext } from "./context.js";

/** Checks the key-refresh timings against each other and warns on a short token-lifetime bound. */
export function checkAuth(auth: AuthSettings, ctx: ValidationContext): void {
  if (auth.jwks.refreshIntervalMs > auth.jwks.ttlMs) {
    ctx.problem("auth.jwks.refreshIntervalMs", "must not exceed auth.jwks.ttlMs");
  }
  if (auth.maxTokenLifetimeSec < 3_600) {
    ctx.warn("auth.maxTokenLifetimeSec", "below 1 h: Entra issues tokens for 60–90 minutes, many will be refused");
  }
  if (auth.jwks.retryMinMs > auth.jwks.retryMaxMs) {
    ctx.problem("auth.jwks.retryMinMs", "must not exceed auth.jwks.retryMaxMs");
  }
}
