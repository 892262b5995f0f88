/**
 * Reload tells the truth: a key read only at start (the JWKS cache's timings, the verdict caches' sizes, the
 * listeners' limits) is never reported "applied" silently — the reload's answer and its log line name it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { validateConfigTextAt } from "../../gateway/config/load.js";
import { createConfigReloader } from "../../gateway/config/watch.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "entra-reload-keys-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const BASE = { upstream: { url: "https://mp.contoso.local" }, routes: [{ prefix: "/", requirement: "anonymous" }] };

/** Reloads `BASE` changed by `edit`; the outcome and the log lines. */
async function reloadWith(name: string, edit: (doc: any) => void) {
  const file = join(dir, `${name}.yaml`);
  const text = stringify(BASE);
  await writeFile(file, text);
  const first = validateConfigTextAt(text, file);
  if (!first.ok) throw new Error(first.problems.join("; "));
  const lines: any[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  );
  const reloader = createConfigReloader({
    path: file,
    initial: { config: first.config, text },
    logger,
    apply: async () => [],
  });
  const doc = structuredClone(BASE) as any;
  edit(doc);
  await writeFile(file, stringify(doc));
  const outcome = await reloader.reload("admin");
  reloader.close();
  if (outcome.result !== "applied") throw new Error(`reload ${outcome.result}`);
  return { restartRequired: outcome.restartRequired, lines };
}

describe("reload names the keys that need a restart", () => {
  it.each([
    ["JWKS timings", (d: any) => (d.auth = { jwks: { refreshIntervalMs: 60_000 } }), "auth.jwks.refreshIntervalMs"],
    [
      "verified cache size",
      (d: any) => (d.auth = { verifiedCache: { maxEntries: 10 } }),
      "auth.verifiedCache.maxEntries",
    ],
    [
      "negative cache size",
      (d: any) => (d.auth = { negativeCache: { maxEntries: 10 } }),
      "auth.negativeCache.maxEntries",
    ],
    ["listener limits", (d: any) => (d.listen = { headersTimeoutMs: 5_000 }), "listen.headersTimeoutMs"],
    ["upstream admission", (d: any) => (d.upstream.queueTimeoutMs = 100), "upstream.queueTimeoutMs"],
  ])("when the %s change, then the reload answer and log name exactly that key", async (name, edit, key) => {
    const { restartRequired, lines } = await reloadWith(name.replace(/\W/g, "-"), edit);
    expect(restartRequired).toEqual([key]);
    const warning = lines.find((l) =>
      String(l.msg).startsWith("configuration keys changed that apply only after a restart"),
    );
    expect(warning?.msg).toContain(key);
  });

  it("when only a per-request setting changes, then nothing is reported as needing a restart", async () => {
    const { restartRequired } = await reloadWith("clock-skew", (d) => (d.auth = { clockSkewSec: 60 }));
    expect(restartRequired).toEqual([]);
  });
});
