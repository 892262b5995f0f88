/**
 * `entra-gateway analyze` against the real local stack (emulator, MP simulators, gateway on loopback): every
 * stage passes for a device and for a user; a wrong server app secret stops the run at stage 2 with Entra's
 * AADSTS error and the renew hint; a gateway that is not listening fails stage 4; usage errors exit 2.
 * docs/operations.md § Connection analyzer.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type AnalyzerReport, gatewayUrlFromConfig } from "../../gateway/analyzer/analyze.js";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import type { GatewayConfig } from "../../gateway/config/types.js";
import type { StackTenant } from "../../stack/start-stack.js";
import { runMain } from "../cli/run-main.js";
import { type StackHarness, startStackHarness } from "../gateway-http/stack-harness.js";
import { builtGatewayMain } from "../harness-pool.js";
import { adminClient } from "../operations/helpers.js";

let h: StackHarness;
let contoso: StackTenant;
let tailspin: StackTenant;
let northwind: StackTenant;
/** The stack's configuration with Contoso's server app secret replaced by a wrong one. */
let wrongSecretConfig: string;
/** The stack's configuration expecting another v1 issuer in the public cloud than the authority names. */
let wrongIssuerConfig: string;

beforeAll(async () => {
  h = await startStackHarness();
  const byName = (prefix: string) => h.stack.description.tenants.find((t) => t.name.startsWith(prefix))!;
  contoso = byName("contoso");
  tailspin = byName("tailspin");
  northwind = byName("northwind");
  const doc = parse(await readFile(h.stack.gatewayConfigFile, "utf8"));
  const service = doc.azureServices.find(
    (s: { type: string; tenant: { id: string } }) => s.type === "cloudManagement" && s.tenant.id === contoso.id,
  );
  service.webApp.secret = { value: "not-the-secret-of-this-app" };
  wrongSecretConfig = `${h.stack.gatewayConfigFile}.wrong-secret.yaml`;
  await writeFile(wrongSecretConfig, stringify(doc));
  const other = parse(await readFile(h.stack.gatewayConfigFile, "utf8"));
  other.environments.AzurePublicCloud.issuerV1 = "https://sts.example.invalid/{tenantid}/";
  wrongIssuerConfig = `${h.stack.gatewayConfigFile}.wrong-issuer.yaml`;
  await writeFile(wrongIssuerConfig, stringify(other));
});
afterAll(() => h?.close());

/** `analyze` with the stack's config, gateway URL and CA, plus `args`. */
function analyze(args: readonly string[], options: { config?: string; env?: Record<string, string> } = {}) {
  return runMain(
    [
      "analyze",
      "--config",
      options.config ?? h.stack.gatewayConfigFile,
      "--ca",
      h.stack.description.caCert,
      ...(args.includes("--gateway") ? [] : ["--gateway", h.stack.gateway.url]),
      ...args,
    ],
    { env: options.env ?? {} },
  );
}

const execFileAsync = promisify(execFile);

/** `analyze … --json`: the exit code and the report. */
async function analyzeReport(args: readonly string[], options: { config?: string } = {}) {
  const result = await analyze([...args, "--json"], options);
  return { code: result.code, report: JSON.parse(result.out) as AnalyzerReport };
}

/** Anything shaped like a JWT (three base64url segments starting with a JSON header). */
const JWT = /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/;

const statuses = (report: AnalyzerReport) => report.stages.map((s) => s.status);

