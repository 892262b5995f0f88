/**
 * `runSimulation()`: a fleet of simulated clients against a running stack, one scenario, one verdict.
 *
 * A scenario is a sequence of rounds (every client runs its flow once per round, `concurrency` at a time)
 * with actions on the stack between them — so "mid-run" changes land between two requests of every client
 * and every expectation is exact, with no timing in it. The verdict is a list of checks; it holds when every
 * check that could be made holds (a check the stack cannot support, e.g. exact reasons without logs or
 * metrics, is reported as skipped).
 *
 * @example
 * const stack = await startStack({ stateDir });
 * const result = await runSimulation({ stack: stack.description, clients: 20, scenario: "key-rotation" });
 * if (!result.verdict.holds) console.error(result.verdict.checks.filter((c) => !c.holds));
 */
import { BAD_TOKEN_CASES, type BadToken, mintBadTokens } from "./bad-tokens.js";
import {
  type ClientContext,
  type ClientState,
  type CmgIds,
  judge,
  type RequestRecord,
  type RequestResult,
  type RoundPlan,
  runClientRound,
  type StepName,
  stsRequest,
  tokenFingerprint,
} from "./client.js";
import { createStackControls, type SimulationHooks, type StackControls } from "./controls.js";
import { type PlannedClient, planFleet } from "./fleet.js";
import { renderStepTable, type StepSummary, summariseSteps, type Totals, totalsOf } from "./report.js";
import type { StackFile, StackFileTenant } from "./stack-file.js";
import { createTokenSource, loadDeviceKeys } from "./tokens.js";

/** The scenarios (`--scenario`). */
export const SCENARIOS = ["happy", "disabled-tenant", "key-rotation", "idp-outage", "bad-tokens"] as const;

/** One of {@link SCENARIOS}. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** What each scenario does and expects (the CLI's `--help` prints these). */
export const SCENARIO_DESCRIPTIONS: Readonly<Record<ScenarioName, string>> = {
  happy: "every client runs its flow twice (new tokens, then cached ones): zero failures",
  "disabled-tenant":
    "a tenant is disabled through the gateway's admin API between two rounds: exactly its clients are refused " +
    "(403 on their next request, AADAuthInfo 404), the others untouched; then re-enabled and served again",
  "key-rotation":
    "the emulator rotates a tenant's cloud key set, then revokes the old key: nobody fails on the rotation (old and new " +
    "tokens both served); after the revocation exactly the holders of old-key tokens are refused (401 " +
    "invalid_token, key_not_found) and served again with new tokens",
  "idp-outage":
    "the emulator's JWKS answers 503 and the gateway is made to refetch: clients holding tokens and clients " +
    "getting new ones keep being served",
  "bad-tokens":
    "expired, not yet valid, wrong audience, wrong client app, another cloud's key, unknown tenant, forged " +
    "signature, alg none (signed and unsigned), app token — each refused with its status, challenge and exact " +
    "reason, none in the MP's audit, while the valid fleet is served",
};

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  /** `stack.json` (or `startStack().description`). */
  readonly stack: StackFile;
  /** Number of clients (probes for tenants disabled from the start come on top). */
  readonly clients: number;
  readonly scenario?: ScenarioName;
  /** Clients running at once; default min(clients, 50). */
  readonly concurrency?: number;
  /** Bytes per content download; default 64 KiB. */
  readonly contentBytes?: number;
  /**
   * The tenant the scenario acts on (ID or name prefix). Default: the first enabled tenant without
   * Administration Service Management; `bad-tokens` defaults to the last one, so its cross-tenant forgery
   * (which makes the gateway refetch that tenant's keys on an unknown `kid`) and a later `key-rotation` on the
   * default tenant do not meet in the gateway's unknown-kid cooldown.
   */
  readonly tenant?: string;
  /**
   * Gateway origins to spread the clients over, round-robin (replicas behind no load balancer); default the
   * stack's `gateway.url`. The admin API, metrics and logs the scenarios use stay the stack's gateway's.
   */
  readonly gateways?: readonly string[];
  readonly hooks?: SimulationHooks;
}

