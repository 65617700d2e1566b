/**
 * Cycles: the safety checks, the sync, the summary, the health record; and
 * the loop that runs them at start and then every interval, and with
 * `--watch` whenever changed directories have settled, one at a time.
 *
 * @module
 */
import type { Config } from "./cli.ts";
import { checkRoots, SafetyError } from "./check_roots.ts";
import { explain, RootError } from "./errors.ts";
import { cycleBackup, pruneBackups } from "./backup.ts";
import { makeExcludeMatcher } from "./exclude.ts";
import { recordCycle } from "./health.ts";
import { lockReplica, ReplicaBusyError, type ReplicaLock } from "./lock.ts";
import { logEvent, logMessage, logSummary } from "./logging.ts";
import { setLongTimeout } from "./long_timeout.ts";
import type { ProgressLine } from "./progress.ts";
import { type SyncOptions, syncTree } from "./sync_tree.ts";
import { emptyStats, type SyncStats } from "./types.ts";
import { type SourceWatch, WatchError, watchSource } from "./watch.ts";

/** State kept across the cycles of one process. */
export interface LoopState {
  /** Stops the loop and the cycle under way. */
  signal: AbortSignal;
  /** Warnings already given (each special file is warned about once). */
  warned: Set<string>;
  /** Number of the last cycle run. */
  cycle: number;
  /** The live progress line, on a terminal. */
  progress?: ProgressLine;
  /** The replica's lock, held from the first cycle that finds the replica until the process ends. */
  lock?: ReplicaLock;
  /** The log file the lock's holder record goes beside, when not `--log_file` (see LoopOptions). */
  holderLog?: string;
  /** Runs each cycle, see LoopOptions. */
  aroundCycle?: LoopOptions["aroundCycle"];
}

/** How a cycle ended. */
export interface CycleResult {
  /** True when nothing failed and no check refused. */
  ok: boolean;
  /** The counts, when the sync ran. */
  stats?: SyncStats;
  /** Another process holds the replica: the run must end. */
  busy?: boolean;
}

/**
 * Runs one cycle: checks the roots, honours `--max-delete` (a counting pass
 * first; over the limit, the cycle runs with deletes off and fails; under it,
 * the removals are still counted as they happen and the one past the limit
 * is never made), syncs, logs the summary and records the cycle in the
 * health file.
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
 * @param dirs For a `--watch` cycle: sync only these directories, each
 *   shallow (new directories in them whole), and leave the health file alone.
 * @returns How it ended.
 */
