/**
 * Time, injected. Everything in `auth/` that depends on the time or schedules work takes a {@link Clock},
 * so tests drive expiry, cooldowns and refresh timers with a fake one instead of sleeping.
 */

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/** Wall-clock time in milliseconds plus timers. */
export interface Clock {
  /** Milliseconds since the epoch (`Date.now()` semantics). */
  now(): number;
  /** Runs `fn` once after `ms`. Timers must not keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from {@link Clock.setTimeout}; unknown handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock; its timers are `unref()`ed so a cache never holds the process open. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle: TimerHandle): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
