/**
 * deploy/monitoring stays true to the gateway: every series the alert rules and the Grafana dashboard query
 * exists in the gateway's metrics registry (built here by the gateway's own factories, never a copied list),
 * with the labels they match and group on, and every expression parses as PromQL.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { createControlMetrics, createRequestMetrics } from "../../gateway/observability/metrics.js";
import { DEPLOY_DIR } from "./fixtures.js";
import { analysePromql, substituteGrafanaIntervals } from "./promql.js";

const RULES_FILE = join(DEPLOY_DIR, "monitoring/prometheus-rules.yaml");
const DASHBOARD_FILE = join(DEPLOY_DIR, "monitoring/grafana-dashboard.json");

/**
 * Series of other exporters the rules may use, with their labels: kube-state-metrics' pod readiness and
 * Deployment replica counts (readiness is the kubelet's view; the gateway has no metric for it).
 */
const EXTERNAL_SERIES: Readonly<Record<string, readonly string[]>> = {
  kube_pod_status_ready: ["namespace", "pod", "uid", "condition"],
  kube_deployment_status_replicas_available: ["namespace", "deployment"],
  kube_deployment_spec_replicas: ["namespace", "deployment"],
};

/** Every series name the gateway exposes (histograms as _bucket/_sum/_count), with its label names. */
async function gatewaySeries(): Promise<Map<string, Set<string>>> {
  const registry = new Registry();
  createRequestMetrics(registry);
  createControlMetrics(registry);
  const series = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray() as unknown as {
    name: string;
    type: string;
    labelNames?: readonly string[];
  }[]) {
    const labels = new Set(metric.labelNames ?? []);
    if (metric.type === "histogram") {
      series.set(`${metric.name}_bucket`, new Set([...labels, "le"]));
      series.set(`${metric.name}_sum`, labels);
      series.set(`${metric.name}_count`, labels);
    } else series.set(metric.name, labels);
  }
  return series;
}

let known: Map<string, Set<string>>;
beforeAll(async () => {
  known = await gatewaySeries();
  for (const [name, labels] of Object.entries(EXTERNAL_SERIES)) known.set(name, new Set(labels));
});

/**
 * Checks one expression against the registry.
 *
 * @returns problems (empty when fine) and the labels its result can carry
 */
function checkExpression(where: string, rawExpr: string): { problems: string[]; labels: Set<string> } {
  const expr = substituteGrafanaIntervals(rawExpr);
  const analysis = analysePromql(expr);
  const problems = analysis.errors.map((e) => `${where}: ${e}`);
  const labels = new Set(analysis.groupingLabels);
  if (analysis.selectors.length === 0) problems.push(`${where}: selects no series`);
  for (const s of analysis.selectors) {
    if (s.metric === undefined) {
      problems.push(`${where}: a selector without a metric name`);
      continue;
    }
    const metricLabels = known.get(s.metric);
    if (metricLabels === undefined) {
      problems.push(`${where}: ${s.metric} is not a metric of the gateway's registry`);
      continue;
    }
    for (const l of metricLabels) labels.add(l);
    for (const l of s.labels) {
      if (!metricLabels.has(l)) problems.push(`${where}: ${s.metric} has no label ${l}`);
    }
  }
  // A label the expression groups or matches on must exist on one of the series it selects.
  for (const l of analysis.groupingLabels) {
    const onSome = analysis.selectors.some((s) => s.metric !== undefined && known.get(s.metric)?.has(l));
    if (!onSome) problems.push(`${where}: groups on ${l}, which none of its series has`);
  }
  return { problems, labels };
}

