/**
 * Drill: 300 clients trickle uploads to a passthrough route (no token: the MP authenticates those) against
 * an upstream pool of 4. Anonymous and passthrough requests may hold only 2 of the 4 connections, the rest
 * wait at most `upstream.queueTimeoutMs` and get 503 + Retry-After, the admitted ones are cut off with 408 at
 * the body timeout — and valid-token requests on `/CCM_STS` keep succeeding all along.
 */
import type { TLSSocket } from "node:tls";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, metricValue } from "../operations/helpers.js";
import { type StackGateway, serveStackGateway } from "../operations/stack-gateway.js";
import { percentile, rawTls, readUntilClosed } from "./drill-kit.js";

const SLOW_CLIENTS = 300;
const BODY_TIMEOUT_MS = 2_000;

let s: StackGateway;
beforeAll(async () => {
  s = await serveStackGateway({
    workers: 1,
    edit: (doc) => {
      Object.assign(doc.upstream, { connections: 4, unauthenticatedConnections: 2, queueTimeoutMs: 500 });
      Object.assign(doc.listen, { bodyTimeoutMs: BODY_TIMEOUT_MS, bodyMinBytesPerSec: 100 });
    },
  });
}, 120_000);
afterAll(() => s?.close());

describe("slow uploads", () => {
  it("when 300 uploads trickle into a passthrough route, then valid-token requests keep succeeding and the slow clients are cut off", async () => {
    const ca = s.h.stack.tls.ca.cert;
    const sockets: TLSSocket[] = [];
    const answers: Promise<{ text: string; closed: boolean }>[] = [];
    const trickles: NodeJS.Timeout[] = [];
    const token = await s.h.userToken(s.h.tenant("contoso"), 1);
    const latencies: number[] = [];
    const statuses: number[] = [];
    let slowOnesDone = false;
    // Valid-token requests run from before the first slow client connects until the last one is cut off.
    const valid = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!slowOnesDone) {
          const started = performance.now();
          const res = await request(`${s.gw.url}/CCM_STS`, {
            method: "POST",
            dispatcher: s.h.dispatcher,
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: "{}",
          });
          await res.body.dump();
          statuses.push(res.statusCode);
          latencies.push(performance.now() - started);
        }
      }),
    );
    try {
      for (let i = 0; i < SLOW_CLIENTS; i += 1) {
        const socket = await rawTls(s.gw.url, ca);
        sockets.push(socket);
        answers.push(readUntilClosed(socket, BODY_TIMEOUT_MS * 5));
        socket.write(
          "POST /ccm_system_tokenauth/request HTTP/1.1\r\nHost: gateway\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<",
        );
        // One byte a second: far below the 100 B/s minimum.
        trickles.push(setInterval(() => socket.writable && socket.write("a"), 1_000));
      }
      const admitted = async () =>
        metricValue(await (await request(s.gw.metricsUrl)).body.text(), "entra_gateway_upstream_pool", {
          stat: "admitted_unauthenticated",
        });
      // Two uploads hold upstream connections (their share), none more.
      expect(await eventually(async () => (await admitted()) === 2 && 2, "two uploads holding connections")).toBe(2);
      const duringHold = statuses.length;

      const results = await Promise.all(answers);
      slowOnesDone = true;
      await valid;
      expect(statuses.length).toBeGreaterThan(duringHold);
      expect(statuses.filter((c) => c !== 200)).toEqual([]);
      const p99 = percentile(latencies, 99);
      process.stdout.write(`slow-uploads drill: ${latencies.length} valid requests, p99 ${p99.toFixed(0)} ms\n`);
      // They never waited for a slow client to be cut off.
      expect(p99).toBeLessThan(BODY_TIMEOUT_MS);

      const statusOf = (text: string) => /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const byStatus = new Map<string | undefined, number>();
      for (const r of results) byStatus.set(statusOf(r.text), (byStatus.get(statusOf(r.text)) ?? 0) + 1);
      // Every slow client was answered and disconnected: the admitted ones at the body timeout (408), the
      // others when no connection came free in time (503 with Retry-After).
      expect(results.every((r) => r.closed)).toBe(true);
      expect(byStatus.get("408")).toBeGreaterThanOrEqual(2);
      expect((byStatus.get("408") ?? 0) + (byStatus.get("503") ?? 0)).toBe(SLOW_CLIENTS);
      expect(results.find((r) => statusOf(r.text) === "503")?.text).toMatch(/retry-after: 1/i);
    } finally {
      slowOnesDone = true;
      for (const t of trickles) clearInterval(t);
      for (const socket of sockets) socket.destroy();
    }
  }, 120_000);
});
