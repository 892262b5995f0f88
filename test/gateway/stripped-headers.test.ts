/** Identity-style headers from outside never go upstream: the list is data, every entry is enforced. */
import { describe, expect, it } from "vitest";
import { STRIPPED_INBOUND_HEADERS, upstreamRequestHeaders } from "../../gateway/http/headers.js";

const ctx = {
  upstreamHost: "mp:443",
  clientIp: "127.0.0.1",
  requestId: "r",
  principal: undefined,
  forwardAuthorization: true,
};

describe("stripped inbound headers", () => {
  it("when a client sends each listed header (prefixes with a suffix), then none goes upstream and other headers do", () => {
    const inbound: Record<string, string> = { accept: "*/*", "x-ms-clientcert-other": "kept", "x-originalurl": "kept" };
    for (const entry of STRIPPED_INBOUND_HEADERS) {
      inbound[entry.endsWith("*") ? `${entry.slice(0, -1)}name` : entry] = "spoofed";
    }
    const out = upstreamRequestHeaders(inbound, ctx);
    for (const name of Object.keys(inbound)) {
      expect(out[name] === undefined, name).toBe(inbound[name] === "spoofed");
    }
  });

  it("when the list is read, then it holds the documented names", () => {
    expect([...STRIPPED_INBOUND_HEADERS]).toEqual([
      "x-entra-*",
      "x-ms-client-principal*",
      "x-ms-token-*",
      "x-original-url",
      "x-rewrite-url",
      "x-arr-clientcert",
      "x-client-cert",
      "ssl-client-cert",
      "x-real-ip",
    ]);
  });
});
