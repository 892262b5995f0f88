/**
 * The connection analyzer (docs/operations.md § Connection analyzer): runs the real chain a Configuration
 * Manager client depends on for one tenant, stage by stage, and says which stage fails, why, and what the
 * admin can do about it — the CMG connection analyzer of the Configuration Manager console, for this gateway.
 *
 * 1. discovery and keys — the tenant's OpenID configuration and both key sets, from the configured cloud;
 * 2. server app token — client credentials for the server app (proves its secret), msal-node;
 * 3. client token — a user (`--user`) or device (`--device`) token for the server app, where it can be had
 *    non-interactively;
 * 4. AADAuthInfo — through the running gateway;
 * 5. CCM_STS — through the gateway to the management point, with the stage-3 token, on the CMG path form;
 * 6. token checks — what the gateway's authenticator decides for that token (issuer, keys, signature,
 *    audience, client…), from its own trace, as `explain-token` prints it.
 *
 * The first failure stops the run: later stages are skipped. A skipped stage 3 (no identity, or none to be
 * had) skips 5 and 6, which need its token. No token and no secret ever appears in the report.
 */
import type { Logger } from "pino";
import { createTenantRegistry, type TenantEntry } from "../auth/tenants.js";
import type { GatewayConfig } from "../config/types.js";
import { matchService } from "../onboarding/context.js";
import { createEntraEndpoints, type EntraEndpoints } from "../onboarding/entra-endpoints.js";
import { formatEntraFailure } from "../onboarding/entra-errors.js";
import { verifyWebApp } from "../onboarding/verify-app.js";
import { type AnalyzerIdentity, type ClientTokenOutcome, getClientToken } from "./client-token.js";
import { checkDiscoveryAndKeys } from "./discovery-keys.js";
import { explainToken } from "./explain-token.js";
import { entraHint } from "./hints.js";
import type { StageOutcome } from "./stage.js";
import { checkAadAuthInfo, checkCcmSts, createGatewayClient, type GatewayClient } from "./through-gateway.js";

export type { AnalyzerIdentity } from "./client-token.js";

/** One stage of the report. */
export interface AnalyzerStage {
  readonly stage: number;
  readonly name: string;
  readonly status: "pass" | "fail" | "skip";
  readonly detail: string;
  readonly hint?: string;
}

/** What {@link analyzeConnection} found. `ok`: no stage failed. */
export interface AnalyzerReport {
  readonly tenantId: string;
  readonly ok: boolean;
  readonly stages: readonly AnalyzerStage[];
}

/** Options of {@link analyzeConnection}. */
export interface AnalyzeOptions {
  readonly config: GatewayConfig;
  /** The cloud management service: its name, tenant ID or tenant domain (as the services CLI takes them). */
  readonly tenant: string;
  /** The client token of stage 3; undefined skips stages 3, 5 and 6. */
  readonly identity?: AnalyzerIdentity;
  /** The gateway's listener origin, e.g. `https://127.0.0.1:8443` (see {@link gatewayUrlFromConfig}). */
  readonly gatewayUrl: string;
  /** PEM CAs trusted for the gateway's TLS certificate besides the public roots. */
  readonly gatewayCaPems?: readonly string[];
  /** The CMG MP/site ID of stage 5's path; default the first of `managementPoints` (none: plain `/CCM_STS`). */
  readonly managementPointId?: string;
  /** Each stage's result is logged at info (no token). */
  readonly logger?: Logger;
  /** Aborts the run: the running stage fails, the rest are skipped. */
  readonly signal?: AbortSignal;
  /** Limit of each stage; default 20 s. */
  readonly stageTimeoutMs?: number;
}

/** `analyzeConnection` was asked about a service it cannot analyze (unknown, ambiguous, not cloud management). */
export class AnalyzerTargetError extends Error {}

const STAGE_NAMES = [
  "discovery and keys",
  "server app token",
  "client token",
  "AADAuthInfo",
  "CCM_STS",
  "token checks",
] as const;

const DEFAULT_STAGE_TIMEOUT_MS = 20_000;

