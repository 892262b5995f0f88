import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAgent, guid, type MpHarness, otherClientCertificate, startMp } from "./harness.js";

let h: MpHarness;

beforeAll(async () => {
  h = await startMp();
});
afterAll(async () => {
  await h.close();
});

describe("the audit proves what reached the MP", () => {
  it("when a mix of requests arrives, then every answered request is recorded with identity, peer and outcome", async () => {
    const identity = { tenantId: guid(), kind: "user" as const, objectId: guid(), clientAppId: guid() };
    const start = h.mp.audit.entries().at(-1)?.seq ?? 0;
    await h.call("POST", "/CCM_STS", { identity });
    await h.call("POST", "/CCM_STS");
    await h.call("GET", "/nothing-here");
    const entries = h.mp.audit.entries({ since: start });
    expect(entries.map((e) => [e.method, e.path, e.status, e.outcome])).toEqual([
      ["POST", "/CCM_STS", 200, "served"],
      ["POST", "/CCM_STS", 401, "refused"],
      ["GET", "/nothing-here", 404, "rejected"],
    ]);
    expect(entries[0]).toMatchObject({
      identity,
      peer: { subject: "entra-gateway", trusted: true, authenticated: true },
    });
    expect(entries[0]!.peer.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Date.parse(entries[0]!.time)).not.toBeNaN();
  });

  it("when unauthenticated clients try, then nothing they sent was served: handshakes refused, requests refused", async () => {
    const before = h.mp.audit.counts();
    await request(`${h.mp.url}/CCM_STS`, { method: "POST", dispatcher: h.anonymous }).then(
      (r) => r.body.text(),
      () => undefined,
    );
    const intruder = clientAgent(h.tls, await otherClientCertificate(h.tls));
    await request(`${h.mp.url}/AdminService/v1.0/User`, { dispatcher: intruder }).then((r) => r.body.text());
    await intruder.close();

    const served = h.mp.audit.entries({ outcome: "served" });
    expect(served.every((e) => e.peer.trusted && e.peer.subject === "entra-gateway")).toBe(true);
    await expect.poll(() => h.mp.audit.counts().refusedConnections).toBe(before.refusedConnections + 1);
    expect(h.mp.audit.counts()).toMatchObject({ served: before.served, refused: before.refused + 1 });
  });

  it("when the audit is read over HTTPS, then /_mp/audit filters by outcome and cursor and is itself not audited", async () => {
    const before = h.mp.audit.counts().requests;
    const res = await h.call("GET", "/_mp/audit?outcome=refused&limit=5");
    expect(res.status).toBe(200);
    expect(res.body.note).toMatch(/internal/i);
    expect(res.body.entries.length).toBeGreaterThan(0);
    expect(res.body.entries.every((e: { outcome: string }) => e.outcome === "refused")).toBe(true);
    expect(res.body.refusedConnections.length).toBe(res.body.counts.refusedConnections);
    const last = res.body.entries.at(-1).seq;
    const after = await h.call("GET", `/_mp/audit?since=${last}&outcome=refused`);
    expect(after.body.entries).toEqual([]);
    expect(h.mp.audit.counts().requests).toBe(before);
    const bad = await h.call("GET", "/_mp/audit?outcome=maybe");
    expect(bad.status).toBe(400);
  });
});
