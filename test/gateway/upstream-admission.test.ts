/**
 * Admission towards the MP (`gateway/http/admission.ts`): anonymous and passthrough requests hold at most
 * their share of the connections, so a request with a verified token always finds one; waiting is bounded.
 */
import { describe, expect, it } from "vitest";
import { createAdmission, type Release } from "../../gateway/http/admission.js";

const limits = { limit: 4, unauthenticatedLimit: 2, queueTimeoutMs: 200, maxQueued: 3 };
const now = (slot: ReturnType<ReturnType<typeof createAdmission>["acquire"]>): Release => {
  if (typeof slot !== "function") throw new Error("expected a slot at once");
  return slot;
};

describe("upstream admission", () => {
  it("when unauthenticated requests hold their share, then the next one waits and is refused at the queue timeout, while authenticated ones still get slots", async () => {
    const a = createAdmission(limits);
    now(a.acquire("unauthenticated"));
    now(a.acquire("unauthenticated"));
    const third = a.acquire("unauthenticated");
    expect(third).toBeInstanceOf(Promise);
    now(a.acquire("authenticated"));
    now(a.acquire("authenticated"));
    expect(a.stats()).toEqual({ active: 4, activeUnauthenticated: 2, queued: 1 });
    expect(await third).toBeUndefined();
    expect(a.stats().queued).toBe(0);
  });

  it("when a slot is released, then the first waiter that fits gets it", async () => {
    const a = createAdmission(limits);
    const held = [now(a.acquire("authenticated")), now(a.acquire("authenticated")), now(a.acquire("authenticated"))];
    now(a.acquire("unauthenticated"));
    const waiting = a.acquire("authenticated");
    held[0]!();
    held[0]!(); // releasing twice gives back one slot only
    const granted = await waiting;
    expect(typeof granted).toBe("function");
    expect(a.stats()).toEqual({ active: 4, activeUnauthenticated: 1, queued: 0 });
  });

  it("when the queue is full, then a request is refused at once", () => {
    const a = createAdmission(limits);
    for (let i = 0; i < 4; i += 1) now(a.acquire("authenticated"));
    for (let i = 0; i < 3; i += 1) expect(a.acquire("authenticated")).toBeInstanceOf(Promise);
    expect(a.acquire("authenticated")).toBeUndefined();
  });
});