/**
 * The tenant the analyzer checks: a cloud management service found by name, tenant ID or tenant domain.
 *
 * @param config the configuration
 * @param key the service name, tenant ID or tenant domain
 * @returns the tenant as the gateway registers it, or why none
 */
export function resolveAnalyzerTenant(
  config: GatewayConfig,
  key: string,
): { readonly tenant: TenantEntry } | { readonly error: string } {
  const registry = createTenantRegistry(config);
  const match = matchService(
    registry.tenants.map((t) => ({ name: t.serviceName, tenant: { id: t.tenantId, name: t.tenantName }, entry: t })),
    key,
  );
  if ("found" in match) return { tenant: match.found.entry };
  const other = matchService(config.azureServices, key);
  if ("found" in other) {
    return {
      error: `${other.found.name} is a ${other.found.type} service: the analyzer checks cloud management services, whose clients present tokens`,
    };
  }
  return { error: match.error };
}

/**
 * The gateway's origin as its configuration's `listen` section gives it; undefined when the port is chosen
 * at start (0). A wildcard host becomes the loopback address.
 *
 * @param config the configuration
 */
export function gatewayUrlFromConfig(config: GatewayConfig): string | undefined {
  const { host, port, cert } = config.listen;
  if (port === 0) return undefined;
  const reachable = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "[::1]" : host;
  const bracketed = reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]` : reachable;
  return `${cert === undefined ? "http" : "https"}://${bracketed}:${port}`;
}

