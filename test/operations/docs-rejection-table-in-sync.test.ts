import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { REJECTION_REASONS, REJECTION_TABLE } from "../../gateway/auth/rejection.js";
import { createControlMetrics, createRequestMetrics } from "../../gateway/observability/metrics.js";

const DOC = join(import.meta.dirname, "../../docs/operations.md");

/** The level-2 section of a markdown document that starts with `heading`, up to the next level-2 heading. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

describe("docs/operations.md", () => {
  it("when the rejection table is read from the docs, then it lists exactly the reasons of REJECTION_TABLE with their status and challenge", async () => {
    const text = await readFile(DOC, "utf8");
    const rows = [
      ...section(text, "## Rejection reasons").matchAll(/^\|\s*`(\w+)`\s*\|\s*(\d{3})\s*\|\s*(.+?)\s*\|$/gm),
    ].map((m) => ({
      reason: m[1]!,
      status: Number(m[2]),
      challenge: m[3]!,
    }));
    expect(rows.map((r) => r.reason)).toEqual([...REJECTION_REASONS]);
    for (const row of rows) {
      const expected = REJECTION_TABLE[row.reason as keyof typeof REJECTION_TABLE];
      expect(row.status, row.reason).toBe(expected.status);
      const challenge =
        expected.challenge === null
          ? /^none/
          : expected.challenge === "none"
            ? /no error/
            : new RegExp(`\`${expected.challenge}\``);
      expect(row.challenge, row.reason).toMatch(challenge);
    }
  });

  it("when a metric is created in the code, then the docs list it", async () => {
    const text = section(await readFile(DOC, "utf8"), "## Metrics");
    const code = await readFile(join(import.meta.dirname, "../../gateway/observability/metrics.ts"), "utf8");
    const names = [...code.matchAll(/name: "(entra_gateway_\w+)"/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(text, name).toContain(`\`${name}\``);
  });

  it("when a serving process registers its metrics, then the docs list each, the process and event-loop metrics included", async () => {
    const text = section(await readFile(DOC, "utf8"), "## Metrics");
    const registry = new Registry();
    createRequestMetrics(registry);
    createControlMetrics(registry);
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toContain("entra_gateway_nodejs_eventloop_lag_p99_seconds");
    expect(names).toContain("entra_gateway_process_resident_memory_bytes");
    for (const name of names) expect(text, name).toContain(`\`${name}\``);
  });
});
