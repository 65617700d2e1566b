/**
 * Atomic creation or replacement of one replica file as a hard link of
 * another (`--hard-links`).
 *
 * @module
 */
import { makeTempName } from "./temp_name.ts";
import { recheck, type Seen } from "./recheck.ts";
import { type DirHandle, inDir } from "./in_dir.ts";
import { type BackupTarget, keepOld } from "./backup.ts";

/** The file to link to is no longer the one expected; nothing was linked. */
export class AnchorChangedError extends Error {
  /**
   * @param path The file to link to.
   * @param what What was found instead, in a few words.
   */
  constructor(path: string, readonly what: string) {
    super(`'${path}' changed during the run (${what})`);
    this.name = "AnchorChangedError";
  }
}

/**
 * Makes `name` in the replica directory `dir` a hard link of the file at
 * `anchor`, without ever leaving a half state at the final name and without
 * ever linking a file other than `anchorSeen`. From inside the re-checked
 * directory (see `inDir`): `anchor` is `lstat`ed (still the regular file with
 * that device and inode), linked to a temporary name, and the new name is
 * `lstat`ed too (so a file, link or directory swapped in for `anchor` or a
 * folder above it between the two calls is caught); then `name` is
 * re-checked and the temporary name renamed over it. On any error the
 * temporary name is removed.
 *
 * Needs `--allow-read` and `--allow-write` on the replica.
 *
 * @example Usage
 * ```ts
 * import { linkAtomic } from "./link_atomic.ts";
 * import { toEntry } from "./list_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(dir + "/a", "shared");
 * const anchor = toEntry("a", Deno.lstatSync(dir + "/a"));
 * linkAtomic(dir + "/a", anchor, { abs: dir, seen: toEntry("", Deno.statSync(dir)) }, "b", undefined);
 * Deno.lstatSync(dir + "/b").ino === anchor.ino; // true
 * ```
 *
 * @param anchor The file to link to (absolute).
 * @param anchorSeen What it must be: the file this cycle copied or found there.
 * @param dir The directory the link goes in.
 * @param name The link's name in `dir`.
 * @param seen What the scan saw at `name` (undefined: nothing).
 * @param backup `--backup_dir`: keep the entry replaced here.
 * @throws {AnchorChangedError} When `anchor` is not `anchorSeen`.
 * @throws {ChangedError} When `dir` or `name` is not what the scan saw.
 */
export function linkAtomic(
  anchor: string,
  anchorSeen: NonNullable<Seen>,
  dir: DirHandle,
  name: string,
  seen: Seen,
  backup?: BackupTarget,
): void {
  inDir(dir, () => {
    const tmp = makeTempName();
    sameFile(anchor, anchor, anchorSeen);
    Deno.linkSync(anchor, tmp);
    try {
      sameFile(tmp, anchor, anchorSeen);
      recheck(name, seen);
      if (seen !== undefined && backup !== undefined) keepOld(name, backup);
      Deno.renameSync(tmp, name);
    } catch (error) {
      try {
        Deno.removeSync(tmp);
      } catch {
        // Removed by someone else meanwhile.
      }
      throw error;
    }
  });
}

/** `lstat`s `path`: it must be the regular file `seen` (else `anchor` changed). */
function sameFile(path: string, anchor: string, seen: NonNullable<Seen>): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new AnchorChangedError(anchor, "it was removed meanwhile");
    }
    throw error;
  }
  if (!info.isFile) throw new AnchorChangedError(anchor, "it was replaced meanwhile");
  if (info.dev !== seen.dev || info.ino !== seen.ino) {
    throw new AnchorChangedError(anchor, "another file was put in its place meanwhile");
  }
}
