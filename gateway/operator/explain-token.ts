/**
 * `entra-gateway explain-token`: "why was this client refused?" Walks a token through the gateway's
 * pipeline one step at a time (docs/architecture.md § Hot path: route, extract, decode, tenant, policy, issuer, keys, signature,
 * claims), saying what each step found, then gives the verdict of the real authenticator — the same code the
 * gateway runs — with the HTTP answer it maps to. Keys are fetched from the configured JWKS URLs, exactly as
 * the gateway would. The token itself is never printed: only its SHA-256 fingerprint.
 */
import { type AuthResult, createAuthenticator } from "../auth/authenticate.js";
import { classifyToken, keyIssuerMatches, matchIssuer, validateClaims } from "../auth/claims.js";
import type { Clock } from "../auth/clock.js";
import { decodeToken } from "../auth/decode.js";
import { extractBearerToken } from "../auth/extract.js";
import { createHttpJwksFetcher } from "../auth/keys/http-fetcher.js";
import { createJwksStore, isKey, type JwksFetcher } from "../auth/keys/jwks-store.js";
import { checkPolicy, compileRoutes, isSafePath, matchRoute } from "../auth/policy.js";
import { type RejectionReason, rejectionResponse } from "../auth/rejection.js";
import { isTenant, resolveTenant } from "../auth/tenants.js";
import { isSupportedAlg, verifySignature } from "../auth/verify.js";
import type { GatewayConfig } from "../config/validate.js";
import { tokenFingerprint } from "../observability/logger.js";

/** One step of the walk. `skipped`: an earlier step already decided. */
export interface ExplainStep {
  readonly step: string;
  readonly result: "ok" | "failed" | "skipped";
  readonly detail: string;
}

/** The verdict, as the gateway would answer. */
export type ExplainVerdict =
  | { readonly accepted: true; readonly detail: string }
  | {
      readonly accepted: false;
      readonly reason: RejectionReason;
      readonly status: number;
      readonly wwwAuthenticate: string | undefined;
    };

/** What {@link explainToken} found. */
export interface Explanation {
  readonly path: string;
  readonly fingerprint: string | undefined;
  readonly steps: readonly ExplainStep[];
  readonly verdict: ExplainVerdict;
}

/** Options of {@link explainToken}. */
export interface ExplainOptions {
  readonly config: GatewayConfig;
  /** The request path (and query) the client called; default `/CCM_STS`. */
  readonly path?: string;
  /** The token as the client sent it (without `Bearer `); empty or undefined: no token. */
  readonly token: string | undefined;
  /** Replaces the HTTPS JWKS fetcher (tests). */
  readonly fetcher?: JwksFetcher;
  readonly clock?: Clock;
}

