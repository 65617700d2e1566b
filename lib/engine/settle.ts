/**
 * The settle rule: how long a freshly written file waits before it is copied; pure (no
 * permissions needed).
 *
 * @module
 */

/**
 * How long after its last write a file is left alone before it is copied.
 * File timestamps come from a coarse clock (a kernel tick, up to 10 ms) and
 * are compared in whole ms, so a write in the same tick as the scanned mtime
 * (a writer halfway through the file, or rewriting it in place at the same
 * size) leaves size and mtime unchanged and the lstat after the copy cannot
 * see it. Waiting until the mtime is this old before copying means any such
 * write is either finished before the copy starts or, continuing, stamps a
 * later mtime that the check after the copy sees.
 */
export const SETTLE_MS = 100;

/**
 * Some filesystems keep mtimes in whole seconds (ext4 with small inodes, HFS+)
 * or even seconds (FAT), so a write up to two seconds later can stamp the
 * same one. An mtime in whole seconds may come from one of those: it settles
 * this much later.
 */
export const WHOLE_SECOND_TICK_MS = 2000;

/**
 * An mtime further than this ahead of the clock is taken for clock skew (or
 * an archive, a camera), not a write in progress: a writer working now would
 * stamp the present time, which the check after the copy sees.
 */
export const FUTURE_MARGIN_MS = 1000;

/**
 * The settle rule: how many ms to wait before a file with this mtime may be
 * copied, so that a write in the same clock tick as the copy cannot hide
 * behind an unchanged size and mtime: until the mtime is
 * {@linkcode SETTLE_MS} old ({@linkcode WHOLE_SECOND_TICK_MS} more when it
 * is in whole seconds). That holds for a file dated a little ahead of
 * the clock too (set by hand, unpacked, or stamped by a host whose clock is
 * ahead): a later write by a clock that reaches that mtime could stamp the
 * very same one. Beyond {@linkcode FUTURE_MARGIN_MS} it is clock skew and is
 * copied at once. With mtimes compared within a window (a replica keeping
 * whole seconds, `--modify-window`), a rewrite at the same size within it
 * after the copy would look unchanged: the file waits until its mtime is
 * that much older too, up to {@linkcode WHOLE_SECOND_TICK_MS}.
 *
 * @example Usage
 * ```ts
 * import { settleDelay } from "./settle.ts";
 * settleDelay(1000, 1050); // 50
 * settleDelay(1000, 5000); // 0
 * settleDelay(5500, 5000); // 600: half a second ahead, until it is 100 ms old
 * settleDelay(9000, 5000); // 0: four seconds ahead, clock skew
 * settleDelay(4000, 5000); // 1100: whole seconds, perhaps a filesystem that keeps no more
 * settleDelay(4500, 5000, 999); // 599: a replica keeping whole seconds
 * ```
 *
 * @param mtimeMs The file's mtime.
 * @param now The current time, ms since the epoch.
 * @param windowMs Mtimes this close are compared as equal (see `PlanOptions.mtimeWindowMs`).
 * @returns The wait in ms.
 */
export function settleDelay(mtimeMs: number, now: number, windowMs = 0): number {
  if (mtimeMs > now + FUTURE_MARGIN_MS) return 0;
  const whole = mtimeMs % 1000 === 0 ? WHOLE_SECOND_TICK_MS : 0;
  const tick = Math.max(whole, Math.min(windowMs, WHOLE_SECOND_TICK_MS));
  return Math.max(0, mtimeMs + tick + SETTLE_MS - now);
}

/**
 * Whether an mtime is beyond the margin in the future (see {@linkcode settleDelay}).
 *
 * @example Usage
 * ```ts
 * import { isFuture } from "./settle.ts";
 * isFuture(Date.now() + 5000, Date.now()); // true
 * ```
 *
 * @param mtimeMs The file's mtime.
 * @param now The current time.
 * @returns True when it is.
 */
export function isFuture(mtimeMs: number, now: number): boolean {
  return mtimeMs > now + FUTURE_MARGIN_MS;
}
