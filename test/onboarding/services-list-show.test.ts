/** `services list` / `show`: what is configured, with secret expiry status; secrets never shown in full. */
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServicesCommand } from "../../gateway/onboarding/services.js";
import { type CliWorld, createCliWorld, runCli, seededServerSecret, seededServiceYaml } from "./helpers.js";

const NOW = Date.UTC(2026, 0, 1);
let w: CliWorld;

beforeAll(async () => {
  w = await createCliWorld();
  const expired = seededServiceYaml("Contoso", w.tenant("contoso.onmicrosoft.com")).replace(
    "secretExpiry: 2030-01-01",
    "secretExpiry: 2025-12-01",
  );
  const expiring = seededServiceYaml("Fabrikam", w.tenant("fabrikam.onmicrosoft.com")).replace(
    "secretExpiry: 2030-01-01",
    "secretExpiry: 2026-01-20",
  );
  const ok = seededServiceYaml("Tailspin", w.tenant("tailspin.onmicrosoft.us")).replace(
    "type: cloudManagement",
    "type: cloudManagement\n    environment: AzureUSGovernmentCloud\n    adminServiceManagement: true",
  );
  await w.writeServices(`azureServices:\n${expired}${expiring}${ok}`);
});
afterAll(async () => {
  await w.close();
});

describe("services list and show", () => {
  it("when listed, then each service shows its type, tenant, apps, auth flag and secret status (expired, expiring, ok)", async () => {
    const run = await runCli(w, ["list"], { now: () => NOW });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+ENVIRONMENT\s+TENANT\s+WEB APP\s+NATIVE APP\s+AUTH\s+SECRET$/);
    expect(lines.find((l) => l.startsWith("Contoso"))).toMatch(/expired \(2025-12-01\)$/);
    expect(lines.find((l) => l.startsWith("Fabrikam"))).toMatch(/expiring \(2026-01-20\)$/);
    expect(lines.find((l) => l.startsWith("Tailspin"))).toMatch(
      /AzureUSGovernmentCloud .* enabled\s+ok \(2030-01-01\)$/,
    );
    expect(run.stderr).toContain('warning: the web app secret of "Contoso" has expired');
    expect(run.stderr).toContain('warning: the web app secret of "Fabrikam" expires within 30 days');
    expect(run.stderr).not.toContain('"Tailspin"');
  });

  it("when listed as JSON, then statuses and days left are machine-readable and secrets appear only as hints", async () => {
    const run = await runCli(w, ["list", "--json"], { now: () => NOW });
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as { services: { name: string; webApp: Record<string, unknown> }[] };
    expect(body.services.map((s) => [s.name, s.webApp.secretStatus, s.webApp.secretDaysLeft])).toEqual([
      ["Contoso", "expired", -31],
      ["Fabrikam", "expiring", 19],
      ["Tailspin", "ok", 1461],
    ]);
    for (const t of ["contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com", "tailspin.onmicrosoft.us"]) {
      const secret = seededServerSecret(w.tenant(t));
      expect(run.stdout).not.toContain(secret);
      expect(run.stdout).toContain(`inline value ${secret.slice(0, 3)}…`);
    }
  });

  it("when one service is shown, then its details include the App ID URI, broker redirect URI and the expiry advice", async () => {
    const t = w.tenant("fabrikam.onmicrosoft.com");
    const run = await runCli(w, ["show", "fabrikam"], { now: () => NOW });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Tenant:\s+fabrikam\.onmicrosoft\.com \(/);
    expect(run.stdout).toMatch(/App ID URI:\s+https:\/\/fabrikam\.com\/ConfigMgrService/);
    expect(run.stdout).toContain(`ms-appx-web://Microsoft.AAD.BrokerPlugin/${t.clientAppId}`);
    expect(run.stdout).toMatch(/Secret expiry:\s+expires on 2026-01-20 \(in 19 days\): renew it soon/);
    const tailspin = await runCli(w, ["show", "Tailspin", "--json"], { now: () => NOW });
    expect(JSON.parse(tailspin.stdout).service).toMatchObject({
      adminServiceManagement: true,
      environment: "AzureUSGovernmentCloud",
    });
  });

  it("when an unknown service is shown, or no configuration is named, then it fails with a message", async () => {
    const missing = await runCli(w, ["show", "Nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no service named "Nope"');
    let err = "";
    const stderr = new PassThrough().on("data", (c: Buffer) => {
      err += c.toString();
    });
    const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {} };
    expect(await runServicesCommand(["list"], io)).toBe(2);
    expect(err).toContain("no configuration file: give --config FILE or set ENTRA_GATEWAY_CONFIG");
    expect(await runServicesCommand(["frobnicate"], io)).toBe(2);
    expect(err).toContain('unknown command "frobnicate"');
  });
});
