/**
 * Drill: the MP resets the connection in the middle of its answer. A small (buffered) answer becomes a clean
 * 502 without the MP's headers; a large (streamed) one is cut off for the client; both are counted once, as
 * upstream errors — never as a 500, never twice, never as a success.
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue } from "../operations/helpers.js";
import { type FaultGateway, serveFaultGateway } from "./drill-kit.js";

let f: FaultGateway;
beforeAll(async () => {
  f = await serveFaultGateway();
});
afterAll(() => f?.close());

const scrape = async () => (await request(f.gw.metricsUrl)).body.text();
const count = (text: string, labels: Record<string, string>) =>
  metricValue(text, "entra_gateway_requests_total", labels) ?? 0;

describe("upstream reset mid-body", () => {
  it("when a 50 KB answer is reset after 10 KB, then the client gets a 502 without the MP's headers, counted once as upstream_aborted", async () => {
    const before = await scrape();
    const res = await request(`${f.gw.url}/reset?length=50000&send=10000`, { dispatcher: f.dispatcher });
    const body = await res.body.json();
    expect(res.statusCode).toBe(502);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(body).toMatchObject({ error: "bad_gateway" });
    const after = await scrape();
    expect(count(after, { reason: "upstream_aborted" }) - count(before, { reason: "upstream_aborted" })).toBe(1);
    // Counted once in all: no "proxied" for the same request.
    expect(count(after, {}) - count(before, {})).toBe(1);
    // The log line comes over the child's stdout, which may arrive after the answer and the scrape.
    const lines = () => f.gw.lines.filter((l) => l.msg === "request" && String(l.path).endsWith("/reset"));
    await expect.poll(() => lines().length).toBeGreaterThan(0);
    expect(lines().map((l) => [l.status, l.reason])).toEqual([[502, "upstream_aborted"]]);
  });

  it("when a large streamed answer is reset mid-way, then the client's body breaks off and it is counted as an upstream error, not a 200", async () => {
    const before = await scrape();
    const res = await request(`${f.gw.url}/reset?length=5000000&send=300000`, { dispatcher: f.dispatcher });
    expect(res.statusCode).toBe(200); // the status was on its way before the MP broke off
    await expect(res.body.arrayBuffer()).rejects.toThrow();
    let after = await scrape();
    for (let i = 0; i < 100 && count(after, {}) === count(before, {}); i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      after = await scrape();
    }
    expect(count(after, { outcome: "upstream_error", reason: "upstream_aborted" })).toBe(
      count(before, { outcome: "upstream_error", reason: "upstream_aborted" }) + 1,
    );
    expect(count(after, { outcome: "proxied" })).toBe(count(before, { outcome: "proxied" }));
    expect(count(after, {}) - count(before, {})).toBe(1);
  });
});
