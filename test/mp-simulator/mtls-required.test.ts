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

describe("mTLS towards the management point", () => {
  it("when a client presents no certificate, then the TLS handshake is refused, counted, and nothing is served", async () => {
    const before = h.mp.audit.counts();
    await expect(
      request(`${h.mp.url}/SMS_MP/.sms_aut?MPLIST`, { dispatcher: h.anonymous }).then((r) => r.body.text()),
    ).rejects.toThrow();
    await expect.poll(() => h.mp.audit.counts().refusedConnections).toBe(before.refusedConnections + 1);
    expect(h.mp.audit.counts().requests).toBe(before.requests);
    expect(h.mp.audit.refusedConnections().at(-1)?.code).toMatch(/CERTIFICATE|CERT/);
  });

  it("when a client presents a certificate of another CA, then the handshake is refused", async () => {
    const { createTlsMaterial } = await import("../../lib/pki.js");
    const foreign = await createTlsMaterial();
    const agent = clientAgent(h.tls, foreign.gatewayClient);
    const before = h.mp.audit.counts();
    await expect(
      request(`${h.mp.url}/SMS_MP/.sms_aut?MPLIST`, { dispatcher: agent }).then((r) => r.body.text()),
    ).rejects.toThrow();
    await agent.close();
    await expect.poll(() => h.mp.audit.counts().refusedConnections).toBe(before.refusedConnections + 1);
    expect(h.mp.audit.counts().requests).toBe(before.requests);
  });

  it("when a certificate of the CA has another subject than entra-gateway, then every request is refused with 403 and audited as refused", async () => {
    const agent = clientAgent(h.tls, await otherClientCertificate(h.tls, "intruder"));
    const tenantId = guid();
    const res = await h.call("POST", "/CCM_STS", {
      dispatcher: agent,
      identity: { tenantId, kind: "device", deviceId: guid() },
    });
    await agent.close();
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("client_certificate_not_allowed");
    const entry = h.mp.audit.entries().at(-1)!;
    expect(entry).toMatchObject({ path: "/CCM_STS", outcome: "refused", reason: "client_certificate_not_allowed" });
    expect(entry.peer).toMatchObject({ subject: "intruder", authenticated: true, trusted: false });
    expect(entry.identity).toBeUndefined();
    expect(entry.identityHeadersIgnored).toBe(true);
  });

  it("when the gateway presents its certificate, then the MP answers and the audit names the peer", async () => {
    const res = await h.call("GET", "/SMS_MP/.sms_aut?MPLIST");
    expect(res.status).toBe(200);
    expect(h.mp.audit.entries().at(-1)).toMatchObject({
      path: "/SMS_MP/.sms_aut",
      query: "MPLIST",
      outcome: "served",
      peer: { subject: "entra-gateway", trusted: true },
    });
  });
});
