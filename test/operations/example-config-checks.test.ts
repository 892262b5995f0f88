/**
 * `gateway/config/example.yaml` is what a new user copies first: `check-config` accepts it as shipped (given
 * the environment variable and the secret file it names), it uses the default routes instead of a private
 * copy of them, and its secret expiry is not about to pass.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readConfig } from "../../gateway/config/read.js";
import { DEFAULT_ROUTES } from "../../gateway/config/schema.js";
import { runMain } from "../cli/run-main.js";

const EXAMPLE = resolve(import.meta.dirname, "../../gateway/config/example.yaml");
const ENV = {
  CONTOSO_SERVER_APP_SECRET: "example-secret-from-the-environment",
  CONTOSO_ADMIN_SERVICE_SECRET: "example-admin-service-secret",
};

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "example-config-"));
  file = join(dir, "example.yaml");
  await copyFile(EXAMPLE, file);
  await mkdir(join(dir, "secrets"));
  await writeFile(join(dir, "secrets", "fabrikam.txt"), "example-secret-from-a-file\n");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("gateway/config/example.yaml", () => {
  it("when check-config runs on it as shipped, then it is valid", async () => {
    const { code, out, err } = await runMain(["check-config", file], { env: ENV });
    expect(code, err).toBe(0);
    expect(out).toContain("valid — 3 service(s)");
  });

  it("when loaded, then its routes are exactly the defaults, because it writes no routes of its own", async () => {
    const raw = parse(await readFile(EXAMPLE, "utf8")) as Record<string, unknown>;
    expect(raw).not.toHaveProperty("routes");
    const loaded = await readConfig(file, { env: ENV });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.config.routes.map((r) => [r.prefix, r.requirement, r.forwardAuthorization])).toEqual(
      DEFAULT_ROUTES.map((r) => [r.prefix, r.requirement, r.forwardAuthorization]),
    );
  });

  it("when its secret expiry dates are read, then none passes within ten years", async () => {
    const raw = parse(await readFile(EXAMPLE, "utf8")) as { azureServices: { webApp: { secretExpiry?: string } }[] };
    const tenYears = Date.now() + 10 * 365 * 86_400_000;
    for (const s of raw.azureServices) {
      if (s.webApp.secretExpiry !== undefined) expect(Date.parse(s.webApp.secretExpiry)).toBeGreaterThan(tenYears);
    }
  });
});
