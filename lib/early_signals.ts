/**
 * Signals that arrive while the program is still loading. Without a listener a SIGHUP
 * (logrotate's reload) ends the process, and loading the rest of the program takes a good part of
 * a second on a busy machine. main.ts imports this module alone and loads the program after, so
 * its listeners are in place first; the program's `main()` then takes the signals over. Needs no
 * permissions.
 *
 * @module
 */

const SIGNALS: Deno.Signal[] = ["SIGHUP", "SIGINT", "SIGTERM"];
const early: Deno.Signal[] = [];
const listeners: [Deno.Signal, () => void][] = [];

// Only when main.ts is the program: a module that imports main.ts for its `main()` keeps its own.
if (Deno.mainModule === new URL("../main.ts", import.meta.url).href) {
  for (const signal of SIGNALS) {
    const listener = () => void early.push(signal);
    Deno.addSignalListener(signal, listener);
    listeners.push([signal, listener]);
  }
}

/**
 * Removes the early listeners and returns the signals they caught, oldest first. Call it once
 * the real handlers are installed, and pass each signal to them.
 *
 * @example Usage
 * ```ts
 * import { takeEarlySignals } from "./early_signals.ts";
 * for (const signal of takeEarlySignals()) console.log(`${signal} arrived while loading`);
 * ```
 *
 * @returns The signals caught so far.
 */
export function takeEarlySignals(): Deno.Signal[] {
  for (const [signal, listener] of listeners.splice(0)) {
    Deno.removeSignalListener(signal, listener);
  }
  return early.splice(0);
}
