/**
 * Bounded concurrency for copies.
 *
 * @module
 */

/**
 * Runs at most `limit` tasks at once. {@linkcode Pool.run} waits for a free
 * slot before starting its task, so a producer that awaits it is held back
 * (and memory stays bounded) while the pool is full.
 *
 * @example Usage
 * ```ts
 * import { Pool } from "./pool.ts";
 * const pool = new Pool(4);
 * const { done } = await pool.run(async () => {});
 * await done;
 * await pool.idle();
 * ```
 */
export class Pool {
  #limit: number;
  #running = 0;
  #waiters: (() => void)[] = [];
  #idle: (() => void)[] = [];

  /** @param limit How many tasks may run at once (at least 1). */
  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  /**
   * Waits for a free slot, starts `task`, and returns its completion wrapped
   * in an object (a bare promise would be flattened by `await`, making the
   * caller wait for the task itself). `done` never rejects: the task must
   * handle its own errors.
   */
  async run(task: () => Promise<void>): Promise<{ done: Promise<void> }> {
    while (this.#running >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#running++;
    const done = task().catch(() => {}).finally(() => {
      this.#running--;
      this.#waiters.shift()?.();
      if (this.#running === 0) { for (const r of this.#idle.splice(0)) r(); }
    });
    return { done };
  }

  /** Resolves once no task is running. */
  idle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
