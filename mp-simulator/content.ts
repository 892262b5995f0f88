/**
 * Content of `GET /CCM_Client/…` and uploads: bodies of any size with bounded memory. Downloads are
 * generated from one 64 KiB block derived from the path, so every byte is reproducible (`contentByteAt`)
 * and a range request returns exactly the bytes of the full body. Uploads are hashed and counted as they
 * stream, never buffered.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { MpError } from "./errors.js";

const BLOCK_SIZE = 64 * 1024;

/** The 64 KiB pattern block of a content path (SHA-256 counter mode over the path). */
export function contentBlock(path: string): Buffer {
  const block = Buffer.allocUnsafe(BLOCK_SIZE);
  for (let i = 0; i < BLOCK_SIZE / 32; i++) {
    createHash("sha256")
      .update(`${path}\u0000${i}`)
      .digest()
      .copy(block, i * 32);
  }
  return block;
}

/** The byte at `offset` of the content at `path` (tests use it to check bodies without storing them). */
export function contentByteAt(block: Buffer, offset: number): number {
  return block[offset % BLOCK_SIZE]!;
}

/**
 * A readable stream of bytes `start..end` (inclusive) of the content whose pattern block is `block`.
 * It pushes views of the shared block (no copies), so memory stays at one block whatever the size.
 */
export function createContentStream(block: Buffer, start: number, end: number): Readable {
  let position = start;
  return new Readable({
    highWaterMark: BLOCK_SIZE,
    read() {
      if (position > end) {
        this.push(null);
        return;
      }
      const offset = position % BLOCK_SIZE;
      const length = Math.min(BLOCK_SIZE - offset, end - position + 1);
      position += length;
      this.push(block.subarray(offset, offset + length));
    },
  });
}

/** A single byte range, inclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses a `Range` header for a body of `size` bytes (RFC 9110 §14.1.2). Returns `undefined` for no or
 * an ignorable header (other units, several ranges: served whole, as the RFC allows), throws
 * `range_not_satisfiable` when no byte of the range exists.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw new MpError("range_not_satisfiable");
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) throw new MpError("range_not_satisfiable");
  return { start, end };
}

/** What an upload delivered. */
export interface UploadResult {
  readonly bytes: number;
  readonly sha256: string;
}

/** Reads `stream` to its end, hashing and counting; fails with `body_too_large` past `limitBytes`. */
export async function consumeUpload(stream: AsyncIterable<Buffer | string>, limitBytes: number): Promise<UploadResult> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    bytes += buf.length;
    if (bytes > limitBytes) throw new MpError("body_too_large", `The limit is ${limitBytes} bytes.`);
    hash.update(buf);
  }
  return { bytes, sha256: hash.digest("hex") };
}
