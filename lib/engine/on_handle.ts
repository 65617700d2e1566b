/**
 * Acting on a replica entry through an open handle checked to be the entry
 * expected, for the portable engine; needs `--allow-read` and `--allow-write` on it.
 *
 * Deno resolves a path before it opens it (a link is followed whatever the
 * flags), but what it opened can be asked: `fstat` on the handle says which
 * inode it is, and `fchmod`, `fchown` and `futimens` (node:fs) act on that
 * inode alone. A link swapped in between the check and the call is caught
 * by the handle's inode instead of followed.
 *
 * @module
 */
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import type { Seen } from "./fs/types.ts";
import { ChangedError } from "./recheck.ts";

/**
 * Opens `path` (read-only, non-blocking: a FIFO swapped in does not hang),
 * checks the handle is `seen` (a file or folder: kind, dev, ino), runs `fn`
 * on its descriptor and closes it. Returns false, having done nothing, when
 * the entry may not be opened for reading (mode 000 as a non-root user): the
 * caller then acts by path, as before.
 *
 * @example Usage
 * ```ts
 * import { onHandle } from "./on_handle.ts";
 * import { fchmodSync } from "node:fs";
 * const info = Deno.lstatSync("deno.json");
 * onHandle("deno.json", { kind: "file", dev: info.dev, ino: info.ino! }, (fd) => fchmodSync(fd, 0o644));
 * ```
 *
 * @param path The entry (relative to the working folder, or absolute).
 * @param seen What it must be.
 * @param fn What to do through the handle.
 * @returns True when `fn` ran.
 * @throws {ChangedError} When the handle is another entry (a link swapped in, a new file).
 */
export function onHandle(path: string, seen: NonNullable<Seen>, fn: (fd: number) => void): boolean {
  let fd: number;
  try {
    // Deno follows a final link whatever the flags: a device swapped in is opened (never as our
    // terminal) and closed again once fstat shows it is not the entry seen.
    const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY |
      constants.O_NOFOLLOW;
    fd = openSync(path, flags);
  } catch (error) {
    if ((error as { code?: string }).code === "EACCES") return false;
    if ((error as { code?: string }).code === "ENOENT") throw new ChangedError(path, "it is gone");
    throw error;
  }
  try {
    const info = fstatSync(fd);
    const kind = info.isFile() ? "file" : info.isDirectory() ? "dir" : "other";
    if (kind !== seen.kind || info.ino !== seen.ino || info.dev !== seen.dev) {
      throw new ChangedError(path, "another entry stands there");
    }
    fn(fd);
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * A time in ms as the seconds node:fs's `futimesSync` takes: it cuts the
 * fraction below what a double holds at today's epoch, which would set
 * 35.951 as 35.950999; half a microsecond more keeps the millisecond exact.
 *
 * @example Usage
 * ```ts
 * import { handleTime } from "./on_handle.ts";
 * handleTime(1_764_716_835_951); // 1764716835.9510005
 * ```
 *
 * @param ms Milliseconds since the epoch.
 * @returns Seconds for `futimesSync`.
 */
export function handleTime(ms: number): number {
  return (ms + 0.0005) / 1000;
}
