/**
 * Quiet idle cycles: a cycle that changed nothing and failed nothing logs
 * its summary at debug, and one info line at most an hour counts them, so a
 * mirror that sits idle does not write a line a minute.
 *
 * @module
 */
import type { SyncStats } from "../engine/types.ts";

/**
 * Tells whether a cycle was quiet: it created, copied, updated, removed and
 * backed up nothing, failed nothing, was not cut short, met no file dated in
 * the future and gave no new warning (a skip already reported by an earlier
 * cycle is at debug, so it does not count).
 *
 * @example Usage
 * ```ts
 * import { isQuiet } from "./quiet_cycles.ts";
 * import { emptyStats } from "../engine/types.ts";
 * isQuiet({ ...emptyStats(), scanned: 10 }, 0); // true
 * isQuiet({ ...emptyStats(), copy: 1 }, 0); // false
 * ```
 *
 * @param stats The cycle's counts.
 * @param warnings The warnings it gave for the first time (new skips).
 * @returns True when its summary belongs at debug.
 */
export function isQuiet(stats: SyncStats, warnings: number): boolean {
  return stats.create + stats.copy + stats.update + stats.remove + stats.backup === 0 &&
    stats.error === 0 && !stats.aborted && stats.future === 0 && warnings === 0;
}

/** A count of quiet cycles to log: how many, over how many milliseconds. */
export interface QuietReport {
  /** Quiet cycles since the last report. */
  cycles: number;
  /** Milliseconds since the last report (or since counting began). */
  ms: number;
}

/**
 * Counts quiet cycles and says when to log the count: at the first quiet
 * cycle an hour or more after the last report, so at most one line an hour.
 * Busy cycles log their own summaries and do not reset the count; a quiet
 * cycle after an hour or more without one starts a new hour (rather than
 * being reported alone at once).
 *
 * @example Usage
 * ```ts
 * import { QuietCycles } from "./quiet_cycles.ts";
 * let now = 0;
 * const quiet = new QuietCycles(() => now);
 * quiet.note(); // undefined: not an hour yet
 * now = 3_600_000;
 * quiet.note(); // { cycles: 2, ms: 3600000 }
 * ```
 */
export class QuietCycles {
  #cycles = 0;
  #since: number;

  /**
   * @param now The clock, in milliseconds (default `Date.now`; tests pass their own).
   * @param everyMs The least time between two reports (default an hour).
   */
  constructor(
    private readonly now: () => number = Date.now,
    readonly everyMs = 3_600_000,
  ) {
    this.#since = now();
  }

  /**
   * A quiet cycle ended.
   *
   * @returns The count to log now, or undefined when the last report is less than `everyMs` old.
   */
  note(): QuietReport | undefined {
    const now = this.now();
    if (this.#cycles === 0 && now - this.#since >= this.everyMs) this.#since = now;
    this.#cycles++;
    return now - this.#since >= this.everyMs ? this.flush() : undefined;
  }

  /**
   * Takes the count not yet reported (at stop), and starts a new one.
   *
   * @returns It, or undefined when there is none.
   */
  flush(): QuietReport | undefined {
    const now = this.now();
    const report = this.#cycles === 0 ? undefined : { cycles: this.#cycles, ms: now - this.#since };
    this.#cycles = 0;
    this.#since = now;
    return report;
  }
}
