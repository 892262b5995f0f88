/** The `environments` section: each cloud's defaults merged with the file's overrides, templates checked, CA read. */
import { DEFAULT_ENVIRONMENTS, ENVIRONMENT_NAMES, type EnvironmentName, type ParsedConfig } from "../schema.js";
import { type Environment, substituteTemplate } from "../types.js";
import type { ValidationContext } from "./context.js";

const SAMPLE_TENANT = "00000000-0000-4000-8000-000000000000";
const AUTHORITY_HOST_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$/;

/** Merges every environment's defaults with the file's overrides and checks the result. */
export function resolveEnvironments(
  overrides: ParsedConfig["environments"],
  ctx: ValidationContext,
): Readonly<Record<EnvironmentName, Environment>> {
  const out = {} as Record<EnvironmentName, Environment>;
  for (const name of ENVIRONMENT_NAMES) {
    const where = `environments.${name}`;
    const o = overrides[name] ?? {};
    const d = DEFAULT_ENVIRONMENTS[name];
    const list = (v: string | string[] | undefined, fallback: readonly string[]) =>
      v === undefined ? fallback : typeof v === "string" ? [v] : v;
    const env = {
      authorityHost: o.authorityHost ?? d.authorityHost,
      issuersV1: list(o.issuerV1, d.issuersV1),
      issuersV2: list(o.issuerV2, d.issuersV2),
      jwksV1: o.jwksV1 ?? d.jwksV1,
      jwksV2: o.jwksV2 ?? d.jwksV2,
    };
    if (!AUTHORITY_HOST_PATTERN.test(env.authorityHost)) {
      ctx.problem(`${where}.authorityHost`, `must be a host name with an optional :port, got ${env.authorityHost}`);
    }
    for (const t of env.issuersV1) checkTemplate(t, env.authorityHost, `${where}.issuerV1`, true, ctx);
    for (const t of env.issuersV2) checkTemplate(t, env.authorityHost, `${where}.issuerV2`, true, ctx);
    checkTemplate(env.jwksV1, env.authorityHost, `${where}.jwksV1`, false, ctx);
    checkTemplate(env.jwksV2, env.authorityHost, `${where}.jwksV2`, false, ctx);
    let ca: string | undefined;
    if (o.ca !== undefined && o.caFile !== undefined) ctx.problem(where, "give ca or caFile, not both");
    else if (o.caFile !== undefined) ca = ctx.read(`${where}.caFile`, o.caFile);
    else ca = o.ca;
    if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) {
      ctx.problem(`${where}.ca`, "must be PEM (-----BEGIN CERTIFICATE-----)");
    }
    out[name] = { name, ...env, ca };
  }
  return out;
}

/**
 * An issuer or JWKS template must become an https URL once `{authority}` and `{tenantid}` are substituted;
 * an issuer must have the tenant ID as its first path segment (Entra's issuer validation relies on it).
 */
function checkTemplate(
  template: string,
  authority: string,
  where: string,
  isIssuer: boolean,
  ctx: ValidationContext,
): void {
  if (!template.includes("{tenantid}")) {
    ctx.problem(where, "must contain the {tenantid} placeholder");
    return;
  }
  const filled = substituteTemplate(template, authority, SAMPLE_TENANT);
  if (/[{}]/.test(filled)) {
    ctx.problem(where, "has an unknown placeholder (only {authority} and {tenantid} exist)");
    return;
  }
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    ctx.problem(where, `is not a URL once filled in: ${filled}`);
    return;
  }
  if (url.protocol !== "https:") ctx.problem(where, "must be an https URL");
  if (isIssuer && url.pathname.split("/")[1] !== SAMPLE_TENANT) {
    ctx.problem(where, "must have {tenantid} as the first path segment (https://host/{tenantid}/…)");
  }
}
