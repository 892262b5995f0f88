import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Servers under test bind 127.0.0.1:0; real TLS and RSA key generation make some set-ups slow
    // on a 2-core machine, so allow them time without letting a hung test run forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Memory-bound tests (streaming through the gateway) collect garbage between samples to see what is retained.
    execArgv: ["--expose-gc"],
  },
});