export async function runCycle(
  config: Config,
  state: LoopState,
  dirs?: readonly string[],
): Promise<CycleResult> {
  const cycle = ++state.cycle;
  const started = performance.now();
  const excluded = makeExcludeMatcher(config.exclude);
  // Only full cycles that could change the replica are recorded: a dry run proves nothing.
  const healthFile = dirs === undefined && !config.dryRun ? config.healthFile : undefined;
  /** A root cannot be used: one line, the health record, and the loop tries again next interval. */
  const refuse = (error: unknown): CycleResult => {
    if (!(error instanceof SafetyError || error instanceof RootError)) throw error;
    logMessage("error", `cycle ${cycle} refused: ${error.message}`);
    const refused = { cycle, status: "refused", errors: 0, detail: error.message } as const;
    if (healthFile) recordCycle(healthFile, refused, config.intervalSeconds);
    return { ok: false };
  };
  try {
    checkRoots({
      source: config.source,
      replica: config.replica,
      ownFiles: [config.logFile, config.healthFile].filter((f): f is string => f !== undefined),
      allowEmptySource: config.allowEmptySource,
      excluded,
    });
  } catch (error) {
    return refuse(error);
  }
  const busy = (error: unknown): CycleResult => {
    if (!(error instanceof ReplicaBusyError)) throw error;
    logMessage("error", `cycle ${cycle} not run: ${error.message}`);
    return { ok: false, busy: true };
  };
  // One process per replica (lib/lock.ts), for the life of the process: a replica made or
  // replaced since the last cycle is locked afresh, a new one as soon as this cycle has made it.
  const lock = () => (state.lock = lockReplica(
    config.replica,
    state.holderLog ?? config.logFile,
    config.source,
  ));
  if (!state.lock?.current()) {
    state.lock?.[Symbol.dispose]();
    state.lock = undefined;
    try {
      lock();
    } catch (error) {
      return busy(error);
    }
  }
  const onRootCreated = state.lock?.locked ? undefined : lock;

  const base: SyncOptions = {
    source: config.source,
    replica: config.replica,
    backup: config.backupDir === undefined
      ? undefined
      : cycleBackup(config.backupDir, new Date(Date.now() - (performance.now() - started))),
    checksum: config.checksum,
    hardLinks: config.hardLinks,
    excluded,
    concurrency: config.concurrency,
    signal: state.signal,
    warned: state.warned,
  };
  let deletes = true;
  let ok = true;
  if (config.maxDelete !== undefined && !config.dryRun) {
    let removals = 0;
    const counted = syncScope(config, dirs, {
      ...base,
      dryRun: true,
      warned: new Set(),
      onEvent: (e) => {
        if (e.action === "remove") removals++;
        else if (e.action === "backup") removals += e.count ?? 0;
      },
    });
    try {
      await counted;
    } catch (error) {
      return refuse(error);
    }
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
  const progress = state.progress;
  progress?.start();
  let stats: SyncStats;
  try {
    stats = await syncScope(config, dirs, {
      ...base,
      dryRun: config.dryRun,
      deletes,
      maxDelete: config.maxDelete,
      onEvent: progress
        ? (event) => {
          progress.event(event);
          logEvent(event);
        }
        : logEvent,
      onPlan: progress?.plan,
      onInflight: progress?.watch,
      onRootCreated,
    });
  } catch (error) {
    return error instanceof ReplicaBusyError ? busy(error) : refuse(error);
  } finally {
    progress?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (!deletes) stats.error++; // The refused removals fail the cycle: its summary says so.
  if (stats.future > 0) {
    logMessage(
      "warning",
      `${stats.future} source ${stats.future === 1 ? "file has an mtime" : "files have mtimes"} ` +
        "in the future (clock skew?): copied without waiting for them to settle",
    );
  }
  if (config.backupDir !== undefined && config.backupKeepSeconds !== undefined) {
    pruneOld(config.backupDir, config.backupKeepSeconds, config.dryRun);
  }
  logSummary(cycle, seconds, stats, config.dryRun, dirs?.length, config.backupDir !== undefined);
  ok = ok && stats.error === 0 && !stats.aborted;
  if (healthFile) {
    const status = stats.aborted ? "stopped" : ok ? "ok" : "failed";
    recordCycle(healthFile, { cycle, status, errors: stats.error }, config.intervalSeconds);
  }
  return { ok, stats };
}

/** `--backup_keep`: removes the backup folders past their age, one log line each. */
function pruneOld(dir: string, keepSeconds: number, dryRun: boolean): void {
  try {
    pruneBackups(dir, keepSeconds, Date.now(), dryRun, (name) => {
      logMessage(
        "info",
        `backup folder ${name} ${dryRun ? "would be " : ""}removed: older than --backup_keep` +
          (dryRun ? " (dry run)" : ""),
      );
    });
  } catch (error) {
    const { reason, hint } = explain(error);
    logMessage("warning", `cannot prune backups in '${dir}': ${reason}${hint ? ` (${hint})` : ""}`);
  }
}

/**
 * The two speed mechanisms of a whole-tree cycle, both on: the source is
 * listed ahead on a worker (prefetch.ts), and small files are copied on two
 * workers (copier.ts). `bench/variant.ts` switches one off to measure what it
 * earns (bench/README.md).
 */
export const speedMechanisms = { prefetch: true, copyWorkers: true };

/** The whole tree, or each of `dirs` shallow, one after the other. */
async function syncScope(
  config: Config,
  dirs: readonly string[] | undefined,
  options: SyncOptions,
): Promise<SyncStats> {
  if (dirs === undefined) {
    return await syncTree({
      ...options,
      prefetch: speedMechanisms.prefetch ? { exclude: config.exclude } : undefined,
      copyWorkers: speedMechanisms.copyWorkers,
    });
  }
  const total = emptyStats();
  for (let dir of dirs) {
    if (options.signal?.aborted) break;
    let stats: SyncStats;
    while (true) {
      try {
        stats = await syncTree({ ...options, start: dir, shallow: true });
        break;
      } catch (error) {
        // Removed between the start check and the walk: its parent will do.
        if (!(error instanceof Deno.errors.NotFound) || dir === "") throw error;
        dir = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "";
      }
    }
    for (const key of Object.keys(total) as (keyof SyncStats)[]) {
      if (key === "aborted") total.aborted ||= stats.aborted;
      else total[key] += stats[key];
    }
  }
  return total;
}

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
  /** The replica's lock, taken already (lib/pairs.ts locks every pair before any runs). */
  lock?: ReplicaLock;
  /** Where the lock's holder record goes (beside this path), when not beside `--log_file`. */
  holderLog?: string;
  /**
   * Runs each cycle (`run`; `dirs` for a `--watch` cycle): lib/pairs.ts runs
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
 * import { parseCommandLine } from "./cli.ts";
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
  const state: LoopState = {
    signal,
    warned: new Set(),
    cycle: 0,
    progress: options.progress,
    holderLog: options.holderLog,
    aroundCycle: options.aroundCycle,
  };
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
  const cycle = async (dirs?: readonly string[]): Promise<CycleResult> => {
    const run = () => runCycle(config, state, dirs);
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
        excluded: makeExcludeMatcher(config.exclude),
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
          logMessage("warning", `watch: ${batch.full}: syncing the whole tree`);
          busy = (await cycle()).busy === true;
        } else if (batch.dirs.length > 0) busy = (await cycle(batch.dirs)).busy === true;
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
  }
  return 0;
}
