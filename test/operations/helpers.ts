/**
 * Helpers for the operations tests: admin API and metrics calls, a metrics-text reader, and the compiled
 * CLI (`entra-gateway serve`) run as a child process for the multi-worker and signal tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { Agent, request } from "undici";
import { builtGatewayMain } from "../harness-pool.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** A JSON answer. */
export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

/** Calls a URL and parses a JSON answer when there is one. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; dispatcher?: Agent } = {},
): Promise<JsonAnswer> {
  const res = await request(url, {
    method: (init.method ?? "GET") as "GET",
    headers: init.headers ?? {},
    body: init.body ?? null,
    ...(init.dispatcher ? { dispatcher: init.dispatcher } : {}),
  });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.statusCode, headers: res.headers, body, text };
}

/**
 * `POST {url}/CCM_STS` with a bearer token on a connection of its own, so a cluster's round-robin spreads
 * such requests over its workers; resolves with the status.
 */
export async function postOnNewConnection(url: string, ca: string, token: string): Promise<number> {
  const agent = new Agent({ connect: { ca } });
  try {
    const res = await request(`${url}/CCM_STS`, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

/** An admin API client. */
export function adminClient(baseUrl: string, key: string | undefined, dispatcher?: Agent) {
  return (method: string, path: string) =>
    call(`${baseUrl}${path}`, {
      method,
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      ...(dispatcher ? { dispatcher } : {}),
    });
}

/**
 * The value of one series in Prometheus text, or undefined when absent.
 *
 * @param text the exposition
 * @param name metric (with `_bucket`/`_count` suffix where relevant)
 * @param labels labels the series must carry (others ignored)
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf("{");
    const close = line.lastIndexOf("}");
    const labelText = open === -1 || open > name.length ? "" : line.slice(open + 1, close);
    const have = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      total = (total ?? 0) + Number(line.slice(close === -1 ? name.length : close + 1).trim());
    }
  }
  return total;
}

/** Polls `check` until it returns a value other than undefined/false (bounded; no timing assertion). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  limitMs = 20_000,
): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------------------------------ the compiled CLI

/**
 * The compiled gateway's `main.js` (production runs compiled JavaScript). The run builds `gateway/` once, in
 * the background from its global setup (harness-pool.ts); this waits for that build.
 */
export async function buildCli(): Promise<string> {
  return builtGatewayMain();
}

/** A gateway started as `node main.js serve …`. */
export interface ServedGateway {
  readonly child: ChildProcess;
  /** Every stdout line, parsed where JSON. */
  readonly lines: Array<Record<string, any>>;
  readonly stderr: string[];
  readonly url: string;
  readonly adminUrl: string;
  readonly metricsUrl: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** How the `serve` process is started: as another user (drills of a read-only configuration), detached. */
export interface ServeOptions {
  readonly uid?: number;
  readonly gid?: number;
  /** Its own process group, so a test can signal the group as a terminal's Ctrl-C does. */
  readonly detached?: boolean;
}

/**
 * Spawns `serve` and waits for its "gateway ready" line.
 *
 * @param main from {@link buildCli}
 * @param args arguments after `serve`
 * @param options user and process group
 */
export async function serveCli(
  main: string,
  args: readonly string[],
  options: ServeOptions = {},
): Promise<ServedGateway> {
  const child = spawn(process.execPath, [main, "serve", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_LEVEL: "info" },
    ...options,
  });
  const lines: Array<Record<string, any>> = [];
  const stderr: string[] = [];
  let buffered = "";
  let onReady: ((line: Record<string, any>) => void) | undefined;
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let nl = buffered.indexOf("\n");
    while (nl !== -1) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
      try {
        const line = JSON.parse(text) as Record<string, any>;
        lines.push(line);
        if (line.msg === "gateway ready") onReady?.(line);
      } catch {
        lines.push({ raw: text });
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const ready = await Promise.race([
    new Promise<Record<string, any>>((done) => {
      onReady = done;
    }),
    exited.then((code) => {
      throw new Error(`gateway exited (${code}) before it was ready: ${stderr.join("")}`);
    }),
  ]);
  return {
    child,
    lines,
    stderr,
    url: ready.url,
    adminUrl: ready.adminUrl,
    metricsUrl: ready.metricsUrl,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
