/**
 * Test fixtures: made-up entries for the planner's tables, and a fake clock
 * whose timers run only when a test moves the time on.
 *
 * @module
 */
import type { Clock } from "../lib/speed/set_aside.ts";
import type { Entry, EntryKind } from "../lib/engine/types.ts";

/**
 * A made-up entry for the planner's tables: a plain one of its kind (a 10-byte file, a folder,
 * a link to "t"; mtime 1000, uid and gid 1000, one inode), `extra` replacing any field.
 */
export function entry(kind: EntryKind, extra: Partial<Entry> = {}): Entry {
  return {
    name: "x",
    kind,
    size: kind === "file" ? 10 : 0,
    mtimeMs: 1000,
    atimeMs: 1000,
    mode: kind === "dir" ? 0o755 : kind === "symlink" ? 0o777 : 0o644,
    target: kind === "symlink" ? "t" : undefined,
    dev: 1,
    ino: 1,
    uid: 1000,
    gid: 1000,
    blocks: 8,
    nlink: kind === "dir" ? 2 : 1,
    ...extra,
  };
}

interface Timer {
  at: number;
  fn: () => void;
  /** Set for a repeating timer: its period. */
  every?: number;
}

/** A clock and one-shot timers a test drives by hand with {@linkcode FakeClock.advance}. */
export class FakeClock implements Clock {
  #timers = new Map<number, Timer>();
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

  /** A repeating timer; after a jump in time it runs once, as a real one would, not once per period missed. */
  setInterval(fn: () => void, ms: number): number {
    const id = this.#next++;
    const every = Math.max(1, ms);
    this.#timers.set(id, { at: this.time + every, fn, every });
    return id;
  }

  /**
   * Puts this clock's intervals in place of the global `setInterval` and `clearInterval` (for
   * code that takes only its time as a parameter) until disposed.
   */
  installIntervals(): Disposable {
    const saved = { setInterval: globalThis.setInterval, clearInterval: globalThis.clearInterval };
    const g = globalThis as unknown as Record<string, unknown>;
    g.setInterval = (fn: () => void, ms: number) => this.setInterval(fn, ms);
    g.clearInterval = (handle: unknown) => this.clearTimeout(handle);
    return {
      [Symbol.dispose]: () => Object.assign(globalThis, saved),
    };
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Runs every armed timer once, now, without moving the time (a repeating one stays armed). */
  fire(): void {
    for (const [id, timer] of [...this.#timers]) {
      if (timer.every === undefined) this.#timers.delete(id);
      timer.fn();
    }
  }

  /**
   * Moves the time on by `ms`, running each timer that falls due, earliest first, at its time
   * (or now, if the time was set past it).
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let first: [number, Timer] | undefined;
      for (const timer of this.#timers) {
        if (timer[1].at <= end && (first === undefined || timer[1].at < first[1].at)) first = timer;
      }
      if (first === undefined) break;
      const [id, timer] = first;
      this.time = Math.max(this.time, timer.at);
      if (timer.every === undefined) this.#timers.delete(id);
      else timer.at = this.time + timer.every;
      timer.fn();
    }
    this.time = end;
  }
}
