/**
 * The one composer: a request's credentials in, a {@link Principal} (or a pass for anonymous / passthrough
 * routes) or a {@link Rejection} out (docs/architecture.md § Hot path). Steps, cheapest first:
 *
 * 0. route: unsafe path → `request_malformed`; no rule → `route_unknown`; anonymous/passthrough → pass;
 * 1. extract the bearer token;
 *    → verified-token cache (`verdict-cache.ts`, keyed by the SHA-256 of the whole token): on a hit, steps
 *      3–4, `exp` and the key's presence are re-checked, so a disabled tenant, a revoked key or an expired
 *      token take effect at once;
 *    → negative cache: a token recently refused after crypto is refused again without crypto;
 * 2. decode (untrusted); 3. tenant and issuer; 4. policy; 5. key; 6. signature; 7. claims.
 *
 * No network call is ever derived from token content: keys are fetched only from configured URLs of
 * registered tenants, and an unknown tenant is refused before any key look-up.
 */
import type { GatewayConfig, Route } from "../config/types.js";
import {
  type ClaimSettings,
  claimSettingsOf,
  classifyToken,
  keyIssuerMatches,
  matchIssuer,
  type Principal,
  type PrincipalKind,
  type TokenKind,
  type TokenService,
  tokenService,
  validateClaims,
} from "./claims.js";
import { type Clock, systemClock } from "./clock.js";
import { type DecodedToken, decodeToken, type JoseHeader, type JsonObject } from "./decode.js";
import { extractBearerToken, isToken68 } from "./extract.js";
import type { VerificationKey } from "./keys/jwk.js";
import { isKey, type JwksStore, type KeyLookup } from "./keys/jwks-store.js";
import { type CompiledRoute, checkGrant, checkPolicy, compileRoutes, isSafePath, matchRoute } from "./policy.js";
import { type Rejection, reject } from "./rejection.js";
import type { AuthResult, AuthSuccess } from "./result.js";
import { createTenantRegistry, isTenant, resolveTenant, type TenantEntry, type TenantRegistry } from "./tenants.js";
import {
  createVerdictCache,
  type TokenDigest,
  tokenDigest,
  type VerdictBasis,
  type VerifiedSlot,
} from "./verdict-cache.js";
import { isSupportedAlg, verifySignature } from "./verify.js";

/** What `authenticate` needs from an HTTP request. */
export interface AuthRequest {
  /** The request target as received: path plus optional `?query`. */
  readonly url: string;
  /** Every `Authorization` header value (see `CredentialSource.authorization`). */
  readonly authorization: string | readonly string[] | undefined;
  /** A buffered `application/x-www-form-urlencoded` body, if the HTTP layer has one. */
  readonly formBody?: string | undefined;
  /**
   * Told each step's outcome, in pipeline order (explain-token prints it). Absent on the hot path, where it
   * costs nothing: no event is built.
   */
  readonly trace?: AuthTrace | undefined;
}

/**
 * One step of {@link Authenticator.authenticate}, with what it looked at. `refused` is the step's
 * rejection, undefined when the step passed. Facts are untrusted token content until `signature`.
 */
export type AuthTraceEvent =
  | {
      readonly step: "route";
      readonly path: string;
      readonly route: Route | undefined;
      readonly refused: Rejection | undefined;
    }
  | { readonly step: "extract"; readonly token: string | undefined; readonly refused: Rejection | undefined }
  | { readonly step: "cache"; readonly hit: "verified" | "negative"; readonly refused: Rejection | undefined }
  | {
      readonly step: "decode";
      readonly header: JoseHeader | undefined;
      /** Which check refused the token: for operators only, never in the HTTP answer. */
      readonly detail: string | undefined;
      readonly refused: Rejection | undefined;
    }
  | {
      readonly step: "tenant";
      readonly payload: JsonObject;
      readonly tenant: TenantEntry | undefined;
      readonly refused: Rejection | undefined;
    }
  | {
      readonly step: "policy";
      readonly tenant: TenantEntry;
      readonly route: Route;
      readonly kind: TokenKind;
      readonly service: TokenService | undefined;
      readonly refused: Rejection | undefined;
    }
  | {
      readonly step: "issuer";
      readonly tenant: TenantEntry;
      readonly iss: unknown;
      readonly version: 1 | 2 | undefined;
      readonly refused: Rejection | undefined;
    }
  | {
      readonly step: "keys";
      readonly tenant: TenantEntry;
      readonly setId: string;
      readonly header: JoseHeader;
      readonly lookup: KeyLookup;
      readonly refused: Rejection | undefined;
    }
  | { readonly step: "signature"; readonly header: JoseHeader; readonly refused: Rejection | undefined }
  | {
      readonly step: "claims";
      readonly payload: JsonObject;
      readonly version: 1 | 2;
      readonly key: VerificationKey;
      readonly principal: Principal | undefined;
      readonly refused: Rejection | undefined;
    }
  | {
      readonly step: "grant";
      readonly route: Route;
      readonly principal: Principal;
      readonly refused: Rejection | undefined;
    };

