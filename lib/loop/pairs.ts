/**
 * Runs folder pairs in one process (`--config`), or the one pair of the
 * command line: each has its own lock, schedule, watch, health file and cycle
 * numbers, and its log lines carry its name. Their cycles run one at a time:
 * the engine changes the process's working directory during a cycle
 * (lib/engine/in_dir.ts) and shares the run's workers (lib/speed/speed.ts), so
 * a cycle that falls due while another pair's runs waits for it.
 *
 * @module
 */
import { basename } from "node:path";
import type { Config } from "../config/cli.ts";
import { lockReplica, ReplicaBusyError, type ReplicaLock } from "./lock.ts";
import { logMessage, withPair } from "../report/logging.ts";
import { createMetrics, type Metrics, type MetricsStatus } from "./metrics.ts";
import type { ProgressLine } from "../report/progress.ts";
import { type CycleResult, runLoop } from "./run_loop.ts";
import { Speed } from "../speed/speed.ts";

/** A folder pair to run. */
export interface RunPair {
  /** Its name: in its log lines (when `named`), lock record and metrics. */
  name: string;
  /** Its settings, paths absolute. */
  config: Config;
}

/** Extras for {@linkcode runPairs}. */
export interface RunPairsOptions {
  /** Tag each pair's log lines with its name (`--config`); a lone command-line pair is not. */
  named: boolean;
  /** The live progress line, on a terminal. */
  progress?: ProgressLine;
  /** `--metrics_file`. */
  metricsFile?: string;
  /** The run's worker threads, shared by the pairs (default: started here and stopped at the end). */
  speed?: Speed;
}

/**
 * The name a pair given on the command line has in the metrics: the
 * replica's folder name, or `default` for the root.
 *
 * @example Usage
 * ```ts
 * import { commandLinePairName } from "./pairs.ts";
 * commandLinePairName("/mnt/backup/photos"); // "photos"
 * ```
 *
 * @param replica The replica's absolute path.
 * @returns The name.
 */
export function commandLinePairName(replica: string): string {
  return basename(replica) || "default";
}

/** One cycle at a time across the pairs, in the order they fell due. */
function createTurns(): () => Promise<() => void> {
  let last = Promise.resolve();
  return () => {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const before = last;
    last = before.then(() => mine);
    return before.then(() => release);
  };
}

/**
 * Runs every pair's loop (see `runLoop`) until the signal aborts, or, for
 * `--once` pairs, until their cycle is done. Every replica is locked first:
 * when another process holds one, nothing runs and the result is 1. A pair
 * whose replica another process takes later stops the whole run (exit 1),
 * as a lone run would stop.
 *
 * @example Usage
 * ```ts
 * import { runPairs } from "./pairs.ts";
 * import { parseCommandLine } from "../config/cli.ts";
 * const command = parseCommandLine(["--source_path", "lib", "--replica_path", "/tmp/r", "--once"]);
 * if (command.kind === "run") {
 *   await runPairs([{ name: "r", config: command.config }], new AbortController().signal, {
 *     named: false,
 *   });
 * }
 * ```
 *
 * @param pairs The pairs, paths absolute.
 * @param stop Stops every pair.
 * @param options Names in the log, the progress line, the metrics file.
 * @returns The exit code: 1 when any pair's run returned 1, else 0.
 */
export async function runPairs(
  pairs: readonly RunPair[],
  stop: AbortSignal,
  options: RunPairsOptions,
): Promise<number> {
  const tagged = <T>(name: string, fn: () => T): T => options.named ? withPair(name, fn) : fn();
  // The lock's holder record goes beside the log file: one per pair when there are names.
  const holderLog = (pair: RunPair) =>
    options.named && pair.config.logFile ? `${pair.config.logFile}.${pair.name}` : undefined;
  const locks: ReplicaLock[] = [];
  for (const pair of pairs) {
    try {
      const { replica, logFile, source } = pair.config;
      locks.push(lockReplica(replica, holderLog(pair) ?? logFile, source));
    } catch (error) {
      if (!(error instanceof ReplicaBusyError)) throw error;
      tagged(pair.name, () => logMessage("error", error.message));
      for (const lock of locks) lock[Symbol.dispose]();
      return 1;
    }
  }

  // A dry run proves nothing about the replicas: it writes no metrics, as it records no health.
  const metrics: Metrics | undefined =
    options.metricsFile === undefined || pairs.every((p) => p.config.dryRun)
      ? undefined
      : createMetrics(
        options.metricsFile,
        pairs.map((p) => ({ name: p.name, healthFile: p.config.healthFile })),
      );
  metrics?.write();

  using own = options.speed ? undefined : new Speed();
  const speed = options.speed ?? own;
  // A pair that loses its replica to another process ends the run, as a lone one would.
  const ended = new AbortController();
  const signal = AbortSignal.any([stop, ended.signal]);
  const turn = createTurns();
  const runs = pairs.map((pair, i) =>
    tagged(pair.name, async () => {
      const around = async (run: () => Promise<CycleResult>, dirs?: readonly string[]) => {
        const release = await turn();
        try {
          if (signal.aborted) {
            // Stopped while another pair's cycle ran: with --once that fails the run, so say so.
            if (pair.config.once) logMessage("error", "cycle not run: the run is stopping");
            return { ok: false };
          }
          const started = performance.now();
          const result = await run();
          if (metrics && !result.busy && !pair.config.dryRun) {
            metrics.record(pair.name, {
              full: dirs === undefined,
              status: cycleStatus(result),
              seconds: (performance.now() - started) / 1000,
              stats: result.stats,
            });
          }
          return result;
        } finally {
          release();
        }
      };
      const code = await runLoop(pair.config, signal, {
        progress: options.progress,
        speed,
        lock: locks[i],
        holderLog: holderLog(pair),
        aroundCycle: around,
      });
      if (code !== 0 && !pair.config.once && !signal.aborted) {
        ended.abort(`the run stopping (pair '${pair.name}' lost its replica)`);
      }
      return code;
    })
  );
  const codes = await Promise.all(runs);
  return Math.max(0, ...codes);
}

/** How a cycle ended, from its result: no counts and not busy means a check refused it. */
function cycleStatus(result: CycleResult): MetricsStatus {
  if (result.stats === undefined) return "refused";
  if (result.stats.aborted) return "stopped";
  return result.ok ? "ok" : "failed";
}