/** One check of a verdict. */
export interface Check {
  readonly name: string;
  readonly holds: boolean;
  readonly detail: string;
  /** The stack offered no way to make this check (it does not count against the verdict). */
  readonly skipped?: boolean;
}

/** One gateway's share of a run. */
export interface GatewaySummary extends Totals {
  readonly url: string;
  readonly clients: number;
}

/** Clients' outcomes of one round. */
export interface RoundSummary {
  readonly name: string;
  readonly clients: number;
  readonly ok: number;
  readonly refused: number;
  readonly failed: number;
  readonly durationMs: number;
}

/** The result of a run (the CLI's `--json` prints it without `records`). */
export interface SimulationResult extends Totals {
  readonly scenario: ScenarioName;
  readonly verdict: { readonly holds: boolean; readonly checks: readonly Check[] };
  readonly clients: number;
  readonly probes: number;
  readonly durationMs: number;
  readonly steps: Partial<Record<StepName, StepSummary>>;
  readonly rounds: readonly RoundSummary[];
  /** Per gateway the clients were spread over: its clients and what its requests got. */
  readonly gateways: readonly GatewaySummary[];
  /** What was done to the stack, in order. */
  readonly events: readonly string[];
  /** Every request (tests inspect them). */
  readonly records: readonly RequestRecord[];
}

interface RoundOutcome {
  readonly name: string;
  readonly results: ReadonlyMap<string, RequestResult>;
}

const NONE: ReadonlySet<string> = new Set();

function matchTenant(tenants: readonly StackFileTenant[], wanted: string): StackFileTenant {
  const w = wanted.toLowerCase();
  const found = tenants.find((t) => t.id === w || t.name.toLowerCase().startsWith(w));
  if (!found) throw new Error(`--tenant ${wanted}: no such tenant in stack.json`);
  return found;
}

/** The CMG IDs of `stack.json`: MP IDs for client traffic, the site ID (else the first MP) for AdminService. */
function cmgIdsOf(stack: StackFile): CmgIds | undefined {
  const mps = stack.mp.mps ?? [];
  const mpIds = mps.filter((m) => m.kind !== "site").map((m) => m.id);
  if (mpIds.length === 0) return undefined;
  return { mpIds, siteId: mps.find((m) => m.kind === "site")?.id ?? mpIds[0]! };
}