/** Runs `work` with the stage's signal; a timeout or abort becomes a failed stage even when `work` ignores it. */
async function withinLimit<T extends StageOutcome>(
  limitMs: number,
  outer: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T | StageOutcome> {
  const signal =
    outer === undefined ? AbortSignal.timeout(limitMs) : AbortSignal.any([outer, AbortSignal.timeout(limitMs)]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<StageOutcome>((resolve) => {
    onAbort = () =>
      resolve({
        status: "fail",
        detail: outer?.aborted ? "aborted" : `no answer within ${limitMs} ms`,
        hint: "the server did not answer in time: check the network path and the server's health",
      });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work(signal), aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Runs the analyzer.
 *
 * @param options configuration, tenant, identity, gateway URL and trust
 * @throws AnalyzerTargetError when `options.tenant` names no cloud management service of the configuration
 * @example
 * const report = await analyzeConnection({ config, tenant: "contoso.onmicrosoft.com", identity: { kind: "device" },
 *   gatewayUrl: "https://127.0.0.1:8443", gatewayCaPems: [caPem] });
 * process.stdout.write(formatAnalyzerReport(report));
 */
export async function analyzeConnection(options: AnalyzeOptions): Promise<AnalyzerReport> {
  const { config } = options;
  const resolved = resolveAnalyzerTenant(config, options.tenant);
  if ("error" in resolved) throw new AnalyzerTargetError(resolved.error);
  const { tenant } = resolved;
  const service = config.azureServices.find((s) => s.type === "cloudManagement" && s.tenant.id === tenant.tenantId)!;
  const limitMs = options.stageTimeoutMs ?? DEFAULT_STAGE_TIMEOUT_MS;
  const endpoints: EntraEndpoints = createEntraEndpoints(config.environments[tenant.environment], undefined, limitMs);
  const gateway: GatewayClient = createGatewayClient(options.gatewayUrl, options.gatewayCaPems ?? [], limitMs);
  const mpId = options.managementPointId ?? config.managementPoints[0]?.id;
  const stsPath = mpId === undefined ? "/CCM_STS" : `/CCM_Proxy_ServerAuth/${mpId}/CCM_STS`;
  const stages: AnalyzerStage[] = [];
  let failedAt: number | undefined;
  let token: string | undefined;

  const run = async <T extends StageOutcome>(
    index: number,
    work: (signal: AbortSignal) => Promise<T>,
    needsToken = false,
  ): Promise<T | StageOutcome> => {
    const stage = index + 1;
    let outcome: T | StageOutcome;
    if (failedAt !== undefined) outcome = { status: "skip", detail: `not run: stage ${failedAt} failed` };
    else if (needsToken && token === undefined) {
      outcome = { status: "skip", detail: "not run: needs the client token of stage 3" };
    } else {
      outcome = await withinLimit(limitMs, options.signal, work).catch(
        (err: unknown): StageOutcome => ({ status: "fail", detail: `unexpected error: ${(err as Error).message}` }),
      );
    }
    if (outcome.status === "fail" && failedAt === undefined) failedAt = stage;
    const entry: AnalyzerStage = {
      stage,
      name: STAGE_NAMES[index]!,
      status: outcome.status,
      detail: outcome.detail,
      ...(outcome.hint === undefined ? {} : { hint: outcome.hint }),
    };
    stages.push(entry);
    options.logger?.info({ tenantId: tenant.tenantId, ...entry }, "analyzer stage");
    return outcome;
  };

  try {
    await run(0, (signal) => checkDiscoveryAndKeys(config, tenant, endpoints, signal));
    await run(1, async () => {
      const verified = await verifyWebApp(endpoints, {
        tenantId: tenant.tenantId,
        clientId: service.webApp.clientId,
        secret: service.webApp.secret.reveal(),
        appIdUri: service.webApp.appIdUri,
      });
      if (verified.ok) return { status: "pass", detail: verified.detail };
      return {
        status: "fail",
        detail: `${verified.step}: ${formatEntraFailure(verified.failure)}`,
        hint: entraHint(verified.failure.code, endpoints.authority(tenant.tenantId)),
      };
    });
    const client = (await run(2, (signal) =>
      getClientToken(endpoints, tenant, options.identity, signal),
    )) as ClientTokenOutcome;
    token = client.status === "pass" ? client.token : undefined;
    await run(3, (signal) => checkAadAuthInfo(gateway, tenant, signal));
    const explain = () => explainToken({ config, token, path: stsPath });
    await run(
      4,
      (signal) =>
        checkCcmSts(
          gateway,
          stsPath,
          token!,
          async () => {
            const e = await explain();
            if (e.verdict.accepted) return undefined;
            const step = e.steps.find((s) => s.result === "failed");
            return step === undefined ? e.verdict.reason : `${step.step}: ${step.detail}`;
          },
          signal,
        ),
      true,
    );
    await run(
      5,
      async () => {
        const e = await explain();
        const checks = e.steps.filter((s) => ["issuer", "keys", "signature", "claims"].includes(s.step));
        if (e.verdict.accepted) {
          return { status: "pass", detail: checks.map((s) => `${s.step}: ${s.detail}`).join("; ") };
        }
        const step = e.steps.find((s) => s.result === "failed");
        return {
          status: "fail",
          detail: `${e.verdict.reason} (HTTP ${e.verdict.status})${step === undefined ? "" : ` at ${step.step}: ${step.detail}`}`,
          hint: `run \`entra-gateway explain-token --path ${stsPath}\` with the token for every step`,
        };
      },
      true,
    );
  } finally {
    await Promise.all([endpoints.close(), gateway.close()]);
  }
  return { tenantId: tenant.tenantId, ok: failedAt === undefined, stages };
}

const MARKS: Readonly<Record<AnalyzerStage["status"], string>> = { pass: "✔", fail: "✘", skip: "–" };

/**
 * The report as text: one line per stage (mark, number, name, detail), its hint indented below, then a summary.
 *
 * @param report from {@link analyzeConnection}
 */
export function formatAnalyzerReport(report: AnalyzerReport): string {
  const width = Math.max(...STAGE_NAMES.map((n) => n.length));
  const lines = [`connection analyzer, tenant ${report.tenantId}`];
  for (const s of report.stages) {
    lines.push(`${MARKS[s.status]} ${s.stage}. ${s.name.padEnd(width)}  ${s.detail}`);
    if (s.hint !== undefined) lines.push(`       hint: ${s.hint}`);
  }
  const failed = report.stages.find((s) => s.status === "fail");
  const passed = report.stages.filter((s) => s.status === "pass").length;
  lines.push(
    failed === undefined
      ? `result: ${passed} of ${report.stages.length} stages passed, none failed`
      : `result: stage ${failed.stage} (${failed.name}) failed`,
  );
  return `${lines.join("\n")}\n`;
}
