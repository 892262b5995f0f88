/**
 * A one-line progress bar on a terminal (stderr), redrawn at most ten times a second: no dependency, and
 * nothing at all when stderr is not a TTY (CI logs, `--json` piped into jq).
 */
import type { Progress } from "./controls.js";

/** A progress line; `update` is a {@link SimulationHooks.onProgress}. */
export interface ProgressLine {
  update(progress: Progress): void;
  /** Erases the line (call before printing the summary). */
  done(): void;
}

/** Draws on `stream` when it is a TTY; a no-op otherwise. */
export function createProgressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      const width = 24;
      const filled = Math.round((p.done / Math.max(1, p.total)) * width);
      const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
      const text =
        `${bar} ${p.done}/${p.total} clients · round ${p.roundIndex + 1}/${p.rounds} "${p.round}" · ` +
        `${p.requests} requests · ${p.failed} failed`;
      const columns = stream.columns ?? 120;
      stream.write(`\r${text.slice(0, columns - 1)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write("\r\x1b[K");
      drawn = false;
    },
  };
}
