/**
 * What the console shows of a connection analyzer run: the report of `analyzeConnection`, stage by stage
 * (docs/operations.md § Console). The console only runs it through {@link ConsoleAnalyzer} and renders the
 * report; the analyzer itself lives apart.
 */

/** One stage of an analyzer run. */
export interface AnalyzerStage {
  readonly stage: number;
  readonly name: string;
  readonly status: "pass" | "fail" | "skip";
  readonly detail: string;
  readonly hint?: string;
}

/** An analyzer run. */
export interface AnalyzerReport {
  readonly tenantId: string;
  readonly ok: boolean;
  readonly stages: readonly AnalyzerStage[];
}

/** Runs the connection analyzer for one tenant of the configuration in force. */
export type ConsoleAnalyzer = (tenantId: string) => Promise<AnalyzerReport>;
