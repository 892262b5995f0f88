/**
 * One in-process stack per test file (temp state directory, real HTTPS on 127.0.0.1) with the gateway's log
 * lines tapped, so a simulation can check the gateway's exact rejection reasons.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { runSimulation, type ScenarioName, type SimulationResult } from "../../client-simulator/simulation.js";
import { createGatewayLogTap, type GatewayLogTap, inProcessHooks } from "../../stack/in-process.js";
import { type Stack, startStack } from "../../stack/start-stack.js";
import { seedStackState } from "../harness-pool.js";

export interface SimHarness {
  readonly stack: Stack;
  readonly tap: GatewayLogTap;
  run(scenario: ScenarioName, clients?: number): Promise<SimulationResult>;
  close(): Promise<void>;
}

export async function startSimHarness(): Promise<SimHarness> {
  const stateDir = await mkdtemp(join(tmpdir(), "client-sim-"));
  const tap = createGatewayLogTap();
  await seedStackState(stateDir);
  const stack = await startStack({ stateDir, logger: pino({ level: "info" }, tap.destination) });
  // Tenant flags and JWKS refreshes through the admin API when the stack has one, as the CLI does.
  const viaAdminApi = Boolean((stack.description.gateway as { adminUrl?: string }).adminUrl);
  return {
    stack,
    tap,
    run: (scenario, clients = 20) =>
      runSimulation({
        stack: stack.description,
        clients,
        scenario,
        concurrency: 10,
        hooks: inProcessHooks(stack, tap, { viaAdminApi }),
      }),
    async close() {
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** The failed checks and failed requests of a result, for assertion messages. */
export function explain(result: SimulationResult): string {
  const checks = result.verdict.checks.filter((c) => !c.holds).map((c) => `${c.name}: ${c.detail}`);
  const failed = result.records
    .filter((r) => r.result === "failed")
    .slice(0, 10)
    .map((r) => `${r.round} ${r.client} ${r.step}: ${r.reason}`);
  return [...checks, ...failed].join("\n");
}
