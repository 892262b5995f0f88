import { defineConfig } from "vitest/config";

/**
 * Unit tests: plain functions over plain data, in process — no socket, no child process, no emulator. New test
 * files are integration tests unless they are listed here.
 */
const UNIT = [
  // All of test/gateway/ but the HTTPS JWKS fetcher's test, which runs a TLS server.
  "test/gateway/!(jwks-http-fetcher).test.ts",
  "test/cli/config-write-*.test.ts",
  "test/client-simulator/simulator-units.test.ts",
  "test/mp-simulator/standalone-config.test.ts",
  "test/mp-simulator/error-table-documented.test.ts",
  "test/operations/check-config-every-problem.test.ts",
  "test/operations/docs-rejection-table-in-sync.test.ts",
];

export default defineConfig({
  test: {
    // Servers under test bind 127.0.0.1:0; real TLS and RSA key generation make some set-ups slow
    // on a 2-core machine, so allow them time without letting a hung test run forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
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
          // Keys, PKI and emulator keys made once per run; the gateway compiled once, in the background.
          globalSetup: ["test/global-setup.ts", "test/global-setup-build.ts"],
        },
      },
    ],
  },
});
