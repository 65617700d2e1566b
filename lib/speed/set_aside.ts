/**
 * Copies of files that have not settled yet (see `settleDelay` in plan.ts),
 * held back while the walk goes on and released as each becomes due: what
 * waits is what was written in the last moments, not every fresh file met in
 * a long walk of a tree being written to.
 *
 * @module
 */

/** The time (ms since the epoch) and a one-shot timer: what {@linkcode SetAside} goes by. */
export interface Clock {
  /** The current time, ms since the epoch. */
  now(): number;
  /** Calls `fn` once, `ms` from now; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer (undefined: none). */
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Holds back work until a given time without holding up the caller: each
 * `until(at)` resolves once `at` has passed, on one timer for all that are
 * waiting, or at once after {@linkcode SetAside.flush}.
 *
 * @example Usage
 * ```ts
 * import { SetAside } from "./set_aside.ts";
 * const aside = new SetAside();
 * await aside.until(Date.now() + 100); // about 100 ms later
 * ```
 */
export class SetAside {
  #clock: Clock;
  #waiting: { at: number; go: () => void }[] = [];
  #timer: unknown;
  #timerAt = Infinity;
  #flushed = false;

  /** @param clock The time and the timer it goes by (the real ones unless a test passes its own). */
  constructor(clock: Clock = realClock) {
    this.#clock = clock;
  }

  /**
   * @param at When to go, ms since the epoch.
   * @returns A promise that resolves once `at` has passed (or on flush).
   */
  until(at: number): Promise<void> {
    if (this.#flushed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting.push({ at, go: resolve });
    if (at < this.#timerAt) this.#arm(at);
    return promise;
  }

  /** Releases everything waiting, and whatever comes later, at once (the cycle stopped). */
  flush(): void {
    this.#flushed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timerAt = Infinity;
    for (const { go } of this.#waiting.splice(0)) go();
  }

  /** (Re)sets the one timer for `next`, the earliest time waited for. */
  #arm(next: number): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#timer = this.#clock.setTimeout(
      () => this.#release(),
      Math.max(0, next - this.#clock.now()),
    );
  }

  #release(): void {
    const now = this.#clock.now();
    const due = this.#waiting.filter((w) => w.at <= now);
    this.#waiting = this.#waiting.filter((w) => w.at > now);
    let next = Infinity;
    for (const { at } of this.#waiting) next = Math.min(next, at);
    this.#arm(next);
    for (const { go } of due) go();
  }
}
