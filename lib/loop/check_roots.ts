/**
 * Safety checks made before every cycle; a failed check touches nothing.
 *
 * @module
 */
import { basename, dirname, resolve, sep } from "node:path";
import { noReplicaParent, RootError, SafetyError } from "../engine/errors.ts";
import { checkReplicaMount, requireMountPoint } from "./volume.ts";

/** The paths of a run that must not overlap: the two trees and the files and folder of ours. */
export interface RunPaths {
  /** The source directory. */
  source: string;
  /** The replica directory (may not exist yet). */
  replica: string;
  /** `--log_file`. */
  logFile?: string;
  /** `--health_file`. */
  healthFile?: string;
  /** `--backup_dir`. */
  backupDir?: string;
  /** `--metrics_file`. */
  metricsFile?: string;
}

/** What {@linkcode checkRoots} looks at. */
export interface RootsToCheck extends RunPaths {
  /** Mirror an empty source over a non-empty replica anyway. */
  allowEmptySource?: boolean;
  /** Excluded paths (an excluded-only source counts as empty). */
  excluded?: (relPath: string, isDir?: boolean) => boolean;
  /** `--require_mount`: each must be a mount point. */
  requireMount?: readonly string[];
  /**
   * Where the replica's filesystem was mounted at the last cycle that ran
   * (see `replicaMount`), and what to tell the user who moved it on purpose.
   */
  replicaMount?: { remembered?: string; onPurpose: string };
}

/** What the checks found, for the cycle to act on exactly that. */
export interface CheckedRoots {
  /** `--backup_dir` with its links resolved as checked: the cycle's moves go there. */
  backupDir?: string;
  /** Where the replica's filesystem is mounted now (undefined when that cannot be told). */
  replicaMount?: string;
}

/**
 * A missing replica: only its last component is created, so its parent must
 * exist (a backup disk that is not mounted must not fill the system disk),
 * and a dangling link is the user's to fix.
 */
function missingReplica(replica: string): void {
  let link: string | undefined;
  try {
    if (Deno.lstatSync(replica).isSymlink) link = Deno.readLinkSync(replica);
  } catch {
    // Not there at all.
  }
  if (link !== undefined) {
    throw new SafetyError(
      `Replica '${replica}' is a symlink to '${link}', which does not exist: ` +
        `fix the link or point --replica_path at a folder`,
    );
  }
  const parent = dirname(resolve(replica));
  let parentInfo: Deno.FileInfo;
  try {
    parentInfo = Deno.statSync(parent);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw noReplicaParent(replica);
    if (error instanceof Deno.errors.NotCapable) return; // Not ours to look at: mkdir will tell.
    throw new RootError("replica", parent, error);
  }
  if (!parentInfo.isDirectory) {
    throw new SafetyError(`The replica's folder '${parent}' is not a directory`);
  }
}

/** Resolves symlinks in the part of `path` that exists; the rest is appended. */
export function realish(path: string): string {
  const absolute = resolve(path);
  try {
    return Deno.realPathSync(absolute);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      const parent = dirname(absolute);
      if (parent === absolute) return absolute;
      return resolve(realish(parent), basename(absolute));
    }
    return absolute; // No permission to look further up: compare as given.
  }
}

