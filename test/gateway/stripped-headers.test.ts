/** Identity-style headers from outside never go upstream: the list is data, every entry is enforced. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
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

  it("when the list changes, then docs/architecture.md still names every entry", async () => {
    const doc = (await readFile(join(import.meta.dirname, "../../docs/architecture.md"), "utf8")).toLowerCase();
    for (const entry of STRIPPED_INBOUND_HEADERS) expect(doc, entry).toContain(entry);
  });
});