describe("when the whole chain works", () => {
  it("then every stage passes for a device, in words", async () => {
    const run = await analyze(["--tenant", contoso.name, "--device"]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    const lines = run.out.trim().split("\n");
    expect(lines[0]).toContain(contoso.id);
    const stageLines = lines.filter((l) => /^[✔✘–] \d\. /.test(l));
    expect(stageLines).toHaveLength(6);
    for (const line of stageLines) expect(line.startsWith("✔")).toBe(true);
    expect(run.out).toMatch(/3\. client token\s+device token of device [0-9a-f-]{36}, kid \S+, aud /);
    expect(run.out).toMatch(/1\. discovery and keys\s+issuer https:\/\/sts\.windows\.net\/[0-9a-f-]{36}\/; kids /);
    expect(run.out).toContain(`/CCM_Proxy_ServerAuth/${h.stack.description.mp.mps[0]!.id}/CCM_STS: HTTP 200`);
    expect(run.out).toContain("signature: RS256 signature verifies");
    expect(run.out).not.toMatch(JWT);
    expect(run.out).not.toContain(contoso.serverApp.secret);
  });

  it("then every stage passes for a user (US Government tenant by ID), as JSON", async () => {
    const user = tailspin.users[1]!;
    const run = await analyze(["--tenant", tailspin.id, "--user", user.upn, "--json"], {
      env: { ENTRA_GATEWAY_ANALYZE_PASSWORD: user.password },
    });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out) as AnalyzerReport;
    expect(report.tenantId).toBe(tailspin.id);
    expect(report.ok).toBe(true);
    expect(statuses(report)).toEqual(["pass", "pass", "pass", "pass", "pass", "pass"]);
    expect(report.stages.map((s) => s.name)).toEqual([
      "discovery and keys",
      "server app token",
      "client token",
      "AADAuthInfo",
      "CCM_STS",
      "token checks",
    ]);
    expect(report.stages[2]!.detail.startsWith(`user token for ${user.upn}, kid `)).toBe(true);
    expect(report.stages[2]!.detail).toContain(
      `aud "${tailspin.serverApp.appIdUri}", client "${tailspin.clientApp.clientId}"`,
    );
    expect(report.stages[5]!.detail).toContain(`appid ${JSON.stringify(tailspin.clientApp.clientId)}`);
    expect(run.out).not.toMatch(JWT);
    expect(run.out).not.toContain(user.password);
  });

  it("then a compiled CLI process reports the same and exits 0", async () => {
    const main = await builtGatewayMain();
    // execFile rejects on a non-zero exit code, so resolving is exit 0.
    const { stdout: out, stderr: err } = await execFileAsync(
      process.execPath,
      [
        main,
        "analyze",
        "--config",
        h.stack.gatewayConfigFile,
        "--tenant",
        contoso.id,
        "--device",
        "--gateway",
        h.stack.gateway.url,
        "--ca",
        h.stack.description.caCert,
        "--json",
      ],
      { env: { PATH: process.env.PATH ?? "" } },
    );
    expect(err).toBe("");
    expect(statuses(JSON.parse(out) as AnalyzerReport)).toEqual(["pass", "pass", "pass", "pass", "pass", "pass"]);
  });
});

describe("when something is wrong", () => {
  it("then a wrong server app secret stops the run at stage 2 with the AADSTS error and the renew hint", async () => {
    const { code, report } = await analyzeReport(["--tenant", contoso.id, "--device"], { config: wrongSecretConfig });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(statuses(report)).toEqual(["pass", "fail", "skip", "skip", "skip", "skip"]);
    const stage2 = report.stages[1]!;
    expect(stage2.detail).toContain("AADSTS7000215: Invalid client secret provided.");
    expect(stage2.hint).toContain("the server app secret in the config is wrong or expired");
    expect(stage2.hint).toContain("services renew-secret");
    for (const s of report.stages.slice(2)) expect(s.detail).toBe("not run: stage 2 failed");
    const human = await analyze(["--tenant", contoso.id, "--device"], { config: wrongSecretConfig });
    expect(human.code).toBe(1);
    expect(human.out).toMatch(/✘ 2\. server app token\s+.*AADSTS7000215/);
    expect(human.out).toMatch(/\n\s+hint: the server app secret in the config is wrong or expired/);
    expect(human.out).toContain("result: stage 2 (server app token) failed");
  });

  it("then an authority that names another issuer than the gateway expects fails stage 1", async () => {
    const { code, report } = await analyzeReport(["--tenant", contoso.id, "--device"], { config: wrongIssuerConfig });
    expect(code).toBe(1);
    expect(statuses(report)).toEqual(["fail", "skip", "skip", "skip", "skip", "skip"]);
    expect(report.stages[0]!.detail).toContain(`names issuer "https://sts.windows.net/${contoso.id}/"`);
    expect(report.stages[0]!.detail).toContain(`https://sts.example.invalid/${contoso.id}/`);
    expect(report.stages[0]!.hint).toContain("environments.AzurePublicCloud.issuerV1");
  });

  it("then a CMG ID the gateway does not route fails stage 5 with the management point hint", async () => {
    const { code, report } = await analyzeReport(["--tenant", contoso.id, "--device", "--mp", "1"]);
    expect(code).toBe(1);
    expect(statuses(report)).toEqual(["pass", "pass", "pass", "pass", "fail", "skip"]);
    expect(report.stages[4]!.detail).toContain("POST /CCM_Proxy_ServerAuth/1/CCM_STS: HTTP 404");
    expect(report.stages[4]!.hint).toContain("managementPoints");
  });

  it("then a gateway that does not listen fails stage 4 with a hint about the listener", async () => {
    const { code, report } = await analyzeReport([
      "--tenant",
      contoso.id,
      "--device",
      "--gateway",
      "https://127.0.0.1:1",
    ]);
    expect(code).toBe(1);
    expect(statuses(report)).toEqual(["pass", "pass", "pass", "fail", "skip", "skip"]);
    expect(report.stages[3]!.detail).toContain("ECONNREFUSED");
    expect(report.stages[3]!.hint).toContain("nothing listens at https://127.0.0.1:1");
    expect(report.stages[3]!.hint).toContain("listen.host and listen.port");
  });

  it("then a tenant whose Entra authentication is off fails stage 4 (AADAuthInfo 404)", async () => {
    const { code, report } = await analyzeReport(["--tenant", northwind.name, "--device"]);
    expect(code).toBe(1);
    expect(report.stages[3]!.status).toBe("fail");
    expect(report.stages[3]!.detail).toContain("HTTP 404");
    expect(report.stages[3]!.hint).toContain("disableAuthentication");
  });

  it("then --user without a password skips the stages that need its token, saying why", async () => {
    const { code, report } = await analyzeReport(["--tenant", contoso.id, "--user", contoso.users[1]!.upn]);
    expect(code).toBe(0);
    expect(statuses(report)).toEqual(["pass", "pass", "skip", "pass", "skip", "skip"]);
    expect(report.stages[2]!.hint).toContain("ENTRA_GATEWAY_ANALYZE_PASSWORD");
  });
});