/** Receives {@link AuthTraceEvent}s. */
export type AuthTrace = (event: AuthTraceEvent) => void;

/** Cache and pipeline counters, for metrics. Monotonic. */
export interface AuthCounters {
  verifiedHits: number;
  verifiedMisses: number;
  negativeHits: number;
  signatureChecks: number;
}

/** Entries (and bytes) held by the verdict caches. */
export interface CacheSizes {
  readonly verifiedEntries: number;
  readonly verifiedBytes: number;
  readonly negativeEntries: number;
}

/** The authentication pipeline bound to a configuration and a key store. */
export interface Authenticator {
  /**
   * Authenticates one request. Synchronous when no key fetch is needed (the common case); a promise when
   * the token's key set is being fetched.
   */
  authenticate(request: AuthRequest): AuthResult | Promise<AuthResult>;
  /**
   * Swaps in a new configuration atomically (hot reload, admin flag flips). Key sets are synced (new tenants
   * fetched); cached verdicts survive but are re-checked against the new tenants on their next use.
   * Cache sizes are fixed at creation.
   */
  setConfig(config: GatewayConfig): void;
  /** The configuration in force. */
  readonly config: GatewayConfig;
  /** The tenants in force. */
  readonly tenants: TenantRegistry;
  readonly keys: JwksStore;
  readonly counters: Readonly<AuthCounters>;
  /** Current sizes of the verified and negative caches, for gauges. */
  cacheSizes(): CacheSizes;
  /** Drops every cached verdict (both caches). */
  clearCaches(): void;
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  readonly config: GatewayConfig;
  /** The JWKS cache; the authenticator registers the tenants' key sets with it. */
  readonly keys: JwksStore;
  readonly clock?: Clock;
  /**
   * Called once per newly verified token (not on cached hits) with `now - iat` in seconds: clock-skew
   * telemetry. Not called when the token has no numeric `iat`.
   */
  readonly onVerified?: (tenantId: string, issuedAgoSec: number) => void;
}

interface Snapshot {
  readonly config: GatewayConfig;
  readonly registry: TenantRegistry;
  readonly routes: readonly CompiledRoute[];
  readonly passes: ReadonlyMap<CompiledRoute, AuthSuccess>;
  readonly allowedAlgs: ReadonlySet<string>;
  readonly maxTokenBytes: number;
  readonly claimSettings: ClaimSettings;
  /** Settings a verdict depends on besides the tenant; a cached verdict made under others is re-verified. */
  readonly verdictSettings: string;
  readonly generation: number;
}

/** Step 2 with the trace told what decode found (apart, so the untraced path captures nothing). */
function decodeTraced(token: string, allowedAlgs: ReadonlySet<string>, trace: AuthTrace): DecodedToken | Rejection {
  let detail: string | undefined;
  const decoded = decodeToken(token, allowedAlgs, (why) => {
    detail = why;
  });
  if ("header" in decoded) trace({ step: "decode", header: decoded.header, detail: undefined, refused: undefined });
  else trace({ step: "decode", header: undefined, detail, refused: decoded });
  return decoded;
}

const REQUEST_MALFORMED = Object.freeze(reject("request_malformed"));
const ROUTE_UNKNOWN = Object.freeze(reject("route_unknown"));

