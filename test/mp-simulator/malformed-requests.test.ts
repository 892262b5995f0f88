import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guid, type MpHarness, startMp } from "./harness.js";

let h: MpHarness;
let token: string;

beforeAll(async () => {
  h = await startMp({ mp: { bodyLimitBytes: 16 * 1024 } });
  const sts = await h.call("POST", "/CCM_STS", { identity: { tenantId: guid(), kind: "device", deviceId: guid() } });
  token = sts.body.token;
});
afterAll(async () => {
  await h.close();
});

function tokenauth(body: string, contentType = "text/xml") {
  return h.call("POST", "/ccm_system_tokenauth/request", {
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body,
  });
}

describe("bad input gets clear 4xx answers and never crashes the MP", () => {
  it("when the endpoint does not exist, then 404 not_found names it", async () => {
    const res = await h.call("GET", "/CCM_Nowhere/x");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: "not_found" });
    expect(res.body.error_description).toContain("GET /CCM_Nowhere/x");
  });

  it("when an endpoint is called with the wrong method, then 405 with Allow", async () => {
    const res = await h.call("GET", "/CCM_STS");
    expect(res.status).toBe(405);
    expect(res.body.error).toBe("method_not_allowed");
    expect(res.headers.allow).toBe("POST");
    const upload = await h.call("DELETE", "/CCM_Incoming/x.bin");
    expect(upload.headers.allow).toBe("POST, PUT");
  });

  it("when the CCM message is not well-formed XML, then 400 body_malformed", async () => {
    for (const body of [
      "<Msg><TargetEndpoint>MP_PolicyManager</TargetEndpoint>",
      "<Msg><A></B></Msg>",
      "not xml at all",
      '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Msg>&e;</Msg>',
      "<Msg><TargetEndpoint>MP_ClientRegistration</TargetEndpoint></Msg>",
      "<Msg><TargetEndpoint>MP_ClientRegistration</TargetEndpoint><Payload><![CDATA[<Broken>]]></Payload></Msg>",
    ]) {
      const res = await tokenauth(body);
      expect(res.status, body).toBe(400);
      expect(res.body.error, body).toBe("body_malformed");
    }
  });

  it("when the message targets an unknown endpoint, then 400 unknown_target_endpoint", async () => {
    const res = await tokenauth("<Msg><TargetEndpoint>MP_Nope</TargetEndpoint><Payload><X/></Payload></Msg>");
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("unknown_target_endpoint");
  });

  it("when the body has an unsupported content type, then 415", async () => {
    const res = await tokenauth("{}", "application/x-www-form-urlencoded");
    expect(res.status).toBe(415);
    expect(res.body.error).toBe("unsupported_media_type");
  });

  it("when a body exceeds the limit, then 413 body_too_large", async () => {
    const res = await tokenauth(`<Msg>${"x".repeat(20 * 1024)}</Msg>`);
    expect(res.status).toBe(413);
    expect(res.body.error).toBe("body_too_large");
  });

  it("when the size or the Authorization header is malformed, then 400/401 and the MP still answers", async () => {
    expect((await h.call("GET", "/CCM_Client/a.bin?size=-1")).status).toBe(400);
    expect((await h.call("GET", "/CCM_Client/a.bin?size=99999999999999999999")).status).toBe(400);
    const basic = await h.call("POST", "/ccm_system_tokenauth/request", {
      headers: { authorization: "Basic dXNlcjpwYXNz", "content-type": "text/xml" },
      body: "<Msg/>",
    });
    expect(basic.status).toBe(401);
    expect(basic.body.error).toBe("ccm_token_invalid");
    const garbage = await h.call("POST", "/ccm_system_tokenauth/request", {
      headers: { authorization: "Bearer a.b.c", "content-type": "text/xml" },
      body: "<Msg/>",
    });
    expect(garbage.status).toBe(401);
    const alive = await h.call("GET", "/SMS_MP/.sms_aut?MPLIST");
    expect(alive.status).toBe(200);
    expect(h.mp.audit.counts().errors).toBe(0);
  });
});
