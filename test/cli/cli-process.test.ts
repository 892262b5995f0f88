/**
 * The compiled CLI as a person runs it: a usage error is a message and exit 2, never a stack trace; `serve
 * --json` reports a failure to start as JSON; `services remove` on a real terminal (a pseudo-terminal from
 * util-linux `script`) asks before it removes.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, eventually } from "../operations/helpers.js";

const CONFIG = `azureServices:
  - name: Fabrikam
    type: cloudManagement
    tenant: { id: 0b6c2f5e-8a44-4e1f-9d3a-2c7b91e0f4a8, name: fabrikam.onmicrosoft.com }
    webApp:
      name: ConfigMgrService
      clientId: 7d2b9c41-3e5f-4a6b-8c7d-9e0f1a2b3c4d
      appIdUri: api://0b6c2f5e-8a44-4e1f-9d3a-2c7b91e0f4a8/ConfigMgrService
      secret: { value: not-a-real-secret }
    nativeApp: { name: ConfigMgrClient, clientId: c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f }
upstream: { url: "https://127.0.0.1:9" }
`;

let main: string;
let dir: string;
let configPath: string;
beforeAll(async () => {
  main = await buildCli();
  dir = await mkdtemp(join(tmpdir(), "cli-process-"));
  configPath = join(dir, "gateway.yaml");
}, 240_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Exited {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command; `answer` is typed once `prompt` has appeared on stdout. */
function spawnRun(command: string, args: string[], answer?: { prompt: string; line: string }): Promise<Exited> {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, TERM: "dumb" } });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString("utf8");
  });
  const exited = new Promise<Exited>((done) => child.once("exit", (code) => done({ code, out, err })));
  if (answer !== undefined) {
    void eventually(async () => out.includes(answer.prompt), "the question").then(() => {
      child.stdin.write(`${answer.line}\n`);
    });
  } else {
    child.stdin.end();
  }
  return exited.then((r) => {
    child.stdin.destroy();
    return { ...r, out, err };
  });
}

/** `entra-gateway services remove …` on a pseudo-terminal (`script` gives the child a real TTY). */
function onTerminal(args: string[], answer: string): Promise<Exited> {
  const quoted = [process.execPath, main, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return spawnRun("script", ["-qec", quoted, "/dev/null"], { prompt: "(y/n)", line: answer });
}

describe("the compiled CLI", () => {
  it("when a flag is unknown, then it prints the usage and exits 2 without a stack trace", async () => {
    for (const argv of [
      ["serve", "--bogus"],
      ["check-config", "--bogus"],
      ["services", "list", "--bogus"],
    ]) {
      const r = await spawnRun(process.execPath, [main, ...argv]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain("Unknown option '--bogus'");
      expect(r.err).toMatch(/usage: entra-gateway/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it("when serve --json cannot start, then it exits 1 and the failure is one JSON object on stderr", async () => {
    await writeFile(configPath, "upstream: { url: ftp://x }\n");
    const r = await spawnRun(process.execPath, [main, "serve", "--config", configPath, "--workers", "1", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.err)).toMatchObject({ ok: false, error: expect.stringContaining("upstream.url") });
  });

  it("when services remove runs on a terminal and the answer is no, then nothing changes; yes removes it", async () => {
    await writeFile(configPath, CONFIG);
    const no = await onTerminal(["services", "remove", "fabrikam.onmicrosoft.com", "--config", configPath], "n");
    expect(no.out).toContain('Remove the connection "Fabrikam" (tenant fabrikam.onmicrosoft.com');
    expect(no.out).toContain("Nothing was changed.");
    expect(no.code).toBe(1);
    expect(await readFile(configPath, "utf8")).toBe(CONFIG);

    const yes = await onTerminal(["services", "remove", "Fabrikam", "--config", configPath], "y");
    expect(yes.out).toContain('Removed the connection "Fabrikam"');
    expect(yes.code).toBe(0);
    expect(await readFile(configPath, "utf8")).not.toContain("Fabrikam");
  });
});