describe("when the gateway refuses the client's token", () => {
  it("then stage 5 fails with the gateway's own reason in the hint", async () => {
    // The running gateway (and the file) now require a user token on /CCM_STS: a device token is refused.
    const file = h.stack.gatewayConfigFile;
    const good = await readFile(file, "utf8");
    const doc = parse(good);
    doc.routes = DEFAULT_ROUTES.map((r) => (r.prefix === "/CCM_STS" ? { ...r, requirement: "user" } : r));
    const admin = adminClient(h.stack.description.gateway.adminUrl, h.stack.description.gateway.adminKey, h.dispatcher);
    try {
      await writeFile(file, stringify(doc));
      const reload = await admin("POST", "/config/reload");
      // "unchanged" when the gateway's file watcher applied the new file first: either way it is in force.
      expect(reload.text).toMatch(/"result":"(applied|unchanged)"/);
      const { code, report } = await analyzeReport(["--tenant", contoso.id, "--device"]);
      expect(code).toBe(1);
      expect(statuses(report)).toEqual(["pass", "pass", "pass", "pass", "fail", "skip"]);
      expect(report.stages[4]!.detail).toContain("HTTP 403, insufficient_scope: the gateway refused the token");
      expect(report.stages[4]!.hint).toContain("the gateway's reason: policy: token_kind_not_allowed");
      expect(report.stages[4]!.hint).toContain("entra-gateway explain-token --path /CCM_Proxy_ServerAuth/");
    } finally {
      await writeFile(file, good);
      await admin("POST", "/config/reload");
    }
  });
});

describe("when the command line is wrong", () => {
  it.each([
    ["no --tenant", ["--device"], "--tenant T is required"],
    ["both identities", ["--tenant", "contoso.onmicrosoft.com", "--user", "a@b.c", "--device"], "not both"],
    ["an unknown tenant", ["--tenant", "nobody.onmicrosoft.com"], "no service named"],
    ["an unknown flag", ["--tenant", "contoso.onmicrosoft.com", "--frobnicate"], "frobnicate"],
    ["a bad --mp", ["--tenant", "contoso.onmicrosoft.com", "--mp", "MP01"], "--mp"],
  ])("then %s exits 2 with the usage", async (_name, args, message) => {
    const run = await analyze(args);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toContain(message);
    expect(run.err).toContain("usage: entra-gateway analyze");
  });

  it("then a config whose listen.port is 0, without --gateway, exits 2 asking for the URL", async () => {
    const run = await runMain(["analyze", "--config", h.stack.gatewayConfigFile, "--tenant", contoso.id]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("listen.port is 0 (chosen at start): give the gateway's URL with --gateway");
  });

  it("then without --gateway the listen section names the gateway (a wildcard host is reached on loopback)", () => {
    const config = (listen: Partial<GatewayConfig["listen"]>) =>
      ({ listen: { host: "127.0.0.1", port: 8443, cert: "PEM", ...listen } }) as unknown as GatewayConfig;
    expect(gatewayUrlFromConfig(config({}))).toBe("https://127.0.0.1:8443");
    expect(gatewayUrlFromConfig(config({ host: "0.0.0.0" }))).toBe("https://127.0.0.1:8443");
    expect(gatewayUrlFromConfig(config({ host: "::" }))).toBe("https://[::1]:8443");
    expect(gatewayUrlFromConfig(config({ host: "gw.contoso.com", cert: undefined }))).toBe(
      "http://gw.contoso.com:8443",
    );
    expect(gatewayUrlFromConfig(config({ port: 0 }))).toBeUndefined();
  });

  it("then --help prints the stages and exits 0", async () => {
    const run = await runMain(["analyze", "--help"]);
    expect(run.code).toBe(0);
    expect(run.out).toContain("6. token checks");
  });
});