/** Runs a scenario and judges it. Throws only when the run cannot start (unreadable CA, no control API…). */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const scenario = options.scenario ?? "happy";
  const started = performance.now();
  const controls = await createStackControls(options.stack, options.hooks);
  const records: RequestRecord[] = [];
  const events: string[] = [];
  const rounds: RoundSummary[] = [];
  const fleet = planFleet(options.stack.tenants, options.clients);
  const states = new Map<string, ClientState>(fleet.map((c) => [c.id, {}]));
  const deviceKeys = await loadDeviceKeys(controls.http, options.stack.entra.url);
  const tokens = createTokenSource({ http: controls.http, caPem: controls.caPem, deviceKeys });
  const ctx: ClientContext = {
    http: controls.http,
    tokens,
    gatewayUrl: options.stack.gateway.url,
    cmg: cmgIdsOf(options.stack),
    contentBytes: options.contentBytes ?? 64 * 1024,
    record: (r) => records.push(r),
  };
  const gateways = options.gateways !== undefined && options.gateways.length > 0 ? options.gateways : [ctx.gatewayUrl];
  // Round-robin over the gateways, by position in the fleet: each client keeps its gateway for the whole run.
  const gatewayContexts = gateways.map(
    (url): ClientContext => ({ ...ctx, gatewayUrl: url, record: (r) => records.push({ ...r, gateway: url }) }),
  );
  const contextOf = new Map(fleet.map((c, i) => [c.id, gatewayContexts[i % gatewayContexts.length]!]));
  const concurrency = Math.max(1, options.concurrency ?? Math.min(Math.max(options.clients, 1), 50));
  const plannedRounds = ROUND_COUNT[scenario];

  const round = async (
    name: string,
    plan: Partial<Omit<RoundPlan, "name">> = {},
    alongside?: Promise<unknown>,
  ): Promise<RoundOutcome> => {
    const full: RoundPlan = {
      name,
      reuseTokens: plan.reuseTokens ?? (() => false),
      disabledTenants: plan.disabledTenants ?? NONE,
      revokedKids: plan.revokedKids ?? NONE,
    };
    const t0 = performance.now();
    const results = new Map<string, RequestResult>();
    let next = 0;
    let failedSoFar = 0;
    const index = rounds.length;
    const worker = async () => {
      for (;;) {
        const c = fleet[next++];
        if (!c) return;
        const result = await runClientRound(contextOf.get(c.id)!, c, states.get(c.id)!, full);
        results.set(c.id, result);
        if (result === "failed") failedSoFar++;
        options.hooks?.onProgress?.({
          round: name,
          roundIndex: index,
          rounds: plannedRounds,
          done: results.size,
          total: fleet.length,
          requests: records.length,
          failed: failedSoFar,
        });
      }
    };
    await Promise.all([...Array.from({ length: Math.min(concurrency, fleet.length) }, worker), alongside]);
    const values = [...results.values()];
    rounds.push({
      name,
      clients: values.length,
      ok: values.filter((v) => v === "ok").length,
      refused: values.filter((v) => v === "refused").length,
      failed: values.filter((v) => v === "failed").length,
      durationMs: Math.round(performance.now() - t0),
    });
    return { name, results };
  };

  let checks: Check[];
  try {
    const run: ScenarioRun = { options, controls, fleet, states, records, events, ctx, round };
    checks = await SCENARIO_RUNNERS[scenario](run);
  } finally {
    await tokens.close();
  }
  // Exact gateway reasons, where the run can see the gateway's log lines.
  if (controls.gatewayReason) {
    for (const r of records) {
      if (r.result !== "ok" && r.tokenFp !== undefined) {
        const reason = controls.gatewayReason(r.tokenFp);
        if (reason !== undefined) r.gatewayReason = reason;
      }
    }
  }
  await controls.close();
  const totals = totalsOf(records);
  checks.unshift({
    name: "no request failed",
    holds: totals.failed === 0,
    detail: `${totals.failed} of ${totals.requests} requests did not get the answer the scenario expects`,
  });
  const fleetClients = fleet.filter((c) => c.profile !== "probe");
  return {
    scenario,
    verdict: { holds: checks.every((c) => c.holds || c.skipped === true), checks },
    clients: fleetClients.length,
    probes: fleet.length - fleetClients.length,
    ...totals,
    durationMs: Math.round(performance.now() - started),
    steps: summariseSteps(records),
    rounds,
    gateways: gateways.map((url) => ({
      url,
      clients: fleet.filter((c) => contextOf.get(c.id)?.gatewayUrl === url).length,
      ...totalsOf(records.filter((r) => r.gateway === url)),
    })),
    events,
    records,
  };
}

/** What a scenario runner works with. */
interface ScenarioRun {
  readonly options: SimulationOptions;
  readonly controls: StackControls;
  readonly fleet: readonly PlannedClient[];
  readonly states: ReadonlyMap<string, ClientState>;
  readonly records: RequestRecord[];
  readonly events: string[];
  readonly ctx: ClientContext;
  round(name: string, plan?: Partial<Omit<RoundPlan, "name">>, alongside?: Promise<unknown>): Promise<RoundOutcome>;
}

const ROUND_COUNT: Readonly<Record<ScenarioName, number>> = {
  happy: 2,
  "disabled-tenant": 3,
  "key-rotation": 3,
  "idp-outage": 3,
  "bad-tokens": 1,
};

const reuseAll = () => true;

function managed(fleet: readonly PlannedClient[]): PlannedClient[] {
  return fleet.filter((c) => c.profile !== "probe");
}

function clientsOf(run: ScenarioRun, tenantId: string): PlannedClient[] {
  return managed(run.fleet).filter((c) => c.tenant.id === tenantId);
}

function allServed(run: ScenarioRun, outcome: RoundOutcome, except: ReadonlySet<string> = NONE): Check {
  const bad = managed(run.fleet).filter((c) => !except.has(c.id) && outcome.results.get(c.id) !== "ok");
  return {
    name: `${outcome.name}: every client served`,
    holds: bad.length === 0,
    detail:
      bad.length === 0
        ? `${managed(run.fleet).length - except.size} clients served`
        : `not served: ${bad.map((c) => `${c.id} (${outcome.results.get(c.id)})`).join(", ")}`,
  };
}

