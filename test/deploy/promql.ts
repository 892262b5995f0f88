/**
 * What the monitoring tests need to know about a PromQL expression, from Prometheus' own grammar
 * (@prometheus-io/lezer-promql, the parser of Prometheus' web UI): whether it parses, which series it selects
 * with which label matchers, and which labels it groups or matches on.
 */
import { parser } from "@prometheus-io/lezer-promql";

/** One vector selector: `name{label="…", …}`. */
export interface Selector {
  /** The metric name; undefined for a selector without one (`{job="x"}`). */
  readonly metric: string | undefined;
  /** Label names its matchers use. */
  readonly labels: readonly string[];
}

/** An expression, analysed. */
export interface PromqlAnalysis {
  /** Syntax errors, with the text around them; empty when the expression parses. */
  readonly errors: readonly string[];
  readonly selectors: readonly Selector[];
  /** Labels of `by (…)`, `without (…)`, `on (…)` and `ignoring (…)`. */
  readonly groupingLabels: readonly string[];
}

/**
 * Grafana's interval variables, replaced by a duration before parsing (Grafana substitutes them before the
 * query reaches Prometheus). Other `$variables` stand inside label values, where PromQL reads them as text.
 */
export function substituteGrafanaIntervals(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, "5m");
}

/**
 * Parses and analyses one expression.
 *
 * @param expr PromQL text
 */
export function analysePromql(expr: string): PromqlAnalysis {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push(`syntax error at ${node.from}: …${text(Math.max(0, node.from - 20), node.from + 20)}…`);
        return;
      }
      if (node.name === "VectorSelector") {
        let metric: string | undefined;
        const labels: string[] = [];
        const cursor = node.node.cursor();
        cursor.iterate((inner) => {
          if (inner.name === "Identifier" && inner.node.parent?.name === "VectorSelector") {
            metric = text(inner.from, inner.to);
          }
          if (inner.name === "LabelName") labels.push(text(inner.from, inner.to));
        });
        selectors.push({ metric, labels });
        return false;
      }
      if (node.name === "GroupingLabels") {
        node.node.cursor().iterate((inner) => {
          if (inner.name === "LabelName") groupingLabels.push(text(inner.from, inner.to));
        });
        return false;
      }
      return undefined;
    },
  });
  return { errors, selectors, groupingLabels };
}
