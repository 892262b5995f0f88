/**
 * What can be tested of the container image without a container engine: the gateway compiled alone into a
 * fresh directory with `npm ci --omit=dev` (as the Dockerfile's `deps` + `gateway` stages do), started from
 * `dist/` with production dependencies only, answering the Dockerfile's own HEALTHCHECK command, serving the
 * whole client flow, and stopping on SIGTERM. Plus the Dockerfile's promises (Node 24 base, non-root user,
 * production dependencies, health check on /healthz, documented config path).
 *
 * `npm ci --prefer-offline` reads the npm cache the repository's own `npm ci` filled; it needs the registry
 * only for packages missing from it.
 *
 * The production run takes 40–60 s on a 2-core machine (a second `tsc`, an `npm ci`, a stack), more than the
 * rest of this folder together, so the suite skips it unless `TEST_PRODUCTION_BUILD=1`:
 *
 *   TEST_PRODUCTION_BUILD=1 npx vitest run test/client-simulator/container-production-build.test.ts
 *
 * The Dockerfile's static promises are checked on every run.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSimulation } from "../../client-simulator/simulation.js";
import { type Stack, startStack } from "../../stack/start-stack.js";

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, "../..");
let dir: string;
let stack: Stack;
let gateway: ChildProcess | undefined;
let gatewayUrl: string;
let dockerfile: string;

/** The HEALTHCHECK's exec-form command, exactly as the Dockerfile gives it. */
function healthcheckCommand(): string[] {
  const m = /HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])\n/.exec(dockerfile);
  if (!m) throw new Error("no exec-form HEALTHCHECK CMD in the Dockerfile");
  return JSON.parse(m[1]!) as string[];
}

async function healthcheck(url: string): Promise<number> {
  const [cmd, ...args] = healthcheckCommand();
  try {
    await run(cmd === "node" ? process.execPath : cmd!, args, {
      cwd: dir,
      env: { ...process.env, HEALTHCHECK_URL: url },
      timeout: 10_000,
    });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? 1;
  }
}

/** Starts the production gateway from `dir/dist`, resolves with its URL from its "gateway listening" line. */
function startProductionGateway(configPath: string): Promise<string> {
  const main = join(dir, "dist/gateway/main.js");
  const args = [main, "serve", "--config", configPath, "--state-dir", join(dir, "state"), "--workers", "1"];
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, NODE_ENV: "production" } });
  gateway = child;
  return new Promise((resolveUrl, reject) => {
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    child.stdout.on("data", (d) => {
      out += String(d);
      const line = out.split("\n").find((l) => l.includes('"gateway listening"'));
      if (line) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.on("exit", (code) => reject(new Error(`production gateway exited (${code}): ${err.slice(-2000)}`)));
  });
}

const PRODUCTION = process.env.TEST_PRODUCTION_BUILD === "1";

describe.skipIf(!PRODUCTION)(
  "the production build (what the container image runs; slow: set TEST_PRODUCTION_BUILD=1)",
  () => {
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "entra-gateway-prod-"));
      dockerfile = await readFile(join(repo, "Dockerfile"), "utf8");
      // The gateway alone, compiled into dir/dist (the image holds dist/gateway only).
      const tsconfig = join(dir, "tsconfig.json");
      await writeFile(
        tsconfig,
        JSON.stringify({
          extends: join(repo, "tsconfig.build.json"),
          compilerOptions: {
            outDir: join(dir, "dist"),
            rootDir: repo,
            sourceMap: false,
            typeRoots: [join(repo, "node_modules/@types")],
          },
          include: [join(repo, "gateway")],
          exclude: ["**/*.test.ts"],
        }),
      );
      await copyFile(join(repo, "package.json"), join(dir, "package.json"));
      await copyFile(join(repo, "package-lock.json"), join(dir, "package-lock.json"));
      await mkdir(join(dir, "state"));
      const npm = process.platform === "win32" ? "npm.cmd" : "npm";
      const settled = await Promise.allSettled([
        run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { cwd: dir }).catch(
          (err: { stdout?: string }) => {
            throw new Error(`tsc (gateway only) failed:\n${err.stdout ?? String(err)}`);
          },
        ),
        run(npm, ["ci", "--omit=dev", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], {
          cwd: dir,
          timeout: 120_000,
        }),
        startStack({ stateDir: join(dir, "stack-state"), logger: pino({ level: "silent" }) }),
      ]);
      // Keep the stack even when another part failed, so afterAll stops it.
      if (settled[2].status === "fulfilled") stack = settled[2].value;
      for (const part of settled) if (part.status === "rejected") throw part.reason;
      gatewayUrl = await startProductionGateway(stack.gatewayConfigFile);
    }, 180_000);

    afterAll(async () => {
      if (gateway && gateway.exitCode === null) gateway.kill("SIGKILL");
      await stack?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("when installed with production dependencies only, then no development dependency is there", () => {
      expect(existsSync(join(dir, "node_modules/fastify"))).toBe(true);
      for (const dev of ["typescript", "vitest", "@biomejs/biome", "autocannon"]) {
        expect(existsSync(join(dir, "node_modules", dev)), dev).toBe(false);
      }
    });

    it("when started from dist/, then the Dockerfile's HEALTHCHECK command passes (and fails against a closed port)", async () => {
      expect(await healthcheck(`${gatewayUrl}/healthz`)).toBe(0);
      expect(await healthcheck("https://127.0.0.1:1/healthz")).not.toBe(0);
    });

    it("when clients run through the production gateway, then the whole flow is served", async () => {
      const result = await runSimulation({
        stack: { ...stack.description, gateway: { url: gatewayUrl } },
        clients: 6,
        scenario: "happy",
      });
      expect(result.verdict.holds, JSON.stringify(result.verdict.checks)).toBe(true);
      expect(result.steps["ccm-sts"]?.ok).toBeGreaterThan(0);
    });

    it("when sent SIGTERM, then it stops by itself", async () => {
      const child = gateway!;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    });
  },
);

describe("the Dockerfile", () => {
  it("when the Dockerfile is read, then it keeps its promises: Node 24, production deps, non-root, /healthz, config path", async () => {
    const dockerfile = await readFile(join(repo, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const final = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(final).toMatch(/^FROM \$\{NODE_IMAGE\} AS gateway$/m);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/COPY --from=build \/src\/dist\/gateway \.\/dist\/gateway/);
    expect(final).toMatch(/HEALTHCHECK_URL=https:\/\/127\.0\.0\.1:8443\/healthz/);
    expect(final).toMatch(/\/etc\/entra-gateway\/gateway\.yaml/);
  });
});
