/**
 * Reaching a folder below its root in the native engine, no link followed on the way:
 * `openat2` with `RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS`, or one `O_NOFOLLOW` step at a time on
 * kernels without it. Needs `--allow-ffi`.
 *
 * @module
 */
import type { Folder } from "../types.ts";
import { ChangedError } from "../../recheck.ts";
import * as c from "./libc.ts";
import { encodeName } from "./names.ts";

/** How a folder is held: a path handle, never a link, closed on exec. */
export const FOLDER = c.O.PATH | c.O.DIRECTORY | c.O.CLOEXEC;
/** How a folder that may be read is held: the same handle then lists it. */
export const READABLE_FOLDER = c.O.RDONLY | c.O.DIRECTORY | c.O.CLOEXEC;
const BENEATH = c.RESOLVE.BENEATH | c.RESOLVE.NO_SYMLINKS | c.RESOLVE.NO_MAGICLINKS;
/** Errors opening a folder by its path that mean it is no longer the one seen. */
const MOVED: Record<string, string> = {
  ENOENT: "it is gone",
  ELOOP: "a link stands in its path",
  ENOTDIR: "a file stands in its path",
  EXDEV: "its path leads out of its root",
};
/** The kernel has no `openat2` (before Linux 5.6): learned once per process. */
let noOpenat2 = false;

/**
 * Opens a folder below its root, no link followed on the way.
 *
 * @example Usage
 * ```ts
 * import { openBeneath } from "./beneath.ts";
 * // const fd = openBeneath(rootFd, folder);
 * ```
 *
 * @param root The root's handle.
 * @param dir The folder (its `rel` below the root).
 * @param flags How to open it: {@linkcode FOLDER} or {@linkcode READABLE_FOLDER}.
 * @returns Its handle (the caller checks it is the folder seen).
 * @throws {ChangedError} When a link, a file or nothing stands in its path.
 */
export function openBeneath(
  root: number,
  dir: Pick<Folder, "rel" | "abs">,
  flags = FOLDER,
): number {
  try {
    if (!noOpenat2) {
      try {
        return c.openat(root, encodeName(dir.rel), flags, 0, dir.abs, BENEATH);
      } catch (error) {
        if ((error as c.ErrnoError).code !== "ENOSYS") throw error;
        noOpenat2 = true;
      }
    }
    let fd = root;
    try {
      const parts = dir.rel.split("/");
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        if (part === "" || part === "." || part === "..") throw c.errnoError(18, "openat", dir.abs);
        const how = (i === parts.length - 1 ? flags : FOLDER) | c.O.NOFOLLOW;
        const next = c.openat(fd, encodeName(part), how, 0, dir.abs);
        if (fd !== root) c.close(fd);
        fd = next;
      }
      return fd;
    } catch (error) {
      if (fd !== root) c.close(fd);
      throw error;
    }
  } catch (error) {
    const what = MOVED[(error as c.ErrnoError).code];
    if (what !== undefined) throw new ChangedError(dir.abs, what);
    throw error;
  }
}