function describeAge(seconds: number): string {
  const abs = Math.abs(Math.round(seconds));
  const text =
    abs >= 3600 ? `${Math.round(abs / 360) / 10} h` : abs >= 60 ? `${Math.round(abs / 6) / 10} min` : `${abs} s`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/**
 * Explains what the gateway decides for `token` on `path` under `config`.
 *
 * @param options configuration, path, token
 * @example
 * const e = await explainToken({ config, path: "/CCM_STS", token });
 * process.stdout.write(formatExplanation(e));
 */
export async function explainToken(options: ExplainOptions): Promise<Explanation> {
  const { config } = options;
  const url = options.path ?? "/CCM_STS";
  const token = options.token?.trim() || undefined;
  const clock = options.clock;
  const nowMs = clock?.now() ?? Date.now();
  const http = options.fetcher
    ? undefined
    : createHttpJwksFetcher(config.environments, config.auth.jwks.fetchTimeoutMs);
  const fetcher = options.fetcher ?? http!.fetch;
  // Only the boot fetch: no background refresh or retries during a one-shot explanation.
  const keys = createJwksStore({ fetcher, settings: config.auth.jwks, ...(clock ? { clock } : {}) });
  const authenticator = createAuthenticator({ config, keys, ...(clock ? { clock } : {}) });
  const steps: ExplainStep[] = [];
  const add = (step: string, ok: boolean, detail: string) => steps.push({ step, result: ok ? "ok" : "failed", detail });
  try {
    await keys.whenSettled();
    walk(url, token);
    const authorization = token === undefined ? undefined : `Bearer ${token}`;
    const pending = authenticator.authenticate({ url, authorization });
    const result: AuthResult = pending instanceof Promise ? await pending : pending;
    return { path: url, fingerprint: token && tokenFingerprint(token), steps, verdict: verdictOf(result) };
  } finally {
    keys.close();
    await http?.close();
  }

  function verdictOf(result: AuthResult): ExplainVerdict {
    if (result.ok) {
      const p = result.principal;
      return {
        accepted: true,
        detail:
          p === undefined
            ? `route ${result.route.prefix} is ${result.route.requirement}: no token needed, proxied to the management point`
            : `${p.kind} token of tenant ${p.tenantId}, object ${p.objectId}${p.deviceId ? `, device ${p.deviceId}` : ""}, proxied to the management point`,
      };
    }
    const answer = rejectionResponse(result, config.auth.realm);
    return {
      accepted: false,
      reason: result.reason,
      status: answer.status,
      wwwAuthenticate: answer.headers["www-authenticate"],
    };
  }

  function walk(target: string, bearer: string | undefined): void {
    const q = target.indexOf("?");
    const path = q === -1 ? target : target.slice(0, q);
    if (!isSafePath(path)) {
      add("route", false, `${path} is not a plain path (encoded separators, dot segments): request_malformed`);
      return;
    }
    const route = matchRoute(compileRoutes(config.routes), path);
    if (route === undefined) {
      add("route", false, `no route rule matches ${path}: route_unknown (404)`);
      return;
    }
    add(
      "route",
      true,
      `${path} matches ${route.prefix}: requires ${route.requirement}; Authorization ${route.forwardAuthorization ? "forwarded" : "not forwarded"}`,
    );
    if (route.requirement === "anonymous" || route.requirement === "passthrough") {
      add("extract", true, `not checked: ${route.requirement} route`);
      return;
    }
    const extracted = extractBearerToken(
      {
        authorization: bearer === undefined ? undefined : `Bearer ${bearer}`,
        query: q === -1 ? undefined : target.slice(q + 1),
      },
      config.auth.maxTokenBytes,
    );
    if (typeof extracted !== "string") {
      add("extract", false, `${extracted.reason}${bearer === undefined ? " (no token on stdin)" : ""}`);
      return;
    }
    add("extract", true, `bearer token, ${extracted.length} bytes, fingerprint ${tokenFingerprint(extracted)}`);
    const decoded = decodeToken(extracted, new Set(config.auth.allowedAlgs));
    if (!("header" in decoded)) {
      add("decode", false, `${decoded.reason}: allowed algorithms ${config.auth.allowedAlgs.join(", ")}`);
      return;
    }
    const { header, payload } = decoded;
    add(
      "decode",
      true,
      `alg ${header.alg}, kid ${header.kid}${typeof header.typ === "string" ? `, typ ${header.typ}` : ""}`,
    );
    const tenant = resolveTenant(authenticator.tenants, payload);
    if (!isTenant(tenant)) {
      add("tenant", false, `${tenant.reason}: tid ${JSON.stringify(payload.tid)}, iss ${JSON.stringify(payload.iss)}`);
      return;
    }
    add(
      "tenant",
      true,
      `${tenant.tenantId} → ${tenant.serviceName} (${tenant.environment})${tenant.disabled ? ", Entra authentication DISABLED" : ""}${tenant.adminServiceManagement ? ", Administration Service Management on" : ""}`,
    );
    const kind = classifyToken(payload);
    const refused = checkPolicy(tenant, route, kind, path);
    if (refused !== undefined) {
      add("policy", false, `${refused.reason}: ${kind} token, route requires ${route.requirement}`);
      return;
    }
    add("policy", true, `${kind} token allowed on a ${route.requirement} route`);
    const version = matchIssuer(tenant, payload.iss);
    if (version === undefined) {
      add(
        "issuer",
        false,
        `issuer_invalid: ${JSON.stringify(payload.iss)} is neither ${tenant.issuerV1} nor ${tenant.issuerV2}`,
      );
      return;
    }
    add("issuer", true, `${String(payload.iss)} (v${version} token)`);
    const set = version === 1 ? tenant.keySetV1 : tenant.keySetV2;
    const status = keys.statuses().find((s) => s.id === set.id);
    const lookup = keys.currentKey(set.id, header.kid);
    const stateText = status
      ? `key set ${set.url}: ${status.state}, ${status.keyCount} key(s)${status.lastError ? `, last error: ${status.lastError}` : ""}`
      : `key set ${set.url}: not loaded`;
    if (!isKey(lookup)) {
      add("keys", false, `${lookup.reason}: kid ${header.kid} not served; ${stateText}`);
      return;
    }
    if (lookup.alg !== undefined && lookup.alg !== header.alg) {
      add("keys", false, `key_not_found: key ${header.kid} is for ${lookup.alg}, token says ${header.alg}`);
      return;
    }
    add("keys", true, `kid ${header.kid} found (${lookup.modulusBits}-bit); ${stateText}`);
    if (
      !isSupportedAlg(header.alg) ||
      !verifySignature(extracted, decoded.signingInputLength, header.alg, lookup.key)
    ) {
      add("signature", false, `signature_invalid: the signature does not verify with key ${header.kid}`);
      return;
    }
    add("signature", true, `${header.alg} signature verifies with key ${header.kid}`);
    if (!keyIssuerMatches(lookup, tenant.tenantId, String(payload.iss))) {
      add("claims", false, `issuer_invalid: the key is bound to issuer ${lookup.issuer}`);
      return;
    }
    const claims = validateClaims(
      payload,
      tenant,
      version,
      kind === "app" || kind === "unknown" ? "user" : kind,
      nowMs / 1000,
      {
        clockSkewSec: config.auth.clockSkewSec,
        deviceTokenRequireClientApp: config.auth.deviceTokenRequireClientApp,
      },
    );
    const client = version === 1 ? payload.appid : payload.azp;
    const exp = typeof payload.exp === "number" ? `exp ${describeAge(payload.exp - nowMs / 1000)}` : "no exp";
    const nbf = typeof payload.nbf === "number" ? `, nbf ${describeAge(payload.nbf - nowMs / 1000)}` : "";
    const summary = `aud ${JSON.stringify(payload.aud)}, ${version === 1 ? "appid" : "azp"} ${JSON.stringify(client)}, ${exp}${nbf} (skew ${config.auth.clockSkewSec} s)`;
    if (!("kind" in claims)) {
      add("claims", false, `${claims.reason}: ${summary}`);
      return;
    }
    add("claims", true, summary);
  }
}

/**
 * Renders an explanation as text, one line per step, then the verdict.
 *
 * @param e from {@link explainToken}
 */
export function formatExplanation(e: Explanation): string {
  const lines = [`token ${e.fingerprint === undefined ? "(none)" : `sha256:${e.fingerprint}`} on ${e.path}`];
  e.steps.forEach((s, i) => {
    lines.push(`${String(i + 1).padStart(2)}. ${s.step.padEnd(10)} ${s.result.padEnd(7)} ${s.detail}`);
  });
  const v = e.verdict;
  if (v.accepted) lines.push(`verdict: accepted — ${v.detail}`);
  else {
    lines.push(`verdict: rejected ${v.reason} (HTTP ${v.status})`);
    if (v.wwwAuthenticate !== undefined) lines.push(`  WWW-Authenticate: ${v.wwwAuthenticate}`);
  }
  return `${lines.join("\n")}\n`;
}
