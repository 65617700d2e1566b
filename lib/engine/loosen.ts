/**
 * Folder-mode loosening: owner write and search on a replica folder while its contents
 * change, and its mode set back; needs --allow-read and --allow-write on the replica.
 *
 * @module
 */
import type { ApplyContext, DirRef } from "./context.ts";
import { fail } from "./report.ts";

/**
 * Gives a replica directory owner write and search permission, for as long
 * as its contents change (a read-only folder mirrored as a non-root user);
 * its mode is set back by its `dirmeta` action. Idempotent.
 *
 * @example Usage
 * ```ts
 * import { loosenDir } from "./loosen.ts";
 * // loosenDir(ctx, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param dir The directory.
 * @returns False when it could not be done (reported).
 */
export function loosenDir(ctx: ApplyContext, dir: DirRef): boolean {
  if (ctx.dryRun || dir.loosened || (dir.seen.mode & 0o300) === 0o300) return true;
  try {
    ctx.fs.setAttrs({ dir, name: ".", seen: dir.seen }, { mode: dir.seen.mode | 0o700 });
    dir.loosened = true;
    return true;
  } catch (error) {
    fail(ctx, dir.rel, "dir", "cannot make the directory writable to change its contents", error);
    return false;
  }
}

/** Sets a directory widened for a removal back to its mode (the removal did not finish). */
export function restoreMode(ctx: ApplyContext, dir: DirRef): void {
  if (!dir.loosened) return;
  try {
    ctx.fs.setAttrs({ dir, name: ".", seen: dir.seen }, { mode: dir.seen.mode });
    dir.loosened = false;
  } catch (error) {
    fail(ctx, dir.rel, "dir", "cannot restore the directory's mode", error);
  }
}
