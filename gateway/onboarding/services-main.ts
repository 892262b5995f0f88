/**
 * Stand-alone entry for `services` (`entra-gateway services …` in `gateway/main.ts` is the usual one; this skips the admin API seam):
 * `node dist/gateway/onboarding/services-main.js list --config gateway.yaml`.
 */
import { runServicesCommand } from "./services.js";

const code = await runServicesCommand(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = code;
