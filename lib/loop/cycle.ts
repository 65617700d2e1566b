/**
 * One cycle: the safety checks, the lock, the sync (the whole tree, or a watch batch's folders),
 * the summary, the health record and the backup pruning. Needs `--allow-read` on the source and
 * replica, `--allow-write` on the replica and the run's own files.
 *
 * @module
 */
import type { Config } from "../config/cli.ts";
import type { LoopOptions } from "./run_loop.ts";
import { type CheckedRoots, checkRoots } from "./check_roots.ts";
import { SafetyError } from "../engine/errors.ts";
import { explain, RootError } from "../engine/errors.ts";
import { cycleBackup, pruneBackups, PruneError } from "../engine/backup.ts";
import { makeExcludeMatcher } from "../engine/exclude.ts";
import { recordCycle, recordedMount } from "./health.ts";
import { leaveReplica } from "../engine/in_dir.ts";
import { lockReplica, ReplicaBusyError, type ReplicaLock } from "./lock.ts";
import { logEvent, logMessage, logQuietCycles, logSummary } from "../report/logging.ts";
import type { ProgressLine } from "../report/progress.ts";
import { isQuiet, type QuietCycles } from "./quiet_cycles.ts";
import { type SyncOptions, syncTree } from "../engine/sync_tree.ts";
import { emptyStats, type SyncStats } from "../engine/types.ts";
import type { Owners } from "../engine/owner.ts";
import type { MtimeTicks } from "../engine/mtime_tick.ts";
import type { Speed } from "../speed/speed.ts";

