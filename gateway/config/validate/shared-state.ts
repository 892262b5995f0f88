/** The `sharedState` section: the Redis URL (safe to log: no password in it) and its password secret. */
import type { ParsedSharedState } from "../schema.js";
import type { SharedState } from "../types.js";
import type { ValidationContext } from "./context.js";
import { resolveSecret } from "./secrets.js";

/**
 * Resolves `sharedState`: a `redis:`/`rediss:` URL with a host, at most a database number as its path, and no
 * password in it (it would be logged and shown; the password is a secret of its own), and the password.
 */
export function resolveSharedState(shared: ParsedSharedState, ctx: ValidationContext): SharedState | undefined {
  const where = "sharedState.redisUrl";
  let url: URL | undefined;
  try {
    url = new URL(shared.redisUrl);
  } catch {
    ctx.problem(where, "must be a URL: redis://host:port[/db] or rediss://host:port[/db]");
  }
  if (url !== undefined) {
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      ctx.problem(where, `must be redis:// or rediss:// (TLS), not ${url.protocol}//`);
    } else if (url.hostname === "") {
      ctx.problem(where, "has no host");
    } else if (url.password !== "") {
      // Not echoed: the message must not carry the password either.
      ctx.problem(where, "must not carry a password: give it as sharedState.password (value, fromEnv or fromFile)");
    } else if (!/^(\/(\d{1,2})?)?$/.test(url.pathname)) {
      ctx.problem(where, "path must be a database number (/0 … /99) or nothing");
    }
  }
  const password =
    shared.password === undefined ? undefined : resolveSecret(shared.password, "sharedState.password", ctx);
  return url === undefined ? undefined : { redisUrl: shared.redisUrl, password, keyPrefix: shared.keyPrefix };
}
