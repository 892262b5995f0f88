import { defineConfig } from "vitest/config";

/**
 * Unit tests: plain functions over plain data, in process — no socket, no child process, no emulator. New test
 * files are integration tests unless they are listed here.
 */
const UNIT = [
  // All of test/gateway/ but the HTTPS JWKS fetcher's test, which runs a TLS server.
  "test/gateway/!(jwks-http-fetcher).test.ts",
  "test/cli/config-write-*.test.ts",
  "test/layering.test.ts",
  "test/client-simulator/simulator-units.test.ts",
  "test/mp-simulator/standalone-config.test.ts",
  "test/mp-simulator/error-table-documented.test.ts",
  "test/operations/check-config-every-problem.test.ts",
  "test/operations/docs-rejection-table-in-sync.test.ts",
  "test/operations/docs-stay-in-repo.test.ts",
];

export default defineConfig({
  test: {
    // Servers under test bind 127.0.0.1:0; real TLS and RSA key generation make some set-ups slow
    // on a 2-core machine, so allow them time without letting a hung test run forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // A worker loads the modules (fastify, msal, undici, …) once for all the files it runs instead of once per
    // file: loading was more than half of the suite's CPU time. It holds because test files keep no global
    // state: no module mocks, fake timers or env changes, servers closed in afterAll, process-wide handlers
    // removed on stop (see test/harness-pool.ts for the one per-process counter).
    isolate: false,
    // Two workers (vitest's default here is cores - 1 = one). Files are independent: every server binds
    // 127.0.0.1:0, every state directory is a fresh temp folder. Three workers measured slower on two cores
    // (the streaming and 512 MiB download tests are CPU-bound) and brought those tests near their timeouts.
    maxWorkers: 2,
    // Memory-bound tests (streaming through the gateway) collect garbage between samples to see what is retained.
    execArgv: ["--expose-gc"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: UNIT,
          // RSA keys for the fixtures, made once per run (test/harness-pool.ts).
          globalSetup: ["test/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: UNIT,
          // The gateway compiled once, in the background (started first, so it overlaps the rest); the PKI and
          // the emulator's keys made once per run.
          globalSetup: ["test/global-setup-build.ts", "test/global-setup.ts"],
        },
      },
    ],
  },
});
