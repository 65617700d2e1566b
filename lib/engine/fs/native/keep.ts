/**
 * `--backup_dir` in the native engine: the replica entry about to be replaced is kept in the
 * backup folder from its folder's handle (a hard link, a copy across filesystems), never by its
 * path, which a folder swapped for a link could lead outside the replica. Needs `--allow-ffi`.
 *
 * @module
 */
import type { Seen } from "../types.ts";
import { type BackupTarget, checkBackupTarget } from "../../backup.ts";
import * as c from "./libc.ts";
import { encodeName } from "./names.ts";
import { compare, timesOf, toEntry } from "./entry.ts";

const CHUNK = 1024 * 1024;

/**
 * Keeps the entry `name` of the folder held by `fd`, which must still be `seen`, at
 * `to` (checked first, see `checkBackupTarget`): a hard link; on another filesystem, a
 * copy (a file with its mode and times, a link; other kinds are not kept, as by path).
 *
 * @example Usage
 * ```ts
 * import { keepOldAt } from "./keep.ts";
 * // keepOldAt(folderFd, "a.txt", seen, "/replica/a.txt", backupTarget);
 * ```
 *
 * @param fd The folder's handle.
 * @param name The entry's name in it.
 * @param seen What it must be.
 * @param where Its path, for messages.
 * @param to Where it is kept.
 * @throws {ChangedError} When another entry stands at the name (nothing is kept).
 */
export function keepOldAt(
  fd: number,
  name: string,
  seen: Seen,
  where: string,
  to: BackupTarget,
): void {
  checkBackupTarget(to);
  const z = encodeName(name);
  const target = encodeName(to.path);
  try {
    c.linkat(fd, z, c.AT.FDCWD, target, where);
  } catch (error) {
    if ((error as c.ErrnoError).code !== "EXDEV") throw error;
    copyOut(fd, z, name, seen, where, target, to.path);
    return;
  }
  try {
    // The name may have been given to another entry of the folder since it was checked.
    compare(
      where,
      toEntry(name, c.statx(c.AT.FDCWD, target, c.AT.SYMLINK_NOFOLLOW, to.path)),
      seen,
    );
  } catch (error) {
    c.unlinkat(c.AT.FDCWD, target, 0, to.path);
    throw error;
  }
}

/**
 * The copy across filesystems: read from the folder's handle, written at the path checked.
 *
 * @example Usage
 * ```ts
 * import { copyOut } from "./keep.ts";
 * // copyOut(folderFd, nameBytes, "a.txt", seen, "/replica/a.txt", targetBytes, "/backups/a.txt");
 * ```
 *
 * @param fd The folder's handle.
 * @param z The entry's name, NUL-terminated.
 * @param name The entry's name.
 * @param seen What it must be.
 * @param where Its path, for messages.
 * @param target Where the copy goes, NUL-terminated.
 * @param path The same, for messages.
 */
export function copyOut(
  fd: number,
  z: Uint8Array,
  name: string,
  seen: Seen,
  where: string,
  target: Uint8Array,
  path: string,
): void {
  if (seen?.kind === "symlink") {
    compare(where, toEntry(name, c.statx(fd, z, c.AT.SYMLINK_NOFOLLOW, where)), seen);
    const link = c.readlinkat(fd, z, where);
    const terminated = new Uint8Array(link.length + 1);
    terminated.set(link);
    c.symlinkat(terminated, c.AT.FDCWD, target, path);
    return;
  }
  if (seen?.kind !== "file") return;
  const input = c.openat(fd, z, c.O.RDONLY | c.O.NOFOLLOW | c.O.NONBLOCK | c.O.CLOEXEC, 0, where);
  let output = -1;
  try {
    const entry = toEntry(name, c.fstatx(input, where));
    compare(where, entry, seen);
    const flags = c.O.WRONLY | c.O.CREAT | c.O.EXCL | c.O.NOFOLLOW | c.O.CLOEXEC;
    output = c.openat(c.AT.FDCWD, target, flags, 0o600, path);
    const offsets = new c.Offsets();
    while (c.copyRangeSync(input, output, offsets, CHUNK, true, path) > 0) {
      // sendfile: any two regular files, whatever their filesystems.
    }
    c.fchmod(output, entry.mode, path);
    c.futimens(output, timesOf(entry), path);
  } finally {
    if (output >= 0) c.close(output);
    c.close(input);
  }
}
