/**
 * The scenarios: which server each one loads, which path, which credentials, and which answers count as
 * correct. Names are part of the `--json` interface (docs/architecture.md § Interfaces).
 */
import type { TokenSource } from "./load.js";
import type { ScenarioGroup } from "./report.js";

/** The processes a scenario can load. */
export type TargetName =
  | "mp"
  | "bare"
  | "gateway"
  | "gateway-noauth"
  | "express"
  | "fastify"
  | "fastify-nocache"
  | "haproxy";

/** Token workloads. */
export type Workload = "warm" | "cold" | "mixed" | "garbage" | "forged" | "unknown-kid";

/** One scenario. */
export interface Scenario {
  readonly name: string;
  readonly group: ScenarioGroup;
  readonly target: TargetName;
  readonly workload: Workload;
  /** `small`: `GET /SMS_MP/.sms_aut?MPLIST` (≈ 0.6 KB); `large`: a content download. */
  readonly body: "small" | "large";
  readonly expected: readonly number[];
  /** What the row measures (README and `--help`). */
  readonly description: string;
}

/** The small-body request, identical for every server. */
export const SMALL_PATH = "/SMS_MP/.sms_aut?MPLIST";
/** Size of the `content` download. */
export const CONTENT_BYTES = 8 * 1_048_576;
/** The large-body request (`/CCM_Client/` content of the MP simulator). */
export const LARGE_PATH = `/CCM_Client/bench/content.bin?size=${CONTENT_BYTES}`;
/** Parallel downloads in the content scenarios. */
export const CONTENT_CONNECTIONS = 4;

/** Every scenario, in table order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "direct",
    group: "baseline",
    target: "mp",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "the client straight to the MP simulator over HTTPS, no proxy (the ceiling)",
  },
  {
    name: "bare-proxy",
    group: "baseline",
    target: "bare",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "the bare proxy (= 1.0): fastify + an undici pool, no auth, answers streamed back",
  },
  {
    name: "proxy-noauth",
    group: "baseline",
    target: "gateway-noauth",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "the gateway with every path `passthrough`: its own proxy path, pool and upstream, no auth",
  },
  {
    name: "warm",
    group: "gateway",
    target: "gateway",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "1000 valid tokens reused: verified-token cache hits (tenant, policy and exp still checked)",
  },
  {
    name: "cold",
    group: "gateway",
    target: "gateway",
    workload: "cold",
    body: "small",
    expected: [200],
    description: "every request a distinct, never-seen valid token: RS256 signature and claims every time",
  },
  {
    name: "mixed-tenants",
    group: "gateway",
    target: "gateway",
    workload: "mixed",
    body: "small",
    expected: [200],
    description: "user, device and user+device tokens, v1 and v2, of every seeded tenant with principals",
  },
  {
    name: "reject-garbage",
    group: "gateway",
    target: "gateway",
    workload: "garbage",
    body: "small",
    expected: [400, 401],
    description: "malformed credentials (segments, base64url, JSON, alg none/HS256, no kid, crit): 401",
  },
  {
    name: "reject-forged",
    group: "gateway",
    target: "gateway",
    workload: "forged",
    body: "small",
    expected: [401],
    description: "valid shape and claims, real kid, random signature, distinct each time: RSA verify fails",
  },
  {
    name: "unknown-kid-flood",
    group: "gateway",
    target: "gateway",
    workload: "unknown-kid",
    body: "small",
    expected: [401],
    description: "a random kid every request: at most one JWKS refetch per key set per cooldown",
  },
  {
    name: "express-warm",
    group: "peer",
    target: "express",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "express + express-jwt + jwks-rsa + http-proxy-middleware, the warm pool (no token cache)",
  },
  {
    name: "express-cold",
    group: "peer",
    target: "express",
    workload: "cold",
    body: "small",
    expected: [200],
    description: "the express stack, distinct never-seen tokens",
  },
  {
    name: "fastify-warm",
    group: "peer",
    target: "fastify",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "fastify + @fastify/jwt (fast-jwt cache on) + get-jwks + @fastify/reply-from, warm pool",
  },
  {
    name: "fastify-cold",
    group: "peer",
    target: "fastify",
    workload: "cold",
    body: "small",
    expected: [200],
    description: "the fastify stack with its cache on, distinct never-seen tokens",
  },
  {
    name: "fastify-nocache-warm",
    group: "peer",
    target: "fastify-nocache",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "the fastify stack with fast-jwt's cache off, warm pool",
  },
  {
    name: "fastify-nocache-cold",
    group: "peer",
    target: "fastify-nocache",
    workload: "cold",
    body: "small",
    expected: [200],
    description: "the fastify stack with fast-jwt's cache off, distinct tokens",
  },
  {
    name: "haproxy-warm",
    group: "reference",
    target: "haproxy",
    workload: "warm",
    body: "small",
    expected: [200],
    description: "optional: Debian's HAProxy, jwt_verify RS256 (one static key) on every request, warm pool",
  },
  {
    name: "haproxy-cold",
    group: "reference",
    target: "haproxy",
    workload: "cold",
    body: "small",
    expected: [200],
    description: "optional: HAProxy, distinct tokens (it has no token cache: the same work as warm)",
  },
  {
    name: "content",
    group: "content",
    target: "gateway",
    workload: "warm",
    body: "large",
    expected: [200],
    description: `${CONTENT_CONNECTIONS} parallel ${CONTENT_BYTES / 1_048_576} MiB downloads through the gateway (MB/s)`,
  },
  {
    name: "content-direct",
    group: "content",
    target: "mp",
    workload: "warm",
    body: "large",
    expected: [200],
    description: "the same downloads straight from the MP simulator (MB/s)",
  },
];

/** Token sources of one run, by workload. */
export type TokenSources = (workload: Workload, target: TargetName) => TokenSource;
