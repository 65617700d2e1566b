/**
 * The re-check apply makes before every change to a replica path: is it still
 * what the scan saw?
 *
 * @module
 */
import type { Entry } from "./types.ts";
import { kindOf } from "./list_dir.ts";

/** A replica path is no longer what the scan saw; nothing was done to it. */
export class ChangedError extends Error {
  /**
   * @param path The path.
   * @param what What was found instead.
   */
  constructor(path: string, what: string) {
    super(`'${path}' changed during the run (${what})`);
    this.name = "ChangedError";
  }
}

/** What a path is expected to be: an entry as scanned (kind, dev, ino), or absent. */
export type Seen = Pick<Entry, "kind" | "dev" | "ino"> | undefined;

/**
 * `lstat`s a replica path right before a change to it and compares it with
 * what the scan saw: the same kind, device and inode, or still absent. A
 * symlink swapped in for a directory or file fails the check, so the change
 * that follows never goes through a link. `follow` is for the replica root
 * alone, which the user may give as a link to a directory.
 *
 * @example Usage
 * ```ts
 * import { recheck } from "./recheck.ts";
 * import { toEntry } from "./list_dir.ts";
 * const seen = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * recheck("deno.json", seen); // returns the fresh FileInfo
 * ```
 *
 * @param path The absolute path.
 * @param seen What the scan saw there (undefined: nothing).
 * @param follow Use `stat` instead of `lstat` (the root only).
 * @returns What is there now (undefined when absent, as expected).
 * @throws {ChangedError} When it is not what was seen.
 */
export function recheck(path: string, seen: Seen, follow = false): Deno.FileInfo | undefined {
  let info: Deno.FileInfo;
  try {
    info = follow ? Deno.statSync(path) : Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    if (seen === undefined) return undefined;
    throw new ChangedError(path, "it is gone");
  }
  if (seen === undefined) throw new ChangedError(path, `a ${kindOf(info)} appeared`);
  const kind = kindOf(info);
  if (kind !== seen.kind) throw new ChangedError(path, `a ${kind} stands where a ${seen.kind} was`);
  if (info.ino !== seen.ino || info.dev !== seen.dev) {
    throw new ChangedError(path, `another ${kind} stands there`);
  }
  return info;
}
