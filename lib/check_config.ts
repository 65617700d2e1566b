/**
 * The check made once at start, before anything is written: a configuration
 * that can never work is refused there (exit 2) instead of every interval.
 *
 * @module
 */
import type { Config } from "./cli.ts";
import { inside, realish } from "./check_roots.ts";

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
 * source and replica the same folder or one inside the other, and a log or
 * health file inside either tree (the mirror would delete it, or foldersync
 * would write into the source), or both being the same file. What can heal
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
  const { source, replica } = config;
  const realSource = realish(source);
  const realReplica = realish(replica);
  if (realSource === realReplica) {
    throw new ConfigError(
      `Source and replica are the same directory '${realSource}': point --replica_path elsewhere`,
    );
  }
  if (inside(realReplica, realSource)) {
    throw new ConfigError(
      `Cannot mirror '${source}' into itself: replica '${replica}' is inside the source; ` +
        `point --replica_path outside it`,
    );
  }
  if (inside(realSource, realReplica)) {
    throw new ConfigError(
      `Cannot mirror '${source}' into '${replica}': the source is inside the replica; ` +
        `point --replica_path elsewhere`,
    );
  }
  if (config.backupDir !== undefined) {
    const realBackup = realish(config.backupDir);
    for (const [what, real] of [["source", realSource], ["replica", realReplica]]) {
      if (real === realBackup || inside(real, realBackup)) {
        throw new ConfigError(
          `--backup_dir '${config.backupDir}' holds the ${what}: put the backups outside both trees`,
        );
      }
    }
  }
  const own: [string, string | undefined][] = [
    ["--log_file", config.logFile],
    ["--health_file", config.healthFile],
    ["--backup_dir", config.backupDir],
    ["--metrics_file", config.metricsFile],
  ];
  const seen = new Map<string, string>();
  for (const [flag, path] of own) {
    if (path === undefined) continue;
    const real = realish(path);
    if (real === realReplica || inside(real, realReplica)) {
      throw new ConfigError(
        `${flag} '${path}' is inside the replica, where the mirror would delete it: move it elsewhere`,
      );
    }
    if (real === realSource || inside(real, realSource)) {
      throw new ConfigError(
        `${flag} '${path}' is inside the source, which foldersync never writes to: move it elsewhere`,
      );
    }
    const other = seen.get(real);
    if (other) throw new ConfigError(`${flag} and ${other} are the same file '${path}': use two`);
    seen.set(real, flag);
  }
}
