import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guid, type MpHarness, startMp } from "./harness.js";

// Optional client certificates: connections without one reach the anonymous MP list only, and their
// x-entra-* headers are never believed.
let h: MpHarness;

beforeAll(async () => {
  h = await startMp({ mp: { clientCertificate: { mode: "optional" } } });
});
afterAll(async () => {
  await h.close();
});

describe("identity headers are trusted only from the gateway's mTLS connection", () => {
  it("when a peer without a certificate sends identity headers to /CCM_STS, then it is refused and the headers are ignored", async () => {
    const identity = { tenantId: guid(), kind: "device" as const, deviceId: guid() };
    const res = await h.call("POST", "/CCM_STS", { dispatcher: h.anonymous, identity });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe("client_certificate_required");
    const entry = h.mp.audit.entries().at(-1)!;
    expect(entry).toMatchObject({ outcome: "refused", identityHeadersIgnored: true, peer: { authenticated: false } });
    expect(entry.identity).toBeUndefined();
  });

  it("when a peer without a certificate asks for the MP list, then it is served (anonymous endpoint)", async () => {
    const res = await h.call("GET", "/SMS_MP/.sms_aut?MPLIST", { dispatcher: h.anonymous });
    expect(res.status).toBe(200);
    expect(res.text).toContain("<MPList>");
  });

  it("when the gateway sends the same headers, then the identity is believed and a CCM token issued", async () => {
    const identity = { tenantId: guid(), kind: "device" as const, deviceId: guid() };
    const res = await h.call("POST", "/CCM_STS", { identity });
    expect(res.status).toBe(200);
    expect(h.mp.audit.entries().at(-1)).toMatchObject({ outcome: "served", identity });
  });

  it("when the gateway sends malformed identity headers, then 400 names the header", async () => {
    const bad = await h.call("POST", "/CCM_STS", {
      headers: { "x-entra-tenant-id": "not-a-guid", "x-entra-token-kind": "device", "x-entra-device-id": guid() },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("identity_header_invalid");
    expect(bad.body.error_description).toContain("x-entra-tenant-id");
    const noDevice = await h.call("POST", "/CCM_STS", {
      headers: { "x-entra-tenant-id": guid(), "x-entra-token-kind": "user+device", "x-entra-object-id": guid() },
    });
    expect(noDevice.status).toBe(400);
    expect(noDevice.body.error_description).toContain("x-entra-device-id");
    const kind = await h.call("POST", "/CCM_STS", {
      headers: { "x-entra-tenant-id": guid(), "x-entra-token-kind": "robot", "x-entra-object-id": guid() },
    });
    expect(kind.status).toBe(400);
  });

  it("when the gateway sends no identity to /CCM_STS, then 401 identity_missing", async () => {
    const res = await h.call("POST", "/CCM_STS");
    expect(res.status).toBe(401);
    expect(res.body.error).toBe("identity_missing");
    expect(h.mp.audit.entries().at(-1)).toMatchObject({ outcome: "refused", reason: "identity_missing" });
  });
});
