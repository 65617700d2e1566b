/**
 * Test fixtures: made-up entries for the planner's tables, and a fake clock
 * whose timers run only when a test moves the time on.
 *
 * @module
 */
import type { Clock } from "../lib/speed/set_aside.ts";

/** A clock and one-shot timers a test drives by hand with {@linkcode FakeClock.advance}. */
export class FakeClock implements Clock {
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  /** @param time The starting time, ms since the epoch. */
  constructor(public time = 0) {}

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the time on by `ms`, running each timer that falls due, earliest first, at its time. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const timer of this.#timers) {
        if (timer[1].at <= end && (first === undefined || timer[1].at < first[1].at)) first = timer;
      }
      if (first === undefined) break;
      this.#timers.delete(first[0]);
      this.time = Math.max(this.time, first[1].at);
      first[1].fn();
    }
    this.time = end;
  }
}