/** `{{ $labels.x }}` (rules) and `{{x}}` (Grafana legends) label references in a template. */
function templateLabels(template: string): string[] {
  return [...template.matchAll(/\{\{\s*(?:\$labels\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1] ?? "");
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function readRules(): { name: string; rules: Rule[] }[] {
  return (parse(readFileSync(RULES_FILE, "utf8")) as { groups: { name: string; rules: Rule[] }[] }).groups;
}

describe("deploy/monitoring/prometheus-rules.yaml", () => {
  it("every rule parses as PromQL and names only series, labels and groupings the gateway has", () => {
    const problems: string[] = [];
    let rules = 0;
    for (const group of readRules()) {
      for (const rule of group.rules) {
        rules++;
        const where = `${group.name}/${rule.alert ?? rule.record}`;
        const checked = checkExpression(where, rule.expr);
        problems.push(...checked.problems);
        for (const text of Object.values(rule.annotations ?? {})) {
          for (const l of templateLabels(text.replace(/\{\{\s*\$value[^}]*\}\}/g, ""))) {
            if (!checked.labels.has(l)) problems.push(`${where}: annotation uses label ${l}, the result has none`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(rules).toBeGreaterThan(0);
  });

  it("every alert has a severity, a summary and a description, and group and alert names are unique", () => {
    const groups = readRules();
    expect(new Set(groups.map((g) => g.name)).size).toBe(groups.length);
    const alerts = groups.flatMap((g) => g.rules);
    expect(new Set(alerts.map((r) => r.alert)).size).toBe(alerts.length);
    for (const rule of alerts) {
      expect(rule.alert, rule.expr).toMatch(/^EntraGateway[A-Za-z]+$/);
      expect(["warning", "critical"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
  });

  it("the rules cover keys stale or unavailable, secrets expiring or expired, refusal spikes, upstream errors and readiness", () => {
    const names = readRules().flatMap((g) => g.rules.map((r) => r.alert));
    for (const name of [
      "EntraGatewayKeySetStale",
      "EntraGatewayKeySetUnavailable",
      "EntraGatewayWebAppSecretExpiringSoon",
      "EntraGatewayWebAppSecretExpired",
      "EntraGatewayRefusalSpike",
      "EntraGatewayUpstreamErrors",
      "EntraGatewayPodNotReady",
    ]) {
      expect(names).toContain(name);
    }
    const spike = readRules()
      .flatMap((g) => g.rules)
      .find((r) => r.alert === "EntraGatewayRefusalSpike");
    expect(analysePromql(spike?.expr ?? "").groupingLabels).toContain("tenant");
  });

  const promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find((p) => existsSync(p));
  it.skipIf(promtool === undefined)(
    "promtool check rules accepts the file (when Debian's prometheus is installed)",
    () => {
      const out = execFileSync(promtool ?? "promtool", ["check", "rules", RULES_FILE], { encoding: "utf8" });
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
    },
  );

  it.skipIf(promtool === undefined)(
    "the alerts fire, and stay quiet, as test/deploy/alert-scenarios.yaml says (promtool test rules)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "entra-deploy-alerts-"));
      try {
        // promtool compares annotations in full; their templates are checked by `promtool check rules` above.
        const groups = readRules().map((g) => ({
          ...g,
          rules: g.rules.map(({ annotations: _annotations, ...rule }) => rule),
        }));
        writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
        const scenarios = readFileSync(join(import.meta.dirname, "alert-scenarios.yaml"), "utf8");
        writeFileSync(
          join(dir, "scenarios.yaml"),
          scenarios.replace("rule_files: [RULES]", "rule_files: [rules.yaml]"),
        );
        const out = execFileSync(promtool ?? "promtool", ["test", "rules", join(dir, "scenarios.yaml")], {
          encoding: "utf8",
        });
        expect(out).toMatch(/SUCCESS/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; legendFormat?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

describe("deploy/monitoring/grafana-dashboard.json", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as {
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");

  it("every query parses as PromQL and names only series, labels and groupings the gateway has", () => {
    const problems: string[] = [];
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const checked = checkExpression(`"${panel.title}"`, target.expr);
        problems.push(...checked.problems);
        for (const l of templateLabels(target.legendFormat ?? "")) {
          if (!checked.labels.has(l)) problems.push(`"${panel.title}": legend uses label ${l}, the result has none`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("its variables query gateway series and labels that exist", () => {
    for (const v of dashboard.templating.list.filter((x) => x.type === "query")) {
      const query = typeof v.query === "string" ? v.query : v.query.query;
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(query);
      expect(m, query).not.toBeNull();
      expect(known.get(m?.[1] ?? "")?.has(m?.[2] ?? ""), query).toBe(true);
    }
  });

  it("every panel and query uses the dashboard's data source variable, and panel ids are unique", () => {
    // Grafana's variable syntax, not a template literal: an imported dashboard asks which Prometheus to use.
    const variable = ["$", "{datasource}"].join("");
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(variable);
      for (const t of panel.targets ?? []) expect(t.datasource?.uid, panel.title).toBe(variable);
    }
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("the registry the monitoring tests read", () => {
  it("when a rule names a metric the gateway does not have, then the check reports it", () => {
    expect(checkExpression("t", "sum(rate(entra_gateway_requests_totl[5m]))").problems).toEqual([
      "t: entra_gateway_requests_totl is not a metric of the gateway's registry",
    ]);
    expect(checkExpression("t", 'entra_gateway_jwks_key_state{stat="stale"}').problems).toEqual([
      "t: entra_gateway_jwks_key_state has no label stat",
    ]);
    expect(checkExpression("t", "sum by (tenat) (entra_gateway_jwks_keys)").problems).toEqual([
      "t: groups on tenat, which none of its series has",
    ]);
    expect(checkExpression("t", "sum(rate(entra_gateway_requests_total[5m])").problems.join()).toMatch(/syntax error/);
  });
});
