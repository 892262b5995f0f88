/**
 * Debian's Chromium for the browser tests, driven with playwright-core (which downloads no browser). `.ci/run`
 * installs the `chromium` package when it is missing; outside CI, a machine without it skips the browser tests
 * and says so loudly, in CI that is a failure.
 */
import { existsSync } from "node:fs";

/** Where Debian's package puts the browser (the binary first: `/usr/bin/chromium` is a wrapper script). */
const CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"];

/**
 * The Chromium executable (`CHROMIUM_PATH` first), or undefined outside CI when there is none.
 *
 * @throws in CI (`CI` set) when no Chromium is installed
 */
export function chromiumExecutable(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  const found = [...(configured ? [configured] : []), ...CANDIDATES].find((p) => existsSync(p));
  if (found !== undefined) return found;
  const reason = `no Chromium found (${CANDIDATES.join(", ")}; set CHROMIUM_PATH or apt-get install chromium)`;
  if (process.env.CI) throw new Error(`browser tests cannot run in CI: ${reason}`);
  console.warn(`\n*** SKIPPING the browser tests: ${reason} ***\n`);
  return undefined;
}

/** Chromium's flags for these tests: headless, and no sandbox when running as root (CI runs as root). */
export function chromiumArgs(): string[] {
  return process.getuid?.() === 0 ? ["--no-sandbox"] : [];
}
