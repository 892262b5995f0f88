/**
 * The global budget for unknown-`kid` refreshes (docs/architecture.md § Caches): a token bucket holding at most `perMinute`
 * tokens, refilled continuously. Per-tenant cooldowns stop one tenant's flood from fetching more than once
 * per cooldown; this bucket stops many tenants' floods together from hammering the IdP. Background and
 * boot refreshes never draw from it, so a legitimate rotation refresh cannot be starved by a flood.
 */

/** A token bucket over an injected time source. */
export interface RefetchBudget {
  /** Takes one token if available. */
  tryTake(nowMs: number): boolean;
  /** Tokens left (fractional), for status pages. */
  available(nowMs: number): number;
}

/**
 * Creates a bucket that starts full.
 *
 * @param perMinute capacity and refill per minute (> 0)
 * @param nowMs the current time
 */
export function createRefetchBudget(perMinute: number, nowMs: number): RefetchBudget {
  if (!(perMinute > 0)) throw new RangeError(`perMinute must be > 0, got ${perMinute}`);
  let tokens = perMinute;
  let last = nowMs;
  const refill = (now: number): void => {
    if (now > last) {
      tokens = Math.min(perMinute, tokens + ((now - last) * perMinute) / 60_000);
      last = now;
    }
  };
  return {
    tryTake(now: number): boolean {
      refill(now);
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    available(now: number): number {
      refill(now);
      return tokens;
    },
  };
}
