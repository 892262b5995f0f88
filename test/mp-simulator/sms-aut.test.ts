import { X509Certificate } from "node:crypto";
import { importX509, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guid, type MpHarness, startMp } from "./harness.js";

let h: MpHarness;

beforeAll(async () => {
  h = await startMp({ mp: { site: { siteCode: "CHQ", name: "CMMP01", fqdn: "cmmp01.corp.example" } } });
});
afterAll(async () => {
  await h.close();
});

describe("/SMS_MP/.sms_aut", () => {
  it("when a client asks ?MPLIST, then the MP lists itself with site code, FQDN and version as XML", async () => {
    const res = await h.call("GET", "/SMS_MP/.sms_aut?MPLIST");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/xml/);
    expect(res.text).toMatch(
      /^<MPList><MP Name="CMMP01" FQDN="cmmp01.corp.example" SiteCode="CHQ"><Version>9128<\/Version>/,
    );
  });

  it("when a client asks ?MPKEYINFORMATIONEX, then the signing certificate it returns verifies the MP's CCM tokens", async () => {
    const res = await h.call("GET", "/SMS_MP/.sms_aut?MPKEYINFORMATIONEX");
    expect(res.status).toBe(200);
    expect(res.text).toContain("<SITECODE>CHQ</SITECODE>");
    const hex = /<SIGNINGCERTIFICATE>([0-9A-F]+)<\/SIGNINGCERTIFICATE>/.exec(res.text)?.[1];
    expect(hex).toBeDefined();
    const cert = new X509Certificate(Buffer.from(hex!, "hex"));
    expect(cert.subject).toContain("SMS Signing Certificate");

    const issued = await h.call("POST", "/CCM_STS", {
      identity: { tenantId: guid(), kind: "device", deviceId: guid() },
    });
    const key = await importX509(cert.toString(), "RS256");
    const { payload } = await jwtVerify(issued.body.token, key);
    expect(payload.token_type).toBe("device");
  });

  it("when a client asks an unknown .sms_aut query, then 400", async () => {
    const res = await h.call("GET", "/SMS_MP/.sms_aut?SITESIGNCERTX");
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("query_invalid");
  });
});
