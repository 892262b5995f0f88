/**
 * `entra-gateway analyze --config F --tenant T [--user UPN | --device] [--gateway URL] [--ca FILE] [--mp ID]
 * [--json]`: the connection analyzer's command line (docs/operations.md § Connection analyzer). Parses, reads
 * the configuration, resolves the tenant, then calls {@link analyzeConnection} (`gateway/analyzer/`) and prints
 * its report.
 */
import { readFile } from "node:fs/promises";
import {
  type AnalyzerIdentity,
  analyzeConnection,
  formatAnalyzerReport,
  gatewayUrlFromConfig,
  resolveAnalyzerTenant,
} from "../analyzer/analyze.js";
import { PASSWORD_ENV } from "../analyzer/client-token.js";
import {
  type CliIo,
  CONFIG_ENV,
  type CommandSpec,
  parseCommandLine,
  stringOption,
  usageError,
  writeJson,
} from "../command-line.js";
import { configFileArgument, readValidConfig } from "./config-file.js";

const ANALYZE: CommandSpec = {
  usage:
    "usage: entra-gateway analyze --config FILE --tenant T [--user UPN | --device] [--gateway URL] [--ca FILE] [--mp ID] [--json]",
  help: `usage: entra-gateway analyze --config FILE --tenant T [--user UPN | --device] [options]

The connection analyzer: runs the real chain a client depends on for one tenant and reports each stage as
pass, fail or skip, with the reason and a hint. The first failure stops the run (later stages: skip).

  1. discovery and keys   the tenant's OpenID configuration and key sets from the configured cloud
  2. server app token     client credentials for the server app (proves its secret)
  3. client token         a user (--user) or device (--device) token for the server app
  4. AADAuthInfo          through the gateway
  5. CCM_STS              through the gateway to the management point, with the stage-3 token
  6. token checks         issuer, keys, signature and claims as the gateway's authenticator judges the token

  -c, --config FILE    the configuration file (default $${CONFIG_ENV})
  --tenant T           the cloud management service: its name, tenant ID or tenant domain
  --user UPN           get a user token (password grant); the password is read from $${PASSWORD_ENV}
  --device             get a device token (only against the local Entra emulator: a real device's key
                       never leaves it)
  --gateway URL        the gateway's listener (default: from the config's listen section)
  --ca FILE            PEM CA(s) to trust for the gateway's TLS certificate, besides the public roots
  --mp ID              the CMG MP/site ID of stage 5 (default: the first of managementPoints)
  --json               the report as one JSON object on stdout: {"tenantId", "ok", "stages": [...]}
  -h, --help           this text

No token or secret is printed; tokens appear as SHA-256 fingerprints.
Exit codes: 0 no stage failed, 1 a stage failed (or the configuration is invalid), 2 usage.`,
  options: {
    config: { type: "string", short: "c" },
    tenant: { type: "string" },
    user: { type: "string" },
    device: { type: "boolean" },
    gateway: { type: "string" },
    ca: { type: "string" },
    mp: { type: "string" },
  },
  positionals: { min: 0, max: 0 },
};

/**
 * Runs `analyze`.
 *
 * @param argv arguments after the command name
 * @param io streams and environment
 * @returns 0 when no stage failed, 1 when one did (or the configuration is invalid), 2 on usage errors
 */
export async function analyzeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseCommandLine(ANALYZE, argv, io);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const usage = (message: string) => usageError(ANALYZE, `analyze: ${message}`, io.stderr).exitCode;
  const file = configFileArgument(ANALYZE, "analyze", stringOption(parsed.values, "config"), io);
  if (typeof file !== "string") return file.exitCode;
  const tenantKey = stringOption(parsed.values, "tenant");
  if (tenantKey === undefined || tenantKey === "") return usage("--tenant T is required");
  const upn = stringOption(parsed.values, "user");
  const device = parsed.values.device === true;
  if (upn !== undefined && device) return usage("give --user UPN or --device, not both");
  const mp = stringOption(parsed.values, "mp");
  if (mp !== undefined && !/^[0-9]{1,20}$/.test(mp)) return usage("--mp takes a decimal CMG MP/site ID");
  const gatewayFlag = stringOption(parsed.values, "gateway");
  if (gatewayFlag !== undefined && !/^https?:\/\/[^/]+\/?$/i.test(gatewayFlag)) {
    return usage("--gateway takes the listener's origin, e.g. https://gateway.contoso.com:8443");
  }
  const caFile = stringOption(parsed.values, "ca");
  let caPem: string | undefined;
  if (caFile !== undefined) {
    try {
      caPem = await readFile(caFile, "utf8");
    } catch (err) {
      return usage(`--ca ${caFile}: ${(err as Error).message}`);
    }
  }

  const config = await readValidConfig(file, parsed.json, io);
  if (config === undefined) return 1;
  const target = resolveAnalyzerTenant(config, tenantKey);
  if ("error" in target) return usage(target.error);
  const gatewayUrl = gatewayFlag ?? gatewayUrlFromConfig(config);
  if (gatewayUrl === undefined) {
    return usage("the config's listen.port is 0 (chosen at start): give the gateway's URL with --gateway");
  }
  const identity: AnalyzerIdentity | undefined =
    upn !== undefined ? { kind: "user", upn, password: io.env[PASSWORD_ENV] } : device ? { kind: "device" } : undefined;
  const report = await analyzeConnection({
    config,
    tenant: target.tenant.tenantId,
    gatewayUrl,
    ...(identity === undefined ? {} : { identity }),
    ...(caPem === undefined ? {} : { gatewayCaPems: [caPem] }),
    ...(mp === undefined ? {} : { managementPointId: mp }),
  });
  if (parsed.json) writeJson(io.stdout, report);
  else io.stdout.write(formatAnalyzerReport(report));
  return report.ok ? 0 : 1;
}
