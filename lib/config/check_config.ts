/**
 * The check made once at start, before anything is written: a configuration
 * that can never work is refused there (exit 2) instead of every interval.
 *
 * @module
 */
import type { Config } from "./cli.ts";
import { checkOverlaps } from "../loop/check_roots.ts";

/** The configuration can never work; the message says what and what to do. */
export class ConfigError extends Error {
  /** @param message One line naming the flag and the path. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Refuses a configuration no interval can heal, after resolving symlinks:
 * the overlaps of `checkOverlaps` (source and replica the same folder or one
 * inside the other; a log or health file or the backup folder inside either
 * tree, where the mirror would delete it or foldersync would write into the
 * source; the log and health file the same file). The same rules are checked
 * again before every cycle, as links can change meanwhile. What can heal
 * (a source missing or empty because its volume is not mounted yet) is left
 * to the per-cycle checks of `checkRoots`. Writes nothing, so it runs before
 * the log file is opened.
 *
 * @example Usage
 * ```ts
 * import { checkConfig } from "./check_config.ts";
 * checkConfig({ source: "lib", replica: "/tmp/lib-mirror", logFile: "/tmp/sync.log" });
 * ```
 *
 * @param config The paths of the run.
 * @throws {ConfigError} With a one-line message when the run can never work.
 */
export function checkConfig(
  config: Pick<
    Config,
    "source" | "replica" | "logFile" | "healthFile" | "backupDir" | "metricsFile"
  >,
): void {
  const { problem } = checkOverlaps(config);
  if (problem !== undefined) throw new ConfigError(problem);
}
