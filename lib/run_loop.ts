/**
 * Cycles: the safety checks, the sync, the summary, the health record; and
 * the loop that runs them at start and then every interval.
 *
 * @module
 */
import type { Config } from "./cli.ts";
import { checkRoots, SafetyError } from "./check_roots.ts";
import { makeExcludeMatcher } from "./exclude.ts";
import { writeHealth } from "./health.ts";
import { logEvent, logMessage, logSummary } from "./logging.ts";
import { type SyncStats, syncTree } from "./sync_tree.ts";

/** State kept across the cycles of one process. */
export interface LoopState {
  /** Stops the loop and the cycle under way. */
  signal: AbortSignal;
  /** Warnings already given (each special file is warned about once). */
  warned: Set<string>;
  /** Number of the last cycle run. */
  cycle: number;
}

/** How a cycle ended. */
export interface CycleResult {
  /** True when nothing failed and no check refused. */
  ok: boolean;
  /** The counts, when the sync ran. */
  stats?: SyncStats;
}

/**
 * Runs one cycle: checks the roots, honours `--max-delete` (a counting pass
 * first; over the limit, the cycle runs with deletes off and fails), syncs,
 * logs the summary and records success in the health file.
 *
 * @example Usage
 * ```ts
 * import { runCycle } from "./run_loop.ts";
 * import { parseCommandLine } from "./cli.ts";
 * const command = parseCommandLine(["--source_path", "lib", "--replica_path", "/tmp/r"]);
 * if (command.kind === "run") {
 *   await runCycle(command.config, { signal: new AbortController().signal, warned: new Set(), cycle: 0 });
 * }
 * ```
 *
 * @param config The run's configuration.
 * @param state State shared across cycles (the cycle counter is advanced).
 * @returns How it ended.
 */
export async function runCycle(config: Config, state: LoopState): Promise<CycleResult> {
  const cycle = ++state.cycle;
  const started = performance.now();
  const excluded = makeExcludeMatcher(config.exclude);
  try {
    checkRoots({
      source: config.source,
      replica: config.replica,
      ownFiles: [config.logFile, config.healthFile].filter((f): f is string => f !== undefined),
      allowEmptySource: config.allowEmptySource,
      excluded,
    });
  } catch (error) {
    if (!(error instanceof SafetyError)) throw error;
    logMessage("error", `cycle ${cycle} refused: ${error.message}`);
    return { ok: false };
  }

  const base = {
    source: config.source,
    replica: config.replica,
    checksum: config.checksum,
    excluded,
    concurrency: config.concurrency,
    signal: state.signal,
    warned: state.warned,
  };
  let deletes = true;
  let ok = true;
  if (config.maxDelete !== undefined && !config.dryRun) {
    let removals = 0;
    await syncTree({
      ...base,
      dryRun: true,
      warned: new Set(),
      onEvent: (e) => {
        if (e.action === "remove") removals++;
      },
    });
    if (removals > config.maxDelete) {
      deletes = false;
      ok = false;
      logMessage(
        "error",
        `cycle ${cycle} would remove ${removals} entries, more than --max-delete ${config.maxDelete}: ` +
          `removing none (check the source; raise --max-delete if this is intended)`,
      );
    }
  }
  const stats = await syncTree({ ...base, dryRun: config.dryRun, deletes, onEvent: logEvent });
  const seconds = (performance.now() - started) / 1000;
  logSummary(cycle, seconds, stats, config.dryRun);
  ok = ok && stats.error === 0 && !stats.aborted;
  if (ok && config.healthFile) {
    try {
      writeHealth(config.healthFile, {
        lastSuccess: Date.now(),
        intervalSeconds: config.intervalSeconds,
        cycle,
        pid: Deno.pid,
      });
    } catch (error) {
      logMessage("warning", `cannot write health file '${config.healthFile}': ${error}`);
    }
  }
  return { ok, stats };
}

/**
 * Waits `ms` milliseconds, or less if `signal` aborts.
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
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Syncs at start, then every interval (start to start; a slow cycle delays
 * the next one instead of overlapping it), until the signal aborts. With
 * `--once`, runs one cycle.
 *
 * @example Usage
 * ```ts
 * import { runLoop } from "./run_loop.ts";
 * import { parseCommandLine } from "./cli.ts";
 * const command = parseCommandLine(["--source_path", "lib", "--replica_path", "/tmp/r", "--once"]);
 * if (command.kind === "run") await runLoop(command.config, new AbortController().signal);
 * ```
 *
 * @param config The run's configuration.
 * @param signal Stops the loop.
 * @returns The exit code: with `--once`, 0 when the cycle succeeded and 1
 *   otherwise (an interrupted cycle included); in the loop, 0 once stopped.
 */
export async function runLoop(config: Config, signal: AbortSignal): Promise<number> {
  const state: LoopState = { signal, warned: new Set(), cycle: 0 };
  while (true) {
    const started = performance.now();
    const result = await runCycle(config, state);
    if (config.once) return result.ok ? 0 : 1;
    if (signal.aborted) return 0;
    await sleep(started + config.intervalSeconds * 1000 - performance.now(), signal);
    if (signal.aborted) return 0;
  }
}