function probesRefused(run: ScenarioRun, outcome: RoundOutcome): Check[] {
  const probes = run.fleet.filter((c) => c.profile === "probe");
  if (probes.length === 0) return [];
  const bad = probes.filter((p) => outcome.results.get(p.id) !== "refused");
  return [
    {
      name: `${outcome.name}: tenants disabled from the start are not onboarded`,
      holds: bad.length === 0,
      detail:
        bad.length === 0
          ? `AADAuthInfo 404 for ${probes.map((p) => p.tenant.name).join(", ")}`
          : `not refused: ${bad.map((p) => p.id).join(", ")}`,
    },
  ];
}

function sameSet(name: string, actual: Iterable<string>, expected: Iterable<string>): Check {
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = [...e].filter((x) => !a.has(x));
  const extra = [...a].filter((x) => !e.has(x));
  return {
    name,
    holds: missing.length === 0 && extra.length === 0 && e.size > 0,
    detail:
      e.size === 0
        ? "nothing was expected, so nothing was proven (too few clients?)"
        : missing.length === 0 && extra.length === 0
          ? `exactly ${e.size}: ${[...e].sort().join(", ")}`
          : `missing: ${missing.sort().join(", ") || "none"}; unexpected: ${extra.sort().join(", ") || "none"}`,
  };
}

/**
 * Checks that the gateway refused `expected` records for the given reasons: per record from its log lines when
 * the run can read them, else from the delta of its rejection metrics (exact as long as nothing else is
 * refused meanwhile), else skipped.
 */
