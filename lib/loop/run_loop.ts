/**
 * The loop: a cycle at start, then every interval, and with `--watch` whenever changed
 * directories have settled, one at a time (the cycle itself is cycle.ts). Needs what a cycle
 * needs, and `--allow-read` on the source to watch it.
 *
 * @module
 */
import { Owners } from "../engine/owner.ts";
import { MtimeTicks } from "../engine/mtime_tick.ts";
import type { Config } from "../config/cli.ts";
import { makeExcludeMatcher } from "../engine/exclude.ts";
import { lockReplica, ReplicaBusyError, type ReplicaLock } from "./lock.ts";
import { logMessage, logQuietCycles } from "../report/logging.ts";
import { setLongTimeout } from "./long_timeout.ts";
import type { ProgressLine } from "../report/progress.ts";
import { QuietCycles } from "./quiet_cycles.ts";
import { type SourceWatch, WatchError, watchSource } from "./watch.ts";
import { type CycleResult, type LoopState, runCycle } from "./cycle.ts";
import { Speed } from "../speed/speed.ts";

export { type CycleResult, type LoopState, runCycle } from "./cycle.ts";

/**
 * Waits `ms` milliseconds, or less if `signal` aborts. Any length works:
 * waits over 2^31-1 ms (about 24.8 days) are chained, not overflowed.
 *
 * @example Usage
 * ```ts
 * import { sleep } from "./run_loop.ts";
 * await sleep(10, new AbortController().signal);
 * ```
 *
 * @param ms How long.
 * @param signal Ends the wait early.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      cancel();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const cancel = setLongTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Extras for {@linkcode runLoop}. */
export interface LoopOptions {
  /** The live progress line, on a terminal. */
  progress?: ProgressLine;
  /** The run's worker threads (default: the loop starts its own, both mechanisms on, and stops them). */
  speed?: Speed;
  /** The replica's lock, taken already (lib/loop/pairs.ts locks every pair before any runs). */
  lock?: ReplicaLock;
  /** Where the lock's holder record goes (beside this path), when not beside `--log_file`. */
  holderLog?: string;
  /**
   * Runs each cycle (`run`; `dirs` for a `--watch` cycle): lib/loop/pairs.ts runs
   * one pair's at a time and measures them for `--metrics_file`.
   */
  aroundCycle?: (
    run: () => Promise<CycleResult>,
    dirs?: readonly string[],
  ) => Promise<CycleResult>;
}

/**
 * Syncs at start, then every interval (start to start; a slow cycle delays
 * the next one instead of overlapping it), until the signal aborts. With
 * `--once`, runs one cycle. With `--watch`, also syncs the directories that
 * changed once the changes settle; cycles never overlap (changes seen during
 * a cycle wait for the next), and when the watcher cannot be set up the loop
 * carries on with the periodic cycles alone. A cycle the signal cuts short
 * is always reported, naming the signal when it is the abort reason
 * (`controller.abort("SIGINT")`). Intervals of any length work (see
 * `setLongTimeout`).
 *
 * @example Usage
 * ```ts
 * import { runLoop } from "./run_loop.ts";
 * import { parseCommandLine } from "../config/cli.ts";
 * const command = parseCommandLine(["--source_path", "lib", "--replica_path", "/tmp/r", "--once"]);
 * if (command.kind === "run") await runLoop(command.config, new AbortController().signal);
 * ```
 *
 * @param config The run's configuration.
 * @param signal Stops the loop.
 * @param options The progress line.
 * @returns The exit code: with `--once`, 0 when the cycle succeeded and 1
 *   otherwise (an interrupted cycle included); in the loop, 0 once stopped;
 *   1 at once when another process holds the replica's lock.
 */
export async function runLoop(
  config: Config,
  signal: AbortSignal,
  options: LoopOptions = {},
): Promise<number> {
  // Workers the loop starts are the loop's to stop; those it is given, the giver's.
  using own = options.speed ? undefined : new Speed();
  const state: LoopState = {
    signal,
    warned: new Set(),
    cycle: 0,
    owners: new Owners(),
    ticks: new MtimeTicks(),
    progress: options.progress,
    speed: options.speed ?? own,
    holderLog: options.holderLog,
    aroundCycle: options.aroundCycle,
  };
  if (!config.once) state.quiet = new QuietCycles();
  // One process per replica: locked before anything else (when the replica is there already).
  try {
    state.lock = options.lock ??
      lockReplica(config.replica, options.holderLog ?? config.logFile, config.source);
  } catch (error) {
    if (!(error instanceof ReplicaBusyError)) throw error;
    logMessage("error", error.message);
    return 1;
  }
  try {
    return await loop(config, state, signal);
  } finally {
    state.lock?.[Symbol.dispose]();
  }
}

/** The cycles of {@linkcode runLoop}; 1 when another process took the replica meanwhile. */
async function loop(config: Config, state: LoopState, signal: AbortSignal): Promise<number> {
  // An interrupted cycle is always reported: with --once it fails the run (exit 1), so it is an
  // error, shown at every --log_level; a stopped loop exits 0, so there it is a warning.
  const cycle = async (
    dirs?: readonly string[],
    whole?: readonly string[],
  ): Promise<CycleResult> => {
    const run = () => runCycle(config, state, dirs, whole);
    const result = await (state.aroundCycle ? state.aroundCycle(run, dirs) : run());
    if (result.stats?.aborted) {
      const by = typeof signal.reason === "string" ? signal.reason : "a stop request";
      logMessage(
        config.once ? "error" : "warning",
        `cycle ${state.cycle} interrupted by ${by}: not finished; the next run completes it`,
      );
    }
    return result;
  };
  if (config.once) return (await cycle()).ok ? 0 : 1;
  let busy = false;

  let wake: (() => void) | undefined;
  let watch: SourceWatch | undefined;
  if (config.watch) {
    try {
      watch = watchSource({
        source: config.source,
        excluded: makeExcludeMatcher(config.filters),
        debounceMs: config.debounceMs,
        onReady: () => wake?.(),
        onProblem: (message) => logMessage("warning", message),
      });
    } catch (error) {
      if (!(error instanceof WatchError)) throw error;
      logMessage("warning", error.message);
    }
  }
  try {
    let nextFull = performance.now();
    while (!signal.aborted) {
      const now = performance.now();
      if (now >= nextFull) {
        watch?.clear(); // This cycle covers every change made before it starts.
        busy = (await cycle()).busy === true;
        nextFull = now + config.intervalSeconds * 1000;
      } else if (watch?.ready) {
        const batch = watch.take();
        if (batch.full !== undefined) {
          if (!batch.said) logMessage("warning", `watch: ${batch.full}: syncing the whole tree`);
          busy = (await cycle()).busy === true;
        } else if (batch.dirs.length > 0) {
          busy = (await cycle(batch.dirs, batch.whole)).busy === true;
        }
      }
      if (busy) return 1;
      if (signal.aborted || watch?.ready) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          cancel();
          signal.removeEventListener("abort", done);
          wake = undefined;
          resolve();
        };
        const cancel = setLongTimeout(done, nextFull - performance.now());
        signal.addEventListener("abort", done);
        wake = done;
      });
    }
  } finally {
    watch?.close();
    const left = state.quiet?.flush(); // The quiet cycles since the last count, before "stopped".
    if (left) logQuietCycles(left.cycles, left.ms);
  }
  return 0;
}
