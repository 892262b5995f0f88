/**
 * The console's connection analyzer (docs/operations.md § Console): `analyzeConnection` run from inside the
 * gateway for one tenant of the configuration in force, through this gateway's own listener, whose
 * certificate it pins (the listener may have a private CA the gateway does not know). No client identity is
 * given: the stages that need a user or device token (client token, CCM_STS, token checks) are skipped; the
 * `analyze` command runs them with `--user` or `--device`.
 */
import type { Logger } from "pino";
import type { AnalyzerReport } from "../analyzer/analyze.js";
import type { GatewayConfig } from "../config/types.js";

export type { AnalyzerReport, AnalyzerStage } from "../analyzer/analyze.js";

/** Runs the connection analyzer for one tenant of the configuration in force. */
export type ConsoleAnalyzer = (tenantId: string) => Promise<AnalyzerReport>;

/**
 * Creates the console's analyzer.
 *
 * @param options the configuration in force, the listener's URL once it listens, its certificate (PEM; none
 *   for plain HTTP), and a logger for the stages
 */
export function createConsoleAnalyzer(options: {
  readonly config: () => GatewayConfig;
  readonly gatewayUrl: Promise<string>;
  readonly certificate: string | undefined;
  readonly logger?: Logger;
}): ConsoleAnalyzer {
  return async (tenantId) => {
    // Loaded on first use: the analyzer brings msal-node, which no serving process needs otherwise.
    const { analyzeConnection, resolveAnalyzerTenant } = await import("../analyzer/analyze.js");
    const config = options.config();
    const target = resolveAnalyzerTenant(config, tenantId);
    if ("error" in target) throw new Error(target.error);
    return analyzeConnection({
      config,
      tenant: target.tenant.tenantId,
      gatewayUrl: await options.gatewayUrl,
      ...(options.certificate === undefined ? {} : { gatewayCertificate: options.certificate }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  };
}
