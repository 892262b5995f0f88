/**
 * Admission towards the management point, per worker: how many requests may be in flight upstream at once
 * (`upstream.connections`), how many of those anonymous and passthrough requests may hold
 * (`upstream.unauthenticatedConnections`, so requests the gateway cannot vouch for never take every
 * connection), and how long and how many may wait for a slot (`upstream.queueTimeoutMs`,
 * `upstream.maxQueuedRequests`). A request that cannot get a slot in time is refused, never left waiting.
 *
 * @example
 * const admission = createAdmission({ limit: 4, unauthenticatedLimit: 2, queueTimeoutMs: 2000, maxQueued: 100 });
 * const slot = admission.acquire("unauthenticated");
 * const release = slot instanceof Promise ? await slot : slot;
 * if (release === undefined) return busy(); // 503 + Retry-After
 * try { … } finally { release(); }
 */

/** Who asks for a slot: a request with a verified token, or one the gateway let through unchecked. */
export type AdmissionClass = "authenticated" | "unauthenticated";

/** Gives the slot back; calling it more than once is harmless. */
export type Release = () => void;

/** Limits of {@link createAdmission}. */
export interface AdmissionLimits {
  readonly limit: number;
  readonly unauthenticatedLimit: number;
  readonly queueTimeoutMs: number;
  readonly maxQueued: number;
}

/** Slots in use and requests waiting, for gauges. */
export interface AdmissionStats {
  readonly active: number;
  readonly activeUnauthenticated: number;
  readonly queued: number;
}

/** The admission controller of one upstream pool. */
export interface Admission {
  /**
   * A slot now (synchronously, the common case), or a promise of one; `undefined` when none came free
   * within the queue timeout or the queue is full.
   */
  acquire(kind: AdmissionClass): Release | Promise<Release | undefined> | undefined;
  stats(): AdmissionStats;
}

interface Waiter {
  readonly kind: AdmissionClass;
  readonly grant: (release: Release | undefined) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Creates an admission controller. */
export function createAdmission(limits: AdmissionLimits): Admission {
  let active = 0;
  let activeUnauthenticated = 0;
  const queue: Waiter[] = [];

  const fits = (kind: AdmissionClass) =>
    active < limits.limit && (kind === "authenticated" || activeUnauthenticated < limits.unauthenticatedLimit);

  const take = (kind: AdmissionClass): Release => {
    active += 1;
    if (kind === "unauthenticated") activeUnauthenticated += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active -= 1;
      if (kind === "unauthenticated") activeUnauthenticated -= 1;
      wake();
    };
  };

  /** Hands free slots to waiters in arrival order, skipping unauthenticated ones while their share is full. */
  const wake = () => {
    for (let i = 0; i < queue.length && active < limits.limit; ) {
      const waiter = queue[i]!;
      if (!fits(waiter.kind)) {
        i += 1;
        continue;
      }
      queue.splice(i, 1);
      clearTimeout(waiter.timer);
      waiter.grant(take(waiter.kind));
    }
  };

  return {
    acquire(kind) {
      // No waiter ever fits once `wake` has run (it runs on every release), so a request that fits now
      // overtakes nobody: the only waiters are unauthenticated ones held back by their share.
      if (fits(kind)) return take(kind);
      if (queue.length >= limits.maxQueued) return undefined;
      return new Promise<Release | undefined>((grant) => {
        const waiter: Waiter = { kind, grant, timer: undefined };
        waiter.timer = setTimeout(() => {
          const at = queue.indexOf(waiter);
          if (at !== -1) queue.splice(at, 1);
          grant(undefined);
        }, limits.queueTimeoutMs);
        queue.push(waiter);
      });
    },
    stats: () => ({ active, activeUnauthenticated, queued: queue.length }),
  };
}
