#!/usr/bin/env node
/**
 * `npm run client-sim -- [options]`: runs a fleet of simulated clients against a running stack (`npm start`)
 * and prints a summary table (or one JSON object with `--json`). Exit code 0 only when the scenario's
 * verdict holds; 1 when it does not; 2 when the run could not be made (bad flags, no stack).
 */
import { parseArgs } from "node:util";
import { createProgressLine } from "./progress.js";
import {
  renderSummary,
  resultToJson,
  runSimulation,
  SCENARIO_DESCRIPTIONS,
  SCENARIOS,
  type ScenarioName,
} from "./simulation.js";
import { readStackFile } from "./stack-file.js";

const USAGE = `client-sim [options]

  --stack FILE          stack description (default .state/stack.json, written by npm start)
  --clients N           simulated clients (default 50); tenants disabled from the start get a probe on top
  --scenario NAME       ${SCENARIOS.join(" | ")} (default happy)
  --tenant ID|PREFIX    the tenant the scenario acts on (default: see below)
  --gateway URL         a gateway to send clients to; repeat it to spread the clients round-robin over
                        several replicas (default the stack's gateway.url); admin API and metrics stay the stack's
  --concurrency N       clients running at once (default min(clients, 50))
  --content-bytes N     bytes per content download (default 65536)
  --json                print one JSON object on stdout (no table)
  --no-progress         no progress line on stderr
  -h, --help            this text

Scenarios:
${SCENARIOS.map((s) => `  ${s.padEnd(16)} ${SCENARIO_DESCRIPTIONS[s]}`).join("\n")}

Exit code: 0 when the scenario's verdict holds, 1 when it does not, 2 when the run could not be made.`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
  return n;
}

class UsageError extends Error {}

/** `--gateway` values as origins (`https://host:port`). */
function gatewayOrigins(values: readonly string[] | undefined): string[] | undefined {
  return values?.map((value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UsageError(`--gateway ${JSON.stringify(value)} is not a URL`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new UsageError(`--gateway ${JSON.stringify(value)} must be an http(s) URL`);
    }
    return url.origin;
  });
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      stack: { type: "string" },
      clients: { type: "string" },
      scenario: { type: "string" },
      tenant: { type: "string" },
      gateway: { type: "string", multiple: true },
      concurrency: { type: "string" },
      "content-bytes": { type: "string" },
      json: { type: "boolean" },
      "no-progress": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (err) {
    process.stderr.write(`client-sim: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const scenario = (values.scenario ?? "happy") as ScenarioName;
    if (!SCENARIOS.includes(scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(", ")}`);
    const clients = positiveInt("clients", values.clients, 50);
    const gateways = gatewayOrigins(values.gateway);
    const stack = await readStackFile(values.stack ?? ".state/stack.json");
    const progress = values["no-progress"] ? undefined : createProgressLine();
    const result = await runSimulation({
      stack,
      clients,
      scenario,
      ...(values.concurrency !== undefined
        ? { concurrency: Math.max(1, positiveInt("concurrency", values.concurrency, 1)) }
        : {}),
      ...(values["content-bytes"] !== undefined
        ? { contentBytes: positiveInt("content-bytes", values["content-bytes"], 0) }
        : {}),
      ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      ...(gateways !== undefined ? { gateways } : {}),
      hooks: progress ? { onProgress: (p) => progress.update(p) } : {},
    });
    progress?.done();
    process.stdout.write(values.json ? `${JSON.stringify(resultToJson(result))}\n` : `${renderSummary(result)}\n`);
    return result.verdict.holds ? 0 : 1;
  } catch (err) {
    process.stderr.write(`client-sim: ${(err as Error).message}\n`);
    if (err instanceof UsageError) process.stderr.write(`\n${USAGE}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
