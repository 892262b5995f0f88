/**
 * vitest globalSetup of the integration project: starts `npm run build` (incremental: a built tree is only
 * checked) for the process tests, which run the compiled gateway (`serve` as a child process), and lets the
 * tests run meanwhile; `builtGatewayMain()` waits for its report. A run that ends before the build does stops it.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD_ENV, compileGateway } from "./harness-pool.js";

export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "entra-gateway-test-build-"));
  const report = join(dir, "build.json");
  process.env[BUILD_ENV] = report;
  const abort = new AbortController();
  const build = compileGateway(abort.signal).then(async (result) => {
    await writeFile(`${report}.tmp`, JSON.stringify(result));
    await rename(`${report}.tmp`, report);
  });
  return async () => {
    abort.abort();
    await build.catch(() => undefined);
    delete process.env[BUILD_ENV];
    await rm(dir, { recursive: true, force: true });
  };
}
