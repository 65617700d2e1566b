/**
 * Safety checks made before every cycle; a failed check touches nothing.
 *
 * @module
 */
import { basename, dirname, resolve, sep } from "node:path";
import { RootError } from "./errors.ts";

/** A check refused to run the cycle. The message says what and what to do. */
export class SafetyError extends Error {
  /** @param message One line: what is wrong, on which path, what to do. */
  constructor(message: string) {
    super(message);
    this.name = "SafetyError";
  }
}

/** What {@linkcode checkRoots} looks at. */
export interface RootsToCheck {
  /** The source directory. */
  source: string;
  /** The replica directory (may not exist yet). */
  replica: string;
  /** Files of ours (log, health) that must stay out of both trees. */
  ownFiles?: string[];
  /** Mirror an empty source over a non-empty replica anyway. */
  allowEmptySource?: boolean;
  /** Excluded paths (an excluded-only source counts as empty). */
  excluded?: (relPath: string, isDir?: boolean) => boolean;
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

/**
 * The refusal for a replica whose parent folder is missing.
 *
 * @example Usage
 * ```ts
 * import { noReplicaParent } from "./check_roots.ts";
 * noReplicaParent("/mnt/backup/replica").message;
 * ```
 *
 * @param replica The replica path.
 * @returns The error to throw.
 */
export function noReplicaParent(replica: string): SafetyError {
  const absolute = resolve(replica);
  return new SafetyError(
    `The replica's folder '${dirname(absolute)}' does not exist (is its volume mounted?): ` +
      `foldersync creates only '${basename(absolute)}' itself`,
  );
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
 * Refuses to run when the source is missing or not a directory, when source
 * and replica are the same or one is inside the other, when a file of ours
 * (the log) lies inside either tree, when the replica exists but is not a
 * directory, and when the source is empty while the replica is not (the
 * unmounted-volume case) unless `allowEmptySource` is set.
 *
 * @example Usage
 * ```ts
 * import { checkRoots } from "./check_roots.ts";
 * checkRoots({ source: "lib", replica: "/tmp/lib-mirror" });
 * ```
 *
 * @param roots What to check.
 * @throws {SafetyError} With a one-line message when the cycle must not run.
 */
export function checkRoots(roots: RootsToCheck): void {
  const { source, replica } = roots;
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
  const realSource = realish(source);
  const realReplica = realish(replica);
  if (realSource === realReplica) {
    throw new SafetyError(`Source and replica are the same directory '${realSource}'`);
  }
  if (inside(realReplica, realSource)) {
    throw new SafetyError(
      `Cannot mirror '${source}' into itself: replica '${replica}' is inside the source`,
    );
  }
  if (inside(realSource, realReplica)) {
    throw new SafetyError(
      `Cannot mirror '${source}' into '${replica}': the source is inside the replica`,
    );
  }
  for (const own of roots.ownFiles ?? []) {
    const real = realish(own);
    if (inside(real, realReplica)) {
      throw new SafetyError(
        `'${own}' is inside the replica, where the mirror would delete it: move it elsewhere`,
      );
    }
    if (inside(real, realSource)) {
      throw new SafetyError(
        `'${own}' is inside the source, which foldersync never writes to: move it elsewhere`,
      );
    }
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
  if (roots.allowEmptySource || !replicaInfo || sourceHasEntries) return;
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
}
