import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentBlock, contentByteAt } from "../../mp-simulator/content.js";
import { type MpHarness, startMp } from "./harness.js";

let h: MpHarness;

beforeAll(async () => {
  h = await startMp({ mp: { content: { defaultSizeBytes: 4096 } } });
});
afterAll(async () => {
  await h.close();
});

describe("GET /CCM_Client/… streams generated content", () => {
  it("when a client downloads 512 MiB, then every byte arrives and the process does not hold the body in memory", async () => {
    const size = 512 * 1024 * 1024;
    const path = "/CCM_Client/PS100004.1/setup.bin";
    const block = contentBlock(path.toLowerCase());
    global.gc?.();
    const before = process.memoryUsage();
    let peakExternal = 0;
    const res = await request(`${h.mp.url}${path}?size=${size}`, { dispatcher: h.gateway });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-length"]).toBe(String(size));
    let received = 0;
    let mismatches = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      // Check a sample of bytes against the pattern (start and end of every chunk).
      if (chunk[0] !== contentByteAt(block, received)) mismatches++;
      if (chunk[chunk.length - 1] !== contentByteAt(block, received + chunk.length - 1)) mismatches++;
      received += chunk.length;
      const m = process.memoryUsage();
      peakExternal = Math.max(peakExternal, m.arrayBuffers + m.heapUsed);
    }
    expect(received).toBe(size);
    expect(mismatches).toBe(0);
    // Client and server share this process: a buffered 512 MiB body would show here.
    expect(peakExternal - (before.arrayBuffers + before.heapUsed)).toBeLessThan(128 * 1024 * 1024);
  });

  it("when a client asks a byte range, then 206 returns exactly those bytes of the full body", async () => {
    const path = "/CCM_Client/content/range.bin";
    const block = contentBlock(path.toLowerCase());
    const res = await h.call("GET", `${path}?size=200000`, { headers: { range: "bytes=65530-65545" } });
    expect(res.status).toBe(206);
    expect(res.headers["content-range"]).toBe("bytes 65530-65545/200000");
    const raw = await request(`${h.mp.url}${path}?size=200000`, {
      dispatcher: h.gateway,
      headers: { range: "bytes=65530-65545" },
    });
    const bytes = Buffer.from(await raw.body.arrayBuffer());
    expect([...bytes]).toEqual(Array.from({ length: 16 }, (_, i) => contentByteAt(block, 65530 + i)));
  });

  it("when no size is given, then the configured default size is served", async () => {
    const res = await request(`${h.mp.url}/CCM_Client/default.bin`, { dispatcher: h.gateway });
    expect((await res.body.arrayBuffer()).byteLength).toBe(4096);
  });

  it("when the range starts past the end, then 416", async () => {
    const res = await h.call("GET", "/CCM_Client/x.bin?size=10", { headers: { range: "bytes=10-20" } });
    expect(res.status).toBe(416);
    expect(res.body.error).toBe("range_not_satisfiable");
  });
});
