/**
 * Analyzer stage 1 — can the tenant's keys be had? The tenant's v1 OpenID configuration document from the
 * configured cloud's authority (its `issuer` must be one the gateway accepts for the tenant), then both key
 * sets the gateway fetches (the configured v1 and v2 JWKS URLs) through the gateway's own JWKS fetcher and
 * key import, so a key the gateway would skip is reported the same way.
 */

import { createHttpJwksFetcher } from "../auth/keys/http-fetcher.js";
import { importJwks } from "../auth/keys/jwk.js";
import type { TenantEntry } from "../auth/tenants.js";
import type { GatewayConfig } from "../config/types.js";
import type { EntraEndpoints } from "../onboarding/entra-endpoints.js";
import { readBoundedText } from "./bounded-body.js";
import { classifyNetworkError } from "./hints.js";
import type { StageOutcome } from "./stage.js";

/** Largest discovery document read (Entra's is about 2 KiB). */
const MAX_DISCOVERY_BYTES = 256 * 1024;

async function getJson(endpoints: EntraEndpoints, url: string, signal: AbortSignal): Promise<unknown> {
  const target = new URL(url);
  const res = await endpoints.dispatcher.request({
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
    method: "GET",
    headers: { accept: "application/json" },
    signal,
  });
  const text = await readBoundedText(res.body, MAX_DISCOVERY_BYTES);
  if (res.statusCode !== 200) throw new Error(`${url} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

/**
 * Runs stage 1.
 *
 * @param config the configuration (environments, JWKS limits)
 * @param tenant the tenant as the gateway registers it (issuers, key set URLs)
 * @param endpoints the tenant environment's Entra endpoints (CA-bound HTTP client)
 * @param signal aborts the requests (stage timeout)
 */
export async function checkDiscoveryAndKeys(
  config: GatewayConfig,
  tenant: TenantEntry,
  endpoints: EntraEndpoints,
  signal: AbortSignal,
): Promise<StageOutcome> {
  const discoveryUrl = `${endpoints.authority(tenant.tenantId)}/.well-known/openid-configuration`;
  let discovery: Record<string, unknown>;
  try {
    const doc = await getJson(endpoints, discoveryUrl, signal);
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not a JSON object");
    discovery = doc as Record<string, unknown>;
  } catch (err) {
    const failure = classifyNetworkError(err);
    return {
      status: "fail",
      detail: `discovery document ${discoveryUrl}: ${failure.text}`,
      hint:
        failure.kind === "tls"
          ? `the authority's TLS certificate is not trusted: set environments.${tenant.environment}.caFile to its CA`
          : `check the tenant ID and the service's environment (authority ${endpoints.authorityHost}), and that this machine reaches it`,
    };
  }
  const issuer = discovery.issuer;
  if (typeof issuer !== "string" || !tenant.issuersV1.includes(issuer)) {
    return {
      status: "fail",
      detail: `discovery document names issuer ${JSON.stringify(issuer)}; the gateway accepts ${tenant.issuersV1.join(", ")} for v1 tokens of this tenant`,
      hint: `the authority is not the tenant's cloud, or environments.${tenant.environment}.issuerV1 is wrong`,
    };
  }
  const fetcher = createHttpJwksFetcher(config.environments, config.auth.jwks.fetchTimeoutMs);
  try {
    const found: { version: number; kids: string }[] = [];
    for (const set of [tenant.keySetV1, tenant.keySetV2]) {
      let document: unknown;
      try {
        document = await fetcher.fetch(set.url, {
          environment: set.environment,
          signal,
          maxBytes: config.auth.jwks.maxBytes,
        });
      } catch (err) {
        return {
          status: "fail",
          detail: `key set ${set.url}: ${classifyNetworkError(err).text}`,
          hint: `the gateway fetches its keys from this URL: check environments.${tenant.environment}.jwksV${set.version} and the network path`,
        };
      }
      const imported = importJwks(document);
      if (!imported.ok || imported.keys.size === 0) {
        const why = imported.ok
          ? `no usable key${imported.skipped.length ? ` (${imported.skipped.join("; ")})` : ""}`
          : imported.error;
        return {
          status: "fail",
          detail: `key set ${set.url}: ${why}`,
          hint: "the gateway could verify no token of this tenant with this key set",
        };
      }
      found.push({ version: set.version, kids: [...imported.keys.keys()].join(", ") });
    }
    const kids =
      found[0]?.kids === found[1]?.kids
        ? `kids (v1 and v2) ${found[0]?.kids}`
        : found.map((f) => `v${f.version} kids ${f.kids}`).join("; ");
    return { status: "pass", detail: `issuer ${issuer}; ${kids}` };
  } finally {
    await fetcher.close();
  }
}