/** State kept across the cycles of one process. */
export interface LoopState {
  /** Stops the loop and the cycle under way. */
  signal: AbortSignal;
  /** The run's worker threads, for whole-tree cycles (without them, all on this thread). */
  speed?: Speed;
  /** Warnings already given (each special file is warned about once). */
  warned: Set<string>;
  /** Number of the last cycle run. */
  cycle: number;
  /** What the run learned about `chown`. */
  owners: Owners;
  /** The mtime granularities the run learned, by replica filesystem. */
  ticks: MtimeTicks;
  /** The live progress line, on a terminal. */
  progress?: ProgressLine;
  /** The replica's lock, held from the first cycle that finds the replica until the process ends. */
  lock?: ReplicaLock;
  /**
   * Where the replica's filesystem was mounted at the last cycle that ran
   * (`at`); undefined until the first cycle has read it from the health file.
   */
  replicaMount?: { at?: string };
  /**
   * In the loop: counts the quiet cycles (see quiet_cycles.ts), whose summaries go to debug
   * after the first cycle's. Without it (`--once`) every summary is at info.
   */
  quiet?: QuietCycles;
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
 * Runs one cycle: checks the roots, syncs, logs the summary and records the
 * cycle in the health file. `--max-delete`: the walk holds the removals it
 * finds and makes them after it only if all fit (lib/engine/held.ts); over
 * the limit none is made and the cycle fails. A `--watch` cycle of several
 * folders, each a walk of its own, counts them all in a dry pass first.
 *
 * @example Usage
 * ```ts
 * import { runCycle } from "./cycle.ts";
 * import { parseCommandLine } from "../config/cli.ts";
 * import { Owners } from "../engine/owner.ts";
 * import { MtimeTicks } from "../engine/mtime_tick.ts";
 * const command = parseCommandLine(["--source_path", "lib", "--replica_path", "/tmp/r"]);
 * if (command.kind === "run") {
 *   const signal = new AbortController().signal;
 *   const learned = { owners: new Owners(), ticks: new MtimeTicks() };
 *   await runCycle(command.config, { signal, warned: new Set(), cycle: 0, ...learned });
 * }
 * ```
 *
 * @param config The run's configuration.
 * @param state State shared across cycles (the cycle counter is advanced).
 * @param dirs For a `--watch` cycle: sync only these directories, each
 *   shallow (new directories in them whole), and leave the health file alone.
 * @param whole For a `--watch` cycle: directories to sync whole (created or
 *   moved in: see `WatchBatch`).
 * @returns How it ended.
 */
export async function runCycle(
  config: Config,
  state: LoopState,
  dirs?: readonly string[],
  whole: readonly string[] = [],
): Promise<CycleResult> {
  const cycle = ++state.cycle;
  const scope = dirs && watchScope(dirs, whole);
  const started = performance.now();
  const excluded = makeExcludeMatcher(config.filters);
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
  // Remembered across restarts where the run already keeps a record: the health file.
  state.replicaMount ??= { at: config.healthFile ? recordedMount(config.healthFile) : undefined };
  let checked: CheckedRoots;
  try {
    checked = checkRoots({
      source: config.source,
      replica: config.replica,
      logFile: config.logFile,
      healthFile: config.healthFile,
      backupDir: config.backupDir,
      metricsFile: config.metricsFile,
      allowEmptySource: config.allowEmptySource,
      excluded,
      requireMount: config.requireMount,
      replicaMount: {
        remembered: state.replicaMount.at,
        onPurpose: config.healthFile
          ? `delete '${config.healthFile}', where it is remembered`
          : "restart foldersync",
      },
    });
  } catch (error) {
    return refuse(error);
  }
  if (checked.replicaMount !== undefined && !config.dryRun) {
    state.replicaMount.at = checked.replicaMount;
  }
  const busy = (error: unknown): CycleResult => {
    if (!(error instanceof ReplicaBusyError)) throw error;
    logMessage("error", `cycle ${cycle} not run: ${error.message}`);
    return { ok: false, busy: true };
  };
  // One process per replica (lib/loop/lock.ts), for the life of the process: a replica made or
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
    // The backup folder as the check resolved it: a link re-pointed since is not followed.
    backup: checked.backupDir === undefined
      ? undefined
      : cycleBackup(checked.backupDir, new Date(Date.now() - (performance.now() - started))),
    checksum: config.checksum,
    modifyWindowMs: Math.round((config.modifyWindowSeconds ?? 0) * 1000),
    hardLinks: config.hardLinks,
    excluded,
    deleteExcluded: config.deleteExcluded,
    concurrency: config.concurrency,
    signal: state.signal,
    warned: state.warned,
    oneFileSystem: config.oneFileSystem,
    engine: config.engine,
    xattrs: config.xattrs,
    owners: state.owners,
    ticks: state.ticks,
  };
  let deletes = true;
  let ok = true;
  let refused = false;
  const overLimit = (removals: number) => {
    refused = true;
    logMessage(
      "error",
      `cycle ${cycle} would remove ${removals} ${removals === 1 ? "entry" : "entries"}, ` +
        `more than --max-delete ${config.maxDelete}: ` +
        `removing none (check the source; raise --max-delete if this is intended)`,
    );
  };
  if (config.maxDelete !== undefined && !config.dryRun && scope !== undefined && scope.length > 1) {
    let removals = 0;
    const counted = syncScope(config, scope, {
      ...base,
      dryRun: true,
      warned: new Set(),
      onEvent: (e) => {
        if (e.action === "remove") removals++;
        else if (e.action === "backup") removals += e.count ?? 0;
      },
    }, state.speed);
    try {
      await counted;
    } catch (error) {
      return refuse(error);
    }
    if (removals > config.maxDelete) {
      deletes = false;
      overLimit(removals);
    }
  }
  const progress = state.progress;
  progress?.start();
  let stats: SyncStats;
  let warnings = 0; // New warnings make a cycle worth its summary at info.
  try {
    stats = await syncScope(config, scope, {
      ...base,
      dryRun: config.dryRun,
      deletes,
      maxDelete: config.maxDelete,
      onOverBudget: (removals) => refused || overLimit(removals), // Said once a cycle.
      itemize: config.itemizeChanges,
      onEvent: (event) => {
        if (event.action === "skip" && !event.repeat) warnings++;
        progress?.event(event);
        logEvent(event);
      },
      onPlan: progress?.plan,
      onWalked: progress?.scanDone,
      onInflight: progress?.watch,
      onRootCreated,
    }, state.speed);
  } catch (error) {
    return error instanceof ReplicaBusyError ? busy(error) : refuse(error);
  } finally {
    progress?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (refused) stats.error++; // The refused removals fail the cycle: its summary says so.
  if (stats.future > 0) {
    logMessage(
      "warning",
      `${stats.future} source ${stats.future === 1 ? "file has an mtime" : "files have mtimes"} ` +
        "in the future (clock skew?): copied without waiting for them to settle",
    );
  }
  if (checked.backupDir !== undefined && config.backupKeepSeconds !== undefined) {
    pruneOld(checked.backupDir, config.backupKeepSeconds, config.dryRun);
    leaveReplica(config.source); // Nor is a backup folder left the working directory.
  }
  ok = ok && !refused && stats.error === 0 && !stats.aborted;
  const quiet = state.quiet !== undefined && cycle > 1 && ok && isQuiet(stats, warnings);
  const kept = base.backup && `${base.backup.root}/${base.backup.stamp}`;
  logSummary(cycle, seconds, stats, config.dryRun, scope?.length, kept, quiet);
  const report = quiet ? state.quiet!.note() : undefined;
  if (report) logQuietCycles(report.cycles, report.ms);
  if (healthFile) {
    const status = stats.aborted ? "stopped" : ok ? "ok" : "failed";
    recordCycle(
      healthFile,
      { cycle, status, errors: stats.error },
      config.intervalSeconds,
      undefined,
      state.replicaMount.at,
    );
  }
  return { ok, stats };
}

/**
 * `--backup_keep`: removes the backup folders past their age, one log line
 * each; one that cannot be removed is a warning, and the next is tried.
 */
function pruneOld(dir: string, keepSeconds: number, dryRun: boolean): void {
  try {
    pruneBackups(dir, keepSeconds, Date.now(), dryRun, {
      removed: (name) => {
        logMessage(
          "info",
          `backup folder ${name} ${dryRun ? "would be " : ""}removed: older than --backup_keep` +
            (dryRun ? " (dry run)" : ""),
        );
      },
      failed: (name, error) => {
        const { reason, hint } = explain(error instanceof PruneError ? error.cause : error);
        const folder = `${dir}/${name}`;
        const inner = error instanceof PruneError && error.path.startsWith(`${folder}/`)
          ? `'${error.path.slice(folder.length + 1)}': `
          : "";
        logMessage(
          "warning",
          `cannot remove backup folder '${folder}': ${inner}${reason}` +
            `${hint ? ` (${hint})` : ""}; tried again next cycle`,
        );
      },
    });
  } catch (error) {
    const { reason, hint } = explain(error);
    logMessage("warning", `cannot prune backups in '${dir}': ${reason}${hint ? ` (${hint})` : ""}`);
  }
}

/** A directory a `--watch` cycle syncs: shallow (its own entries, new directories whole), or whole. */
interface WatchDir {
  dir: string;
  whole: boolean;
}

/**
 * The directories of a `--watch` cycle in path order, each parent before
 * what is in it (a parent creates a new folder whole, which its own sync
 * then finds done): `dirs` shallow, `whole` whole, less those inside a
 * directory synced whole.
 */
function watchScope(dirs: readonly string[], whole: readonly string[]): WatchDir[] {
  const wholeSet = new Set(whole);
  const covered = (dir: string): boolean => {
    for (let i = dir.lastIndexOf("/"); i > 0; i = dir.lastIndexOf("/", i - 1)) {
      if (wholeSet.has(dir.slice(0, i))) return true;
    }
    return dir !== "" && wholeSet.has("");
  };
  const scope = new Map<string, boolean>();
  for (const dir of whole) if (!covered(dir)) scope.set(dir, true);
  for (const dir of dirs) if (!scope.has(dir) && !covered(dir)) scope.set(dir, false);
  return [...scope.keys()].sort().map((dir) => ({ dir, whole: scope.get(dir)! }));
}

/**
 * The whole tree, or each directory of a `--watch` cycle, one after the
 * other. One that is not a directory on both sides (or lies below a link)
 * gets its nearest ancestor that is synced instead, shallow (see `syncTree`).
 */
async function syncScope(
  config: Config,
  scope: readonly WatchDir[] | undefined,
  options: SyncOptions,
  speed: Speed | undefined,
): Promise<SyncStats> {
  if (scope === undefined) {
    return await syncTree({
      ...options,
      prefetch: { exclude: config.filters },
      copyWorkers: true,
      speed,
    });
  }
  const total = emptyStats();
  for (const { dir, whole } of scope) {
    if (options.signal?.aborted) break;
    // Totals are final only after the last directory: no ETA before.
    const stats = await syncTree({ ...options, start: dir, shallow: !whole, onWalked: undefined });
    for (const key of Object.keys(total) as (keyof SyncStats)[]) {
      if (key === "aborted") total.aborted ||= stats.aborted;
      else total[key] += stats[key];
    }
  }
  return total;
}
