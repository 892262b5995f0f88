/**
 * The console's "recent refusals": a bounded ring of the last requests the gateway refused, fed from the
 * proxy route's outcomes (`onOutcome`). It holds what the log line holds — time, reason, tenant, route and the
 * token's fingerprint (`observability/logger.ts`, `tokenFingerprint`) — never a token.
 */
import type { RequestOutcome } from "../http/proxy-route.js";

/** One refused request. */
export interface Refusal {
  /** Unix milliseconds. */
  readonly at: number;
  readonly reason: string;
  readonly tenantId: string | undefined;
  /** The request path (no query), cut to {@link MAX_ROUTE_CHARS}. */
  readonly route: string;
  /** The first 12 hex digits of the token's SHA-256, when a bearer token was sent. */
  readonly tokenFp: string | undefined;
  readonly status: number;
}

/** Refusals a ring keeps (and a cluster's merged list). */
export const REFUSALS_KEPT = 100;

/** A route longer than this is cut (a path is client bytes). */
export const MAX_ROUTE_CHARS = 160;

/** The ring. */
export interface RefusalRing {
  /** Records `outcome` when it is a refusal; anything else is ignored. Cheap: called for every request. */
  record(outcome: RequestOutcome): void;
  /** The refusals held, newest first. */
  list(): readonly Refusal[];
}

/**
 * Creates a ring of at most `capacity` refusals (the oldest one goes when it is full).
 *
 * @param capacity how many refusals are kept
 * @param now the clock (tests)
 * @example
 * const refusals = createRefusalRing();
 * startGateway({ config, onOutcome: (o) => refusals.record(o) });
 */
export function createRefusalRing(capacity = REFUSALS_KEPT, now: () => number = Date.now): RefusalRing {
  const slots: (Refusal | undefined)[] = new Array(capacity).fill(undefined);
  let next = 0;
  return {
    record(o) {
      if (o.outcome !== "rejected") return;
      slots[next] = {
        at: now(),
        reason: o.reason ?? "unknown",
        tenantId: o.tenantId,
        route: (o.path ?? "").slice(0, MAX_ROUTE_CHARS),
        tokenFp: o.tokenFp,
        status: o.status,
      };
      next = (next + 1) % capacity;
    },
    list() {
      const out: Refusal[] = [];
      for (let i = 1; i <= capacity; i++) {
        const r = slots[(next - i + capacity) % capacity];
        if (r === undefined) break;
        out.push(r);
      }
      return out;
    },
  };
}

/**
 * The refusals of several rings (a cluster's workers) as one list, newest first, at most `capacity` of them.
 *
 * @param lists one list per ring, each newest first
 * @param capacity how many are kept
 */
export function mergeRefusals(lists: readonly (readonly Refusal[])[], capacity = REFUSALS_KEPT): Refusal[] {
  return lists
    .flat()
    .sort((a, b) => b.at - a.at)
    .slice(0, capacity);
}
