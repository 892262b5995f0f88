/**
 * What did the management point serve, to whom? One entry per request (time, method, path, identity,
 * TLS peer, status, outcome) and one per TLS connection refused at the handshake, kept in bounded rings with
 * counters that never wrap, so a test can prove that nothing unauthenticated reached the MP.
 */
import type { EntraIdentity, PeerInfo } from "./identity.js";

/**
 * How a request ended: `served` (2xx/3xx), `rejected` (4xx from a trusted peer: bad input, bad CCM token…),
 * `refused` (the peer was not trusted, or sent no identity where one is needed), `error` (5xx).
 */
export type AuditOutcome = "served" | "rejected" | "refused" | "error";

/** One request the MP answered. */
export interface AuditEntry {
  /** Monotonic sequence number (1-based), usable as a cursor. */
  readonly seq: number;
  /** ISO-8601 time the response was finished. */
  readonly time: string;
  readonly method: string;
  readonly path: string;
  /** The raw query string without `?`, if any. */
  readonly query?: string;
  readonly status: number;
  readonly outcome: AuditOutcome;
  /** Error code of a non-2xx answer (see `errors.ts`). */
  readonly reason?: string;
  /** The identity the MP believed (from a trusted peer's headers). */
  readonly identity?: EntraIdentity;
  /** `x-entra-*` headers came from an untrusted peer and were ignored. */
  readonly identityHeadersIgnored?: boolean;
  /**
   * Identity-style headers other than the gateway's `x-entra-*` that reached the MP (`X-Original-URL`,
   * `X-ARR-ClientCert`, `x-ms-client-principal*`…): a front end must never let a client's copies through.
   */
  readonly foreignIdentityHeaders?: readonly string[];
  /** Who the CCM token presented to `ccm_system_tokenauth` named, if it was valid. */
  readonly ccmSubject?: { readonly tenantId: string; readonly kind: string; readonly subject: string };
  readonly peer: PeerInfo;
  /** Body bytes received (uploads). */
  readonly bytesIn?: number;
  readonly durationMs: number;
}

/** A TLS connection refused during the handshake (e.g. no client certificate). */
export interface RefusedConnection {
  readonly time: string;
  readonly remoteAddress: string;
  readonly code: string;
  readonly message: string;
}

/** Filter of {@link Audit.entries}. */
export interface AuditFilter {
  /** Only entries with `seq` greater than this. */
  readonly since?: number;
  readonly outcome?: AuditOutcome;
  /** Only paths starting with this prefix (case-insensitive). */
  readonly pathPrefix?: string;
  /** At most this many, the most recent ones. */
  readonly limit?: number;
}

/** Totals since start (not bounded by the rings). */
export interface AuditCounts {
  readonly requests: number;
  readonly served: number;
  readonly rejected: number;
  readonly refused: number;
  readonly errors: number;
  readonly refusedConnections: number;
  /** Requests believed to carry a gateway-validated identity. */
  readonly withIdentity: number;
}

/** The audit log. */
export interface Audit {
  record(entry: Omit<AuditEntry, "seq" | "time">): AuditEntry;
  refuseConnection(entry: Omit<RefusedConnection, "time">): void;
  entries(filter?: AuditFilter): AuditEntry[];
  refusedConnections(): RefusedConnection[];
  counts(): AuditCounts;
}

/** Creates an audit keeping at most `capacity` entries of each kind (default 10 000). */
export function createAudit(options: { capacity?: number; now?: () => number } = {}): Audit {
  const capacity = options.capacity ?? 10_000;
  const now = options.now ?? Date.now;
  const ring: AuditEntry[] = [];
  const refused: RefusedConnection[] = [];
  let seq = 0;
  const counts = { requests: 0, served: 0, rejected: 0, refused: 0, errors: 0, refusedConnections: 0, withIdentity: 0 };
  const outcomeKey = { served: "served", rejected: "rejected", refused: "refused", error: "errors" } as const;
  return {
    record(partial) {
      seq += 1;
      const entry: AuditEntry = { seq, time: new Date(now()).toISOString(), ...partial };
      ring.push(entry);
      if (ring.length > capacity) ring.shift();
      counts.requests += 1;
      counts[outcomeKey[entry.outcome]] += 1;
      if (entry.identity) counts.withIdentity += 1;
      return entry;
    },
    refuseConnection(partial) {
      refused.push({ time: new Date(now()).toISOString(), ...partial });
      if (refused.length > capacity) refused.shift();
      counts.refusedConnections += 1;
    },
    entries(filter = {}) {
      const prefix = filter.pathPrefix?.toLowerCase();
      const out = ring.filter(
        (e) =>
          (filter.since === undefined || e.seq > filter.since) &&
          (filter.outcome === undefined || e.outcome === filter.outcome) &&
          (prefix === undefined || e.path.toLowerCase().startsWith(prefix)),
      );
      return filter.limit !== undefined ? out.slice(Math.max(0, out.length - filter.limit)) : out;
    },
    refusedConnections: () => [...refused],
    counts: () => ({ ...counts }),
  };
}

/** The outcome of a finished request with `status`, from a peer that was or was not trusted. */
export function outcomeOf(status: number, reason: string | undefined): AuditOutcome {
  if (status >= 500) return "error";
  if (status < 400) return "served";
  if (
    reason === "client_certificate_required" ||
    reason === "client_certificate_not_allowed" ||
    reason === "identity_missing"
  ) {
    return "refused";
  }
  return "rejected";
}
