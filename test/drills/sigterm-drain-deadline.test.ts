/**
 * Drill: SIGTERM while one client sits on a half-sent request header and another is downloading. The
 * download finishes, the half-sent request is closed at `listen.drainTimeoutMs`, and the process exits 0
 * within that deadline plus 2 s — in a single process and in a cluster.
 */
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type FaultGateway, rawTls, readUntilClosed, serveFaultGateway } from "./drill-kit.js";

/** The drain deadline; the download lasts well under it, the half-sent request would outlast it forever. */
const DRAIN_MS = 2_000;
/** How long the upstream spreads the download over: in flight at SIGTERM, done well before the deadline. */
const DOWNLOAD_MS = 800;
let f: FaultGateway | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe.each([1, 2])("SIGTERM with --workers %i", (workers) => {
  it("when a request header is half sent and a download is in flight, then the download completes and the process exits 0 by the drain deadline", async () => {
    // The header timeout is far beyond the deadline: only the drain deadline can end the half-sent request.
    f = await serveFaultGateway({ workers, listen: { drainTimeoutMs: DRAIN_MS, headersTimeoutMs: 120_000 } });
    const gateway = f;
    const half = await rawTls(gateway.gw.url, gateway.ca);
    const halfClosed = readUntilClosed(half, 60_000);
    half.write("GET /never HTTP/1.1\r\nHost: gateway\r\nX-Half: ");

    const BYTES = 2_000_000;
    const download = await request(`${gateway.gw.url}/download?bytes=${BYTES}&ms=${DOWNLOAD_MS}`, {
      dispatcher: gateway.dispatcher,
    });
    expect(download.statusCode).toBe(200);
    const body = download.body.arrayBuffer();

    const signalled = Date.now();
    gateway.gw.child.kill("SIGTERM");
    expect((await body).byteLength).toBe(BYTES);
    expect(await gateway.gw.exited).toBe(0);
    const exitedAfterMs = Date.now() - signalled;
    expect((await halfClosed).closed).toBe(true);
    expect(exitedAfterMs).toBeLessThan(DRAIN_MS + 2_000);
  }, 60_000);
});