/**
 * Creates the authenticator and registers the configuration's key sets with `keys` (which starts their
 * boot fetch). Throws on programmer mistakes (missing store, bad config object); never for bad input.
 *
 * @param options configuration, key store, clock
 * @example
 * const keys = createJwksStore({ fetcher, settings: config.auth.jwks });
 * const auth = createAuthenticator({ config, keys });
 * const result = await auth.authenticate({ url: req.url, authorization: req.headers.authorization });
 * if (!result.ok) { const { status, headers } = rejectionResponse(result, config.auth.realm); … }
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { keys } = options;
  if (keys === undefined || typeof keys.lookupKey !== "function") {
    throw new TypeError("createAuthenticator: keys must be a JwksStore");
  }
  const clock = options.clock ?? systemClock;
  let generation = 0;

  const buildSnapshot = (config: GatewayConfig): Snapshot => {
    if (config === undefined || !Array.isArray(config.azureServices) || config.auth === undefined) {
      throw new TypeError("createAuthenticator: config must be a validated GatewayConfig");
    }
    for (const alg of config.auth.allowedAlgs) {
      if (!isSupportedAlg(alg)) throw new TypeError(`createAuthenticator: unsupported alg ${alg}`);
    }
    const routes = compileRoutes(config.routes);
    const passes = new Map<CompiledRoute, AuthSuccess>();
    for (const route of routes) {
      if (route.requirement === "anonymous" || route.requirement === "passthrough") {
        passes.set(route, Object.freeze({ ok: true as const, route, principal: undefined }));
      }
    }
    generation += 1;
    return {
      config,
      registry: createTenantRegistry(config),
      routes,
      passes,
      allowedAlgs: new Set(config.auth.allowedAlgs),
      maxTokenBytes: config.auth.maxTokenBytes,
      claimSettings: claimSettingsOf(config),
      verdictSettings: JSON.stringify([
        config.auth.allowedAlgs,
        config.auth.deviceTokenRequireClientApp,
        config.auth.maxTokenLifetimeSec,
      ]),
      generation,
    };
  };

  let snapshot = buildSnapshot(options.config);
  keys.sync(snapshot.registry.keySets);

  const cache = createVerdictCache({
    verified: options.config.auth.verifiedCache,
    negative: options.config.auth.negativeCache,
    clock,
  });
  const counters: AuthCounters = { verifiedHits: 0, verifiedMisses: 0, negativeHits: 0, signatureChecks: 0 };

  // One basis object per key, tenant and snapshot settings, shared by every verdict reached under them.
  const bases = new WeakMap<VerificationKey, Map<string, VerdictBasis>>();
  const basisOf = (snap: Snapshot, tenant: TenantEntry, setId: string, key: VerificationKey): VerdictBasis => {
    let byTenant = bases.get(key);
    if (byTenant === undefined) {
      byTenant = new Map();
      bases.set(key, byTenant);
    }
    const known = byTenant.get(tenant.tenantId);
    if (
      known !== undefined &&
      known.fingerprint === tenant.fingerprint &&
      known.verdictSettings === snap.verdictSettings &&
      known.setId === setId
    ) {
      return known;
    }
    const basis: VerdictBasis = {
      tenantId: tenant.tenantId,
      fingerprint: tenant.fingerprint,
      verdictSettings: snap.verdictSettings,
      setId,
      key,
    };
    byTenant.set(tenant.tenantId, basis);
    return basis;
  };

  /** Steps 6–7 once the key is known. */
  const finish = (
    snap: Snapshot,
    token: string,
    key: TokenDigest,
    signingInputLength: number,
    payload: Readonly<Record<string, unknown>>,
    tenant: TenantEntry,
    setId: string,
    version: 1 | 2,
    kind: PrincipalKind,
    route: CompiledRoute,
    header: JoseHeader,
    trace: AuthTrace | undefined,
    lookup: KeyLookup,
  ): AuthResult => {
    const alg = header.alg;
    if (!isKey(lookup)) {
      const refused = reject(lookup.reason, tenant.challenge, lookup.retryAfterSec);
      trace?.({ step: "keys", tenant, setId, header, lookup, refused });
      return refused;
    }
    // A JWK that names its algorithm may only verify that algorithm (RFC 7517 §4.4).
    if (lookup.alg !== undefined && lookup.alg !== alg) {
      const refused = reject("key_not_found", tenant.challenge);
      trace?.({ step: "keys", tenant, setId, header, lookup, refused });
      return refused;
    }
    trace?.({ step: "keys", tenant, setId, header, lookup, refused: undefined });
    counters.signatureChecks += 1;
    if (!isSupportedAlg(alg) || !verifySignature(token, signingInputLength, alg, lookup.key)) {
      const refused = cache.rememberRefusal(key, reject("signature_invalid", tenant.challenge), snap.generation);
      trace?.({ step: "signature", header, refused });
      return refused;
    }
    trace?.({ step: "signature", header, refused: undefined });
    const iss = payload.iss as string; // a string: checked by resolveTenant
    if (!keyIssuerMatches(lookup, tenant.tenantId, iss)) {
      const refused = reject("issuer_invalid", tenant.challenge);
      trace?.({ step: "claims", payload, version, key: lookup, principal: undefined, refused });
      return refused;
    }
    const nowMs = clock.now();
    const principal = validateClaims(payload, tenant, version, kind, nowMs / 1000, snap.claimSettings);
    trace?.({
      step: "claims",
      payload,
      version,
      key: lookup,
      principal: "kind" in principal ? principal : undefined,
      refused: "kind" in principal ? undefined : principal,
    });
    if (!("kind" in principal)) {
      const nbf = payload.nbf;
      const ttl =
        principal.reason === "token_not_yet_valid" && typeof nbf === "number"
          ? (nbf - snap.claimSettings.clockSkewSec) * 1000 - nowMs
          : undefined;
      return cache.rememberRefusal(key, principal, snap.generation, ttl);
    }
    const success: AuthSuccess = { ok: true, route, principal };
    if (options.onVerified !== undefined && typeof payload.iat === "number") {
      options.onVerified(tenant.tenantId, nowMs / 1000 - payload.iat);
    }
    // Entry lifetime ≤ exp (docs/architecture.md § Caches): after exp the token goes through the full pipeline again.
    cache.setVerified(key, principal, basisOf(snap, tenant, setId, lookup), principal.expiresAtSec * 1000);
    // The route's own grant (extra client apps, scope): judged after the verdict is cached, as on every hit.
    const refusedGrant = checkGrant(tenant, route, principal);
    trace?.({ step: "grant", route, principal, refused: refusedGrant });
    return refusedGrant ?? success;
  };

  /** The full pipeline for a token with no usable cached verdict. */
  const verifyToken = (
    snap: Snapshot,
    token: string,
    key: TokenDigest,
    route: CompiledRoute,
    path: string,
    trace: AuthTrace | undefined,
  ): AuthResult | Promise<AuthResult> => {
    const decoded =
      trace === undefined ? decodeToken(token, snap.allowedAlgs) : decodeTraced(token, snap.allowedAlgs, trace);
    if (!("header" in decoded)) return decoded;
    const { header, payload, signingInputLength } = decoded;

    const resolved = resolveTenant(snap.registry, payload);
    if (!isTenant(resolved)) {
      trace?.({ step: "tenant", payload, tenant: undefined, refused: resolved });
      return resolved;
    }
    trace?.({ step: "tenant", payload, tenant: resolved, refused: undefined });

    const kind = classifyToken(payload);
    const service = tokenService(resolved, payload.aud);
    const refused = checkPolicy(resolved, route, kind, path, service);
    trace?.({ step: "policy", tenant: resolved, route, kind, service, refused });
    if (refused !== undefined) return refused;
    // Policy allowed the kind, so it is a principal kind (app/unknown are allowed nowhere).
    const principalKind = kind as PrincipalKind;

    // The issuer picks the key set (v1 or v2); checked before any key look-up.
    const version = matchIssuer(resolved, payload.iss);
    if (version === undefined) {
      const wrongIssuer = reject("issuer_invalid", resolved.challenge);
      trace?.({ step: "issuer", tenant: resolved, iss: payload.iss, version, refused: wrongIssuer });
      return wrongIssuer;
    }
    trace?.({ step: "issuer", tenant: resolved, iss: payload.iss, version, refused: undefined });
    const setId = version === 1 ? resolved.keySetV1.id : resolved.keySetV2.id;

    const lookup = keys.lookupKey(setId, header.kid);
    const done = (found: KeyLookup): AuthResult =>
      finish(
        snap,
        token,
        key,
        signingInputLength,
        payload,
        resolved,
        setId,
        version,
        principalKind,
        route,
        header,
        trace,
        found,
      );
    return lookup instanceof Promise ? lookup.then(done) : done(lookup);
  };

  const authenticate = (request: AuthRequest): AuthResult | Promise<AuthResult> => {
    const snap = snapshot;
    const url = request.url;
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const trace = request.trace;
    if (!isSafePath(path)) {
      trace?.({ step: "route", path, route: undefined, refused: REQUEST_MALFORMED });
      return REQUEST_MALFORMED;
    }
    const route = matchRoute(snap.routes, path);
    if (route === undefined) {
      trace?.({ step: "route", path, route: undefined, refused: ROUTE_UNKNOWN });
      return ROUTE_UNKNOWN;
    }
    trace?.({ step: "route", path, route, refused: undefined });
    const pass = snap.passes.get(route);
    if (pass !== undefined) return pass;

    const token = extractBearerToken(
      {
        authorization: request.authorization,
        query: q === -1 ? undefined : url.slice(q + 1),
        formBody: request.formBody,
      },
      snap.maxTokenBytes,
    );
    if (typeof token !== "string") {
      trace?.({ step: "extract", token: undefined, refused: token });
      return token;
    }
    const key = tokenDigest(token);
    const cached = cache.findVerified(key);
    // The token's characters are checked unless it is a cached verified token (which passed this check).
    if ((cached === undefined || trace !== undefined) && !isToken68(token)) {
      trace?.({ step: "extract", token: undefined, refused: REQUEST_MALFORMED });
      return REQUEST_MALFORMED;
    }
    trace?.({ step: "extract", token, refused: undefined });

    if (cached !== undefined) {
      const answer = answerFromCache(snap, cached, route, path);
      if (answer !== undefined) {
        counters.verifiedHits += 1;
        trace?.({ step: "cache", hit: "verified", refused: answer.ok ? undefined : answer });
        return answer;
      }
    }
    counters.verifiedMisses += 1;
    const refused = cache.getNegative(key, snap.generation);
    if (refused !== undefined) {
      counters.negativeHits += 1;
      trace?.({ step: "cache", hit: "negative", refused });
      return refused;
    }
    return verifyToken(snap, token, key, route, path, trace);
  };

  /**
   * A cached verdict, re-checked: tenant still registered with the same verification inputs, policy, exp,
   * key still published. Undefined means "verify again".
   */
  const answerFromCache = (
    snap: Snapshot,
    slot: VerifiedSlot,
    route: CompiledRoute,
    path: string,
  ): AuthResult | undefined => {
    const basis = cache.basisAt(slot);
    const tenant = snap.registry.get(basis.tenantId);
    if (
      tenant === undefined ||
      tenant.fingerprint !== basis.fingerprint ||
      basis.verdictSettings !== snap.verdictSettings
    ) {
      cache.deleteVerified(slot);
      return undefined;
    }
    const principal = cache.principalAt(slot);
    const refused =
      checkPolicy(tenant, route, principal.kind, path, principal.service) ?? checkGrant(tenant, route, principal);
    if (refused !== undefined) return refused;
    if (clock.now() >= cache.expiresAt(slot)) {
      cache.deleteVerified(slot);
      return undefined;
    }
    const current = keys.currentKey(basis.setId, basis.key.kid);
    if (current !== basis.key) {
      if (!isKey(current) && current.reason === "keys_unavailable") {
        return reject("keys_unavailable", tenant.challenge, current.retryAfterSec);
      }
      // Revoked (or replaced under the same kid): the verdict dies with its key.
      cache.deleteVerified(slot);
      return undefined;
    }
    const last = cache.lastSuccessAt(slot);
    if (last !== undefined && last.route === route) return last;
    const success: AuthSuccess = { ok: true, route, principal };
    cache.rememberSuccess(slot, success);
    return success;
  };

  return {
    authenticate,
    setConfig(config: GatewayConfig): void {
      const next = buildSnapshot(config);
      keys.sync(next.registry.keySets);
      snapshot = next;
    },
    get config() {
      return snapshot.config;
    },
    get tenants() {
      return snapshot.registry;
    },
    keys,
    counters,
    cacheSizes: (): CacheSizes => cache.sizes(),
    clearCaches: (): void => cache.clear(),
  };
}
