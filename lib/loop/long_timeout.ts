/**
 * Timers longer than the 2^31-1 ms that `setTimeout` can hold.
 *
 * @module
 */

/** The longest delay `setTimeout` takes (about 24.8 days); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Calls `callback` once after `ms` milliseconds, however long: a delay over
 * `cap` is waited out as a chain of timers of at most `cap` each (a single
 * `setTimeout` over 2^31-1 ms would fire after 1 ms with a
 * `TimeoutOverflowWarning`). The chain follows the monotonic clock, so the
 * callback never comes early.
 *
 * @example Usage
 * ```ts
 * import { setLongTimeout } from "./long_timeout.ts";
 * const cancel = setLongTimeout(() => console.log("a month later"), 30 * 86_400_000);
 * cancel();
 * ```
 *
 * @param callback What to call.
 * @param ms The delay; zero, negative or NaN means as soon as possible.
 * @param cap The longest single timer (default {@linkcode MAX_TIMEOUT_MS}; tests pass less).
 * @returns A function that cancels the wait.
 */
export function setLongTimeout(
  callback: () => void,
  ms: number,
  cap: number = MAX_TIMEOUT_MS,
): () => void {
  const deadline = performance.now() + ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = (left: number) => {
    if (left > cap) timer = setTimeout(() => arm(deadline - performance.now()), cap);
    else timer = setTimeout(callback, Math.max(0, left) || 0);
  };
  arm(ms);
  return () => clearTimeout(timer);
}
