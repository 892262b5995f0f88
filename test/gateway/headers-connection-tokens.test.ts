/**
 * RFC 9110 §7.6.1: the fields a `Connection` header names are hop-by-hop for that connection, so neither leg
 * forwards them; the usual values (`keep-alive`, `close`) name only fields dropped anyway.
 */
import { describe, expect, it } from "vitest";
import { clientResponseHeaders, upstreamRequestHeaders } from "../../gateway/http/headers.js";

const ctx = {
  upstreamHost: "mp.contoso.test:443",
  clientIp: "127.0.0.1",
  requestId: "b3a1c2d4-1111-2222-3333-444455556666",
  principal: undefined,
  forwardAuthorization: false,
};

describe("headers named by Connection", () => {
  it("when the MP's Connection lists fields, then they do not reach the client (one value or several)", () => {
    const out = clientResponseHeaders({
      connection: "keep-alive, X-Hop",
      "keep-alive": "timeout=5",
      "x-hop": "1",
      "content-type": "text/xml",
    });
    expect(out).toEqual({ "content-type": "text/xml" });
    expect(clientResponseHeaders({ connection: ["close", "x-other"], "x-other": "1", "x-kept": "1" })).toEqual({
      "x-kept": "1",
    });
  });

  it("when Connection is a plain keep-alive or close, then only the hop-by-hop fields go", () => {
    expect(clientResponseHeaders({ connection: "keep-alive", "keep-alive": "timeout=5", date: "d" })).toEqual({
      date: "d",
    });
    expect(clientResponseHeaders({ connection: "Close", "x-hop": "1" })).toEqual({ "x-hop": "1" });
    expect(clientResponseHeaders({ connection: "x-single", "x-single": "1", date: "d" })).toEqual({ date: "d" });
  });

  it("when the client's Connection lists a field, then it does not reach the MP", () => {
    const out = upstreamRequestHeaders({ connection: "x-client-hop", "x-client-hop": "1", accept: "*/*" }, ctx);
    expect(out["x-client-hop"]).toBeUndefined();
    expect(out.connection).toBeUndefined();
    expect(out.accept).toBe("*/*");
  });
});