async function reasonCheck(
  name: string,
  run: ScenarioRun,
  expected: readonly { readonly record: RequestRecord; readonly reason: string }[],
  metricsBefore: Map<string, number> | undefined,
): Promise<Check> {
  if (run.controls.gatewayReason) {
    const wrong = expected.filter((e) => run.controls.gatewayReason!(e.record.tokenFp ?? "") !== e.reason);
    return {
      name,
      holds: wrong.length === 0 && expected.length > 0,
      detail:
        wrong.length === 0
          ? `${expected.length} refusals, each with its expected reason (gateway log lines)`
          : wrong
              .slice(0, 10)
              .map(
                (e) =>
                  `${e.record.client} ${e.record.step}: expected ${e.reason}, gateway said ${run.controls.gatewayReason!(e.record.tokenFp ?? "") ?? "nothing"}`,
              )
              .join("; "),
    };
  }
  const after = metricsBefore ? await run.controls.rejectionsByReason() : undefined;
  if (!metricsBefore || !after) {
    return { name, holds: true, skipped: true, detail: "no gateway logs in process and no metricsUrl in stack.json" };
  }
  const want = new Map<string, number>();
  for (const e of expected) want.set(e.reason, (want.get(e.reason) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const [reason, n] of after) {
    const delta = n - (metricsBefore.get(reason) ?? 0);
    if (delta > 0) got.set(reason, delta);
  }
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort()
      .map(([r, n]) => `${r}=${n}`)
      .join(", ") || "none";
  const holds = want.size === got.size && [...want].every(([r, n]) => got.get(r) === n);
  return {
    name,
    holds,
    detail: holds
      ? `gateway metrics: ${fmt(got)}`
      : `expected ${fmt(want)}; gateway metrics counted ${fmt(got)} (anything else refused during the run counts too)`,
  };
}

function pickTenant(run: ScenarioRun, which: "first" | "last"): StackFileTenant {
  if (run.options.tenant !== undefined) return matchTenant(run.options.stack.tenants, run.options.tenant);
  const candidates = run.options.stack.tenants.filter(
    (t) => !t.disabled && t.adminServiceManagement !== true && clientsOf(run, t.id).length > 0,
  );
  const t = which === "first" ? candidates[0] : candidates[candidates.length - 1];
  if (!t) throw new Error("no enabled tenant (without Administration Service Management) has clients: add --clients");
  return t;
}

type ScenarioRunner = (run: ScenarioRun) => Promise<Check[]>;

const happy: ScenarioRunner = async (run) => {
  const first = await run.round("new tokens");
  const cached = await run.round("cached tokens", { reuseTokens: reuseAll });
  return [allServed(run, first), allServed(run, cached), ...probesRefused(run, first)];
};

const disabledTenant: ScenarioRunner = async (run) => {
  const target = pickTenant(run, "first");
  const before = await run.round("before");
  const metricsBefore = await run.controls.rejectionsByReason();
  await run.controls.setTenantEnabled(target.id, false);
  run.events.push(`disabled tenant ${target.name} (${target.id}) at the gateway`);
  let during: RoundOutcome;
  try {
    during = await run.round("disabled", { reuseTokens: reuseAll, disabledTenants: new Set([target.id]) });
  } finally {
    await run.controls.setTenantEnabled(target.id, true);
    run.events.push(`enabled tenant ${target.name} again`);
  }
  const expected = run.records
    .filter((r) => r.round === "disabled" && r.result === "refused" && r.tokenFp !== undefined)
    .map((record) => ({ record, reason: "tenant_disabled" }));
  const reasons = await reasonCheck("disabled: refusals carry reason tenant_disabled", run, expected, metricsBefore);
  const after = await run.round("re-enabled", { reuseTokens: reuseAll });
  const targetClients = clientsOf(run, target.id).map((c) => c.id);
  const refused = [...during.results]
    .filter(([id, r]) => r === "refused" && !id.startsWith("probe-"))
    .map(([id]) => id);
  return [
    allServed(run, before),
    sameSet(`disabled: the refused clients are exactly ${target.name}'s`, refused, targetClients),
    allServed(run, during, new Set(targetClients)),
    reasons,
    allServed(run, after),
    ...probesRefused(run, during),
  ];
};

const keyRotation: ScenarioRunner = async (run) => {
  const target = pickTenant(run, "first");
  // Entra signs every tenant of a cloud with one key set: rotating through the target rotates its whole cloud.
  const cloudTenantIds = new Set(run.options.stack.tenants.filter((t) => t.cloud === target.cloud).map((t) => t.id));
  const cloudClients = managed(run.fleet).filter((c) => cloudTenantIds.has(c.tenant.id));
  const before = await run.round("before");
  const rotated = await run.controls.rotateKey(target.id);
  run.events.push(
    `rotated ${target.cloud}'s signing key through ${target.name}: ${rotated.retiring} → ${rotated.kid} (old key still published)`,
  );
  // Half the clients present the tokens they hold (old key), half get new ones (new key).
  const fleetIndex = new Map(run.fleet.map((c, i) => [c.id, i]));
  const during = await run.round("rotated", { reuseTokens: (c) => (fleetIndex.get(c.id) ?? 0) % 2 === 0 });
  const newKeyServed = run.records.filter(
    (r) => r.round === "rotated" && cloudTenantIds.has(r.tenantId) && r.step === "ccm-sts" && r.result === "ok",
  );
  const heldOld = cloudClients
    .filter((c) => {
      const s = run.states.get(c.id)!;
      return s.entra?.kid === rotated.retiring || s.user?.kid === rotated.retiring;
    })
    .map((c) => c.id);
  const newTokens = cloudClients.filter((c) => {
    const s = run.states.get(c.id)!;
    return s.entra?.kid === rotated.kid || s.user?.kid === rotated.kid;
  });
  await run.controls.revokeKey(target.id, rotated.retiring);
  run.events.push(`revoked ${target.cloud}'s old key ${rotated.retiring}`);
  await run.controls.refreshGatewayKeys();
  run.events.push("made the gateway refetch its JWKS");
  const metricsBefore = await run.controls.rejectionsByReason();
  const revoked = await run.round("revoked", { reuseTokens: reuseAll, revokedKids: new Set([rotated.retiring]) });
  const targetIds = new Set(cloudClients.map((c) => c.id));
  const refusedRecords = run.records.filter(
    (r) => r.round === "revoked" && r.result === "refused" && r.step !== "aad-auth-info",
  );
  const refusedClients = new Set(refusedRecords.map((r) => r.client));
  const untouched = managed(run.fleet).filter((c) => !targetIds.has(c.id) && revoked.results.get(c.id) !== "ok");
  return [
    allServed(run, before),
    allServed(run, during),
    {
      name: "rotated: tokens of the new key are served",
      holds: newTokens.length > 0 && newKeyServed.length > 0,
      detail: `${newTokens.length} clients of ${target.cloud} hold new-key (${rotated.kid}) tokens and were served`,
    },
    sameSet("revoked: exactly the holders of old-key tokens are refused", refusedClients, heldOld),
    await reasonCheck(
      "revoked: refusals carry reason key_not_found",
      run,
      refusedRecords.map((record) => ({ record, reason: "key_not_found" })),
      metricsBefore,
    ),
    {
      name: "revoked: the other cloud's clients are untouched",
      holds: untouched.length === 0,
      detail:
        untouched.length === 0 ? "all served at once" : `not served at once: ${untouched.map((c) => c.id).join(", ")}`,
    },
    {
      name: "revoked: every client is served again (with a new token where refused)",
      holds: [...revoked.results.values()].every((r) => r !== "failed"),
      detail: `${[...revoked.results.values()].filter((r) => r === "ok").length} served at once, ${refusedClients.size} after getting a new token`,
    },
  ];
};

const idpOutage: ScenarioRunner = async (run) => {
  const before = await run.round("before");
  const fetchesBefore = await run.controls.keyFetches();
  await run.controls.setOutage(true, ["keys"]);
  run.events.push("IdP outage: the emulator's JWKS endpoints answer 503");
  let held: RoundOutcome;
  let fresh: RoundOutcome;
  let refreshWorked: boolean | undefined;
  let fetchesDuring: number | undefined;
  try {
    refreshWorked = await run.controls.refreshGatewayKeys();
    run.events.push("made the gateway refetch its JWKS during the outage");
    fetchesDuring = await run.controls.keyFetches();
    held = await run.round("outage, held tokens", { reuseTokens: reuseAll });
    fresh = await run.round("outage, new tokens");
  } finally {
    await run.controls.setOutage(false);
    run.events.push("IdP outage over");
  }
  const attempts =
    fetchesBefore !== undefined && fetchesDuring !== undefined ? fetchesDuring - fetchesBefore : undefined;
  return [
    allServed(run, before),
    {
      name: "outage: the gateway really met the outage",
      holds: refreshWorked !== true && (attempts === undefined || attempts > 0),
      detail: `gateway JWKS fetches answered 503 by the emulator: ${attempts ?? "unknown"}; refresh ${refreshWorked === false ? "failed (last good keys kept)" : refreshWorked === true ? "succeeded?!" : "result not reported"}`,
    },
    allServed(run, held),
    allServed(run, fresh),
  ];
};

const badTokens: ScenarioRunner = async (run) => {
  const target = pickTenant(run, "last");
  const hosts = run.options.stack.tenants.filter((t) => !t.disabled && t.id !== target.id && t.users.length > 0);
  // Tenants of one cloud share its signing keys (as in Entra): the forgery's key must come from another cloud.
  const other = hosts.find((t) => t.cloud !== target.cloud);
  if (!other)
    throw new Error("bad-tokens needs an enabled tenant with users in another cloud (for the cross-cloud forgery)");
  const bad = await mintBadTokens(run.controls.http, run.options.stack.entra.url, target, other);
  run.events.push(`minted ${bad.length} bad tokens for ${target.name} (${BAD_TOKEN_CASES.join(", ")})`);
  const cursor = await run.controls.mpAudit?.cursor();
  const metricsBefore = await run.controls.rejectionsByReason();
  const sent: { record: RequestRecord; reason: string; bad: BadToken }[] = [];
  const sendBad = async () => {
    const gw = run.options.stack.gateway.url;
    for (const b of bad) {
      for (const request of [
        stsRequest(gw),
        { method: "GET" as const, url: `${gw}/CCM_Client/PS100004/bad.cab?size=16` },
      ]) {
        const answer = await run.ctx.http.send({
          ...request,
          headers: { ...request.headers, authorization: `Bearer ${b.token}` },
        });
        const verdict = judge(answer, b.expect);
        const record: RequestRecord = {
          round: "valid fleet + bad tokens",
          client: `bad:${b.name}`,
          tenantId: b.tenantId,
          step: "bad-token",
          status: answer.status,
          ms: answer.ms,
          tokenFp: tokenFingerprint(b.token),
          ...verdict,
        };
        run.records.push(record);
        sent.push({ record, reason: b.reason, bad: b });
      }
    }
  };
  const outcome = await run.round("valid fleet + bad tokens", {}, sendBad());
  const checks: Check[] = [
    allServed(run, outcome),
    {
      name: "every bad token refused with its status and challenge",
      holds: sent.every((s) => s.record.result === "refused"),
      detail:
        sent
          .filter((s) => s.record.result !== "refused")
          .map((s) => `${s.bad.name}: ${s.record.reason}`)
          .join("; ") || `${sent.length} requests with ${bad.length} bad tokens, each refused as prescribed`,
    },
    await reasonCheck("every bad token refused for its exact reason", run, sent, metricsBefore),
  ];
  if (run.controls.mpAudit && cursor !== undefined) {
    const entries = await run.controls.mpAudit.entriesSince(cursor);
    const markers = new Set(bad.map((b) => b.marker));
    const leaked = entries.filter((e) => e.identity?.objectId !== undefined && markers.has(e.identity.objectId));
    // Every request the gateway let through is one audit entry: on the paths the bad tokens used, the MP must
    // have seen exactly the valid fleet's served requests.
    const onPaths = (p: string) => /^\/(ccm_sts|ccm_client\/)/i.test(p);
    const seen = entries.filter((e) => onPaths(e.path)).length;
    const served = run.records.filter(
      (r) => (r.step === "ccm-sts" || r.step === "content") && r.result === "ok",
    ).length;
    checks.push({
      name: "none of the bad tokens reached the MP (its audit)",
      holds: leaked.length === 0 && seen === served,
      detail: `${entries.length} audit entries since the start; ${leaked.length} with a bad token's identity; on /CCM_STS and /CCM_Client/ ${seen} entries for ${served} served fleet requests`,
    });
  } else {
    checks.push({
      name: "none of the bad tokens reached the MP (its audit)",
      holds: true,
      skipped: true,
      detail: "the MP audit is not readable (no gateway client certificate next to the CA)",
    });
  }
  return checks;
};

const SCENARIO_RUNNERS: Readonly<Record<ScenarioName, ScenarioRunner>> = {
  happy,
  "disabled-tenant": disabledTenant,
  "key-rotation": keyRotation,
  "idp-outage": idpOutage,
  "bad-tokens": badTokens,
};

/** The result as `--json` prints it (docs/simulators.md § `--json`): totals, per-step counts, rounds, events, verdict; no records. */
export function resultToJson(result: SimulationResult): Omit<SimulationResult, "records"> {
  const { records: _records, ...rest } = result;
  return rest;
}

/** The human summary: scenario, events, rounds, the step table and the verdict. */
export function renderSummary(result: SimulationResult): string {
  const lines = [
    `scenario ${result.scenario}: ${result.clients} clients${result.probes > 0 ? ` + ${result.probes} probe(s)` : ""}, ${result.requests} requests in ${(result.durationMs / 1000).toFixed(1)} s`,
  ];
  for (const e of result.events) lines.push(`  · ${e}`);
  lines.push(
    `rounds: ${result.rounds.map((r) => `${r.name} (${r.ok} served, ${r.refused} refused, ${r.failed} failed, ${(r.durationMs / 1000).toFixed(1)} s)`).join("; ")}`,
    "",
    renderStepTable(result.steps, result),
    "",
    ...(result.gateways.length > 1
      ? [
          "per gateway:",
          ...result.gateways.map(
            (g) =>
              `  ${g.url}: ${g.clients} clients, ${g.requests} requests (${g.ok} ok, ${g.refused} refused, ${g.failed} failed)`,
          ),
          "",
        ]
      : []),
    `verdict: ${result.verdict.holds ? "HOLDS" : "DOES NOT HOLD"}`,
  );
  for (const c of result.verdict.checks) {
    lines.push(`  ${c.skipped ? "–" : c.holds ? "✓" : "✗"} ${c.name}: ${c.detail}`);
  }
  return lines.join("\n");
}
