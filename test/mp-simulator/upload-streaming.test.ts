import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MpHarness, startMp } from "./harness.js";

let h: MpHarness;
const LIMIT = 64 * 1024 * 1024;

beforeAll(async () => {
  h = await startMp({ mp: { uploadLimitBytes: LIMIT } });
});
afterAll(async () => {
  await h.close();
});

/** `total` bytes in 1 MiB chunks, and their SHA-256. */
function generated(total: number): { stream: Readable; sha256: string } {
  const chunk = Buffer.alloc(1024 * 1024, 0xa5);
  const hash = createHash("sha256");
  for (let sent = 0; sent < total; sent += chunk.length)
    hash.update(chunk.subarray(0, Math.min(chunk.length, total - sent)));
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      this.push(chunk.subarray(0, n));
    },
  });
  return { stream, sha256: hash.digest("hex") };
}

describe("uploads on /CCM_Incoming/ stream and are counted", () => {
  it("when the gateway forwards a 50 MB body, then the MP counts every byte and the hash matches", async () => {
    const total = 50 * 1000 * 1000;
    const { stream, sha256 } = generated(total);
    const res = await h.call("POST", "/CCM_Incoming/inventory.xml", {
      headers: { "content-type": "application/octet-stream" },
      body: stream,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ path: "/CCM_Incoming/inventory.xml", bytes: total, sha256 });
    expect(h.mp.audit.entries().at(-1)).toMatchObject({ outcome: "served", bytesIn: total });
  });

  it("when a declared body exceeds the upload limit, then 413 before reading it", async () => {
    const { stream } = generated(LIMIT + 1024 * 1024);
    const res = await h
      .call("PUT", "/CCM_Incoming/big.bin", {
        headers: { "content-type": "application/octet-stream", "content-length": String(LIMIT + 1024 * 1024) },
        body: stream,
      })
      .catch((err: Error) => ({ status: -1, body: { error: err.message } }));
    // The MP answers 413 and closes; undici may instead report the reset of the unread upload.
    if (res.status !== -1) {
      expect(res.status).toBe(413);
      expect(res.body.error).toBe("body_too_large");
    }
    const entry = h.mp.audit.entries({ pathPrefix: "/CCM_Incoming/big.bin" }).at(-1);
    expect(entry).toMatchObject({ status: 413, reason: "body_too_large" });
    expect(entry?.bytesIn).toBeUndefined();
  });

  it("when a chunked body grows past the limit, then 413", async () => {
    const { stream } = generated(LIMIT + 2 * 1024 * 1024);
    await h
      .call("POST", "/CCM_Incoming/chunked.bin", {
        headers: { "content-type": "application/octet-stream" },
        body: stream,
      })
      .catch(() => undefined);
    expect(h.mp.audit.entries({ pathPrefix: "/CCM_Incoming/chunked.bin" }).at(-1)).toMatchObject({
      status: 413,
      reason: "body_too_large",
    });
  });
});
