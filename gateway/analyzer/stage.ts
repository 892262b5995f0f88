/** What one analyzer stage found, before `analyze.ts` numbers and names it. */
export interface StageOutcome {
  readonly status: "pass" | "fail" | "skip";
  /** What was checked and what came back; never a token (a fingerprint at most) or a secret. */
  readonly detail: string;
  /** What the admin should do (failures and skips). */
  readonly hint?: string;
}
