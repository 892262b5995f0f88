import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MpHarness, startMp, waitFor } from "./harness.js";

// msal throttles identical token requests after a 5xx with Retry-After (30 s from the emulator): a fresh
// msal application per retry lets discovery recover as soon as Entra does.
let h: MpHarness;

beforeAll(async () => {
  h = await startMp({
    discovery: { retry: { initialDelayMs: 100, maxDelayMs: 300 } },
    beforeStart: async (emulator) => {
      await emulator.call("POST", "/_sim/outage", { json: { enabled: true, mode: "503", targets: ["token"] } });
    },
  });
});
afterAll(async () => {
  await h.close();
});

describe("Entra user discovery through a token endpoint outage", () => {
  it("when the token endpoint answers 503, then every retry reaches Entra again and discovery recovers right after the outage", async () => {
    const tenant = h.emulator!.sim.directory.tenants[0]!;
    const status = () => h.mp.discovery!.status().tenants.find((t) => t.tenantId === tenant.id)!;
    expect(await waitFor(() => status().consecutiveFailures >= 3, 8000)).toBe(true);
    expect(status()).toMatchObject({ state: "retrying", users: 0 });
    expect(status().lastError).toMatchObject({ stage: "token", status: 503, transient: true, aadsts: "AADSTS90033" });
    // Had msal's throttle held, the retries would not have reached the emulator.
    expect(h.emulator!.sim.stats.token[tenant.id]).toBeGreaterThanOrEqual(3);
    expect(status().tokenClients).toBeGreaterThanOrEqual(3);

    await h.emulator!.call("POST", "/_sim/outage", { json: { enabled: false } });
    expect(await waitFor(() => status().state === "synced", 5000)).toBe(true);
    expect(status().users).toBe(tenant.users.length);
  });
});