export function inside(child: string, parent: string): boolean {
  return child !== parent && child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/**
 * The overlap rules, in one place: made at start (check_config.ts, exit 2)
 * and again before every cycle, because links can change in between. After
 * resolving symlinks: source and replica the same folder or one inside the
 * other; a log, health or metrics file, or the backup folder, inside either
 * tree, or the backup folder holding one; two of our files the same file.
 *
 * @example Usage
 * ```ts
 * import { checkOverlaps } from "./check_roots.ts";
 * checkOverlaps({ source: "lib", replica: "lib/x" }).problem; // "Cannot mirror 'lib' into itself: ..."
 * ```
 *
 * @param paths The run's paths.
 * @returns The refusal (one line naming the flag and path, and what to do), or none; and the
 *   backup folder as resolved for this check, which is where the cycle must put its backups.
 */
export function checkOverlaps(paths: RunPaths): { problem?: string; backupDir?: string } {
  const { source, replica } = paths;
  const realSource = realish(source);
  const realReplica = realish(replica);
  const realBackup = paths.backupDir === undefined ? undefined : realish(paths.backupDir);
  const problem = (): string | undefined => {
    if (realSource === realReplica) {
      return `Source and replica are the same directory '${realSource}': point --replica_path elsewhere`;
    }
    if (inside(realReplica, realSource)) {
      return `Cannot mirror '${source}' into itself: replica '${replica}' is inside the source; ` +
        `point --replica_path outside it`;
    }
    if (inside(realSource, realReplica)) {
      return `Cannot mirror '${source}' into '${replica}': the source is inside the replica; ` +
        `point --replica_path elsewhere`;
    }
    if (realBackup !== undefined) {
      for (const [what, real] of [["source", realSource], ["replica", realReplica]]) {
        if (real === realBackup || inside(real, realBackup)) {
          return `--backup_dir '${paths.backupDir}' holds the ${what}: put the backups outside both trees`;
        }
      }
    }
    const own: [string, string | undefined, string | undefined][] = [
      ["--log_file", paths.logFile, paths.logFile && realish(paths.logFile)],
      ["--health_file", paths.healthFile, paths.healthFile && realish(paths.healthFile)],
      ["--backup_dir", paths.backupDir, realBackup],
      ["--metrics_file", paths.metricsFile, paths.metricsFile && realish(paths.metricsFile)],
    ];
    const seen = new Map<string, string>();
    for (const [flag, path, real] of own) {
      if (path === undefined || real === undefined) continue;
      if (real === realReplica || inside(real, realReplica)) {
        return `${flag} '${path}' is inside the replica, where the mirror would delete it: move it elsewhere`;
      }
      if (real === realSource || inside(real, realSource)) {
        return `${flag} '${path}' is inside the source, which foldersync never writes to: move it elsewhere`;
      }
      const other = seen.get(real);
      if (other) return `${flag} and ${other} are the same file '${path}': use two`;
      seen.set(real, flag);
    }
    return undefined;
  };
  return { problem: problem(), backupDir: realBackup };
}

/**
 * Refuses to run when a `--require_mount` path is not a mount point, when the
 * source is missing or not a directory, when the paths overlap (see
 * {@linkcode checkOverlaps}), when the replica exists but is not a directory,
 * when the replica's filesystem is no longer mounted where it was (see
 * `checkReplicaMount`), and when the source is empty while the replica is
 * not (the unmounted-volume case) unless `allowEmptySource` is set.
 *
 * @example Usage
 * ```ts
 * import { checkRoots } from "./check_roots.ts";
 * checkRoots({ source: "lib", replica: "/tmp/lib-mirror" });
 * ```
 *
 * @param roots What to check.
 * @returns What the checks resolved: the cycle acts on that.
 * @throws {SafetyError} With a one-line message when the cycle must not run.
 */
export function checkRoots(roots: RootsToCheck): CheckedRoots {
  const { source, replica } = roots;
  for (const path of roots.requireMount ?? []) requireMountPoint(path);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(source);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SafetyError(
        `Source '${source}' does not exist: check --source_path (is its volume mounted?)`,
      );
    }
    throw new RootError("source", source, error);
  }
  if (!info.isDirectory) {
    throw new SafetyError(`Source '${source}' is not a directory: point --source_path at a folder`);
  }
  let replicaInfo: Deno.FileInfo | undefined;
  try {
    replicaInfo = Deno.statSync(replica);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw new RootError("replica", replica, error);
    missingReplica(replica);
  }
  if (replicaInfo && !replicaInfo.isDirectory) {
    throw new SafetyError(
      `Replica '${replica}' exists and is not a directory: point --replica_path at a folder`,
    );
  }
  const overlaps = checkOverlaps(roots);
  if (overlaps.problem !== undefined) throw new SafetyError(overlaps.problem);
  const checked: CheckedRoots = { backupDir: overlaps.backupDir };
  if (roots.replicaMount) {
    checked.replicaMount = checkReplicaMount(
      replica,
      roots.replicaMount.remembered,
      roots.replicaMount.onPurpose,
    );
  }
  const excluded = roots.excluded ?? (() => false);
  let sourceHasEntries = false;
  try {
    for (const entry of Deno.readDirSync(source)) {
      if (!excluded(entry.name, entry.isDirectory)) {
        sourceHasEntries = true;
        break;
      }
    }
  } catch (error) {
    throw new RootError("source", source, error, "cannot list");
  }
  if (roots.allowEmptySource || !replicaInfo || sourceHasEntries) return checked;
  let replicaNames: string[];
  try {
    replicaNames = [...Deno.readDirSync(replica)].map((e) => e.name);
  } catch (error) {
    throw new RootError("replica", replica, error, "cannot list");
  }
  if (replicaNames.length > 0) {
    throw new SafetyError(
      `Source '${source}' is empty but replica '${replica}' is not: refusing to delete the ` +
        `replica's contents (is the source volume mounted?); pass --allow-empty-source to mirror it anyway`,
    );
  }
  return checked;
}
