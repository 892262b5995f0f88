/**
 * "Why was this client refused?" — the walk behind `entra-gateway explain-token` and the analyzer's stage 6. Says how the gateway reads the request
 * target — the CMG form `/CCM_Proxy_ServerAuth/{id}/…` or `/CCM_Proxy_MutualAuth/{id}/…` and the management
 * point it names —, then runs the real authenticator — the same code the gateway runs — with a trace
 * (`AuthRequest.trace`) and puts each step it reports (route, extract, decode, tenant, policy, issuer, keys,
 * signature, claims, grant) into words. The pipeline order is written once, in `auth/authenticate.ts`
 * (docs/architecture.md § Hot path). The verdict comes with the HTTP answer it maps to. Keys are fetched from
 * the configured JWKS URLs, exactly as the gateway would. The token itself is never printed: only its
 * SHA-256 fingerprint.
 */
import { type AuthTraceEvent, createAuthenticator } from "../auth/authenticate.js";
import type { Clock } from "../auth/clock.js";
import { createHttpJwksFetcher } from "../auth/keys/http-fetcher.js";
import { createJwksStore, isKey, type JwksFetcher } from "../auth/keys/jwks-store.js";
import { type RejectionReason, reject, rejectionResponse } from "../auth/rejection.js";
import type { AuthResult } from "../auth/result.js";
import type { GatewayConfig } from "../config/types.js";
import { aadAuthInfo, tenantIdParam } from "../http/aad-auth-info.js";
import { managementPointUrl, parseRequestTarget } from "../http/cmg-path.js";
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
    const fingerprint = token && tokenFingerprint(token);
    // The same target parsing as the proxy route: CMG forms are judged on their inner path.
    const target = parseRequestTarget(url);
    let inner = url;
    if (target.kind === "aadAuthInfo") {
      const info = aadAuthInfo(config, tenantIdParam(target.query));
      add(
        "target",
        info !== undefined,
        info === undefined
          ? "AADAuthInfo (anonymous, answered by the gateway): tenant not onboarded, or its Entra authentication is off (404)"
          : `AADAuthInfo (anonymous, answered by the gateway): client app ${info.ClientAppId}, resource ${info.ResourceUri}`,
      );
      const verdict: ExplainVerdict =
        info === undefined
          ? { accepted: false, reason: "route_unknown", status: 404, wwwAuthenticate: undefined }
          : { accepted: true, detail: "AADAuthInfo answered by the gateway, no token needed" };
      return { path: url, fingerprint, steps, verdict };
    }
    if (target.kind === "badId") {
      add("target", false, "a CMG prefix without a decimal MP/site ID and an inner path: route_unknown (404)");
      return { path: url, fingerprint, steps, verdict: verdictOf(reject("route_unknown")) };
    }
    if (target.kind === "cmg") {
      const origin = managementPointUrl(config, target.mpId);
      if (origin === undefined) {
        add(
          "target",
          false,
          `CMG ${target.channel} path for MP/site ID ${target.mpId}, which is not in managementPoints: management_point_unknown (404), nothing forwarded`,
        );
        return { path: url, fingerprint, steps, verdict: verdictOf(reject("management_point_unknown")) };
      }
      add(
        "target",
        true,
        `CMG ${target.channel} path, MP/site ID ${target.mpId} → ${origin}; route rules apply to the inner path ${target.url}, which goes upstream`,
      );
      inner = target.url;
    } else {
      add("target", true, `management point path (no CMG prefix) → ${config.upstream.url}`);
    }
    const authorization = token === undefined ? undefined : `Bearer ${token}`;
    const trace = (event: AuthTraceEvent) => describe(event, token);
    const pending = authenticator.authenticate({ url: inner, authorization, trace });
    const result: AuthResult = pending instanceof Promise ? await pending : pending;
    return { path: url, fingerprint, steps, verdict: verdictOf(result) };
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

  /** Words for one step of the authenticator's own trace: the pipeline order lives in authenticate.ts only. */
  function describe(event: AuthTraceEvent, bearer: string | undefined): void {
    const failed = event.refused !== undefined;
    const reason = event.refused?.reason;
    switch (event.step) {
      case "route": {
        const route = event.route;
        if (route === undefined) {
          add(
            "route",
            false,
            reason === "request_malformed"
              ? `${event.path} is not a plain path (encoded separators, dot segments): request_malformed`
              : `no route rule matches ${event.path}: route_unknown (404)`,
          );
          return;
        }
        add(
          "route",
          true,
          `${event.path} matches ${route.prefix}: requires ${route.requirement}; Authorization ${route.forwardAuthorization ? "forwarded" : "not forwarded"}`,
        );
        if (route.requirement === "anonymous" || route.requirement === "passthrough") {
          add("extract", true, `not checked: ${route.requirement} route`);
        }
        return;
      }
      case "extract":
        if (event.token === undefined) {
          add("extract", false, `${reason}${bearer === undefined ? " (no token on stdin)" : ""}`);
        } else {
          add(
            "extract",
            true,
            `bearer token, ${event.token.length} bytes, fingerprint ${tokenFingerprint(event.token)}`,
          );
        }
        return;
      case "cache":
        add("cache", !failed, `${event.hit} cache hit${reason === undefined ? "" : `: ${reason}`}`);
        return;
      case "decode": {
        const header = event.header;
        if (header === undefined) {
          add(
            "decode",
            false,
            `${reason}: ${event.detail ?? `allowed algorithms ${config.auth.allowedAlgs.join(", ")}`}`,
          );
          return;
        }
        add(
          "decode",
          true,
          `alg ${header.alg}, kid ${header.kid}${typeof header.typ === "string" ? `, typ ${header.typ}` : ""}`,
        );
        return;
      }
      case "tenant": {
        const tenant = event.tenant;
        if (tenant === undefined) {
          const { payload } = event;
          add("tenant", false, `${reason}: tid ${JSON.stringify(payload.tid)}, iss ${JSON.stringify(payload.iss)}`);
          return;
        }
        add(
          "tenant",
          true,
          `${tenant.tenantId} → ${tenant.serviceName} (${tenant.environment})${tenant.disabled ? ", Entra authentication DISABLED" : ""}${tenant.adminServiceManagement ? ", Administration Service Management on" : ""}`,
        );
        return;
      }
      case "policy": {
        const { route, kind, service } = event;
        const serviceText = service === undefined ? "audience of no service" : `${service} token`;
        add(
          "policy",
          !failed,
          failed
            ? `${reason}: ${kind} token (${serviceText}), route requires ${route.requirement}${route.allowAppOnly ? " (app-only allowed)" : ""}`
            : `${kind} token (${serviceText}) allowed on a ${route.requirement} route`,
        );
        return;
      }
      case "issuer": {
        const { tenant, iss, version } = event;
        add(
          "issuer",
          !failed,
          version === undefined
            ? `issuer_invalid: ${JSON.stringify(iss)} is none of ${[...tenant.issuersV1, ...tenant.issuersV2].join(", ")}`
            : `${String(iss)} (v${version} token)`,
        );
        return;
      }
      case "keys": {
        const { tenant, setId, header, lookup } = event;
        const set = tenant.keySetV1.id === setId ? tenant.keySetV1 : tenant.keySetV2;
        const status = keys.statuses().find((s) => s.id === setId);
        const stateText = status
          ? `key set ${set.url}: ${status.state}, ${status.keyCount} key(s)${status.lastError ? `, last error: ${status.lastError}` : ""}`
          : `key set ${set.url}: not loaded`;
        if (!isKey(lookup)) add("keys", false, `${lookup.reason}: kid ${header.kid} not served; ${stateText}`);
        else if (failed) {
          add("keys", false, `${reason}: key ${header.kid} is for ${lookup.alg}, token says ${header.alg}`);
        } else add("keys", true, `kid ${header.kid} found (${lookup.modulusBits}-bit); ${stateText}`);
        return;
      }
      case "signature": {
        const { header } = event;
        add(
          "signature",
          !failed,
          failed
            ? `${reason}: the signature does not verify with key ${header.kid}`
            : `${header.alg} signature verifies with key ${header.kid}`,
        );
        return;
      }
      case "claims": {
        const { payload, version } = event;
        if (event.principal === undefined && reason === "issuer_invalid") {
          add("claims", false, `issuer_invalid: the key is bound to issuer ${event.key.issuer}`);
          return;
        }
        const client = version === 1 ? payload.appid : payload.azp;
        const exp = typeof payload.exp === "number" ? `exp ${describeAge(payload.exp - nowMs / 1000)}` : "no exp";
        const nbf = typeof payload.nbf === "number" ? `, nbf ${describeAge(payload.nbf - nowMs / 1000)}` : "";
        const iat =
          typeof payload.iat === "number" ? `, iat ${describeAge(payload.iat - nowMs / 1000)}` : ", no numeric iat";
        const lifetime =
          typeof payload.iat === "number" && typeof payload.exp === "number"
            ? `, lifetime ${describeAge(payload.exp - payload.iat).replace(/^in /, "")} (max ${config.auth.maxTokenLifetimeSec} s)`
            : "";
        const summary = `aud ${JSON.stringify(payload.aud)}, ${version === 1 ? "appid" : "azp"} ${JSON.stringify(client)}, ${exp}${nbf}${iat}${lifetime} (skew ${config.auth.clockSkewSec} s)`;
        add("claims", !failed, failed ? `${reason}: ${summary}` : summary);
        return;
      }
      case "grant": {
        const { route, principal } = event;
        if (failed) {
          add(
            "grant",
            false,
            `${reason}: route ${route.prefix} accepts client apps ${[...route.clientApps].join(", ") || "(the tenant's own only)"}${route.requiredScope ? `, requires scope ${route.requiredScope}; token scp ${JSON.stringify(principal.scopes.join(" "))}` : ""}`,
          );
        } else if (route.clientApps.length > 0 || route.requiredScope !== undefined) {
          add("grant", true, `client app and scope accepted by route ${route.prefix}`);
        }
        return;
      }
    }
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
