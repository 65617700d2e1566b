/**
 * Removal from the replica: recursive removal, the move to the backup folder, and the
 * delete budget (`--max-delete`), taken here alone; needs --allow-read and --allow-write
 * on the replica and the backup folder.
 *
 * @module
 */
import type { Entry, EntryKind, SyncEvent } from "./types.ts";
import type { ApplyContext, DirRef } from "./context.ts";
import type { DirListing } from "./fs/types.ts";
import { isTempName } from "./temp_shape.ts";
import { recheck } from "./recheck.ts";
import { coded, fail, mountedReplica, refusedDir, shown, skip } from "./report.ts";
import { aliasedSource, isSourceAlias } from "./alias.ts";
import { loosenDir, restoreMode } from "./loosen.ts";
import {
  type Backup,
  backupPath,
  type BackupTarget,
  checkBackupTarget,
  copyForBackup,
  crossDevice,
  shownBackup,
} from "./backup.ts";

/**
 * The most removals a cycle may make (`--max-delete`), counted as they
 * happen: the one past the limit is never made.
 */
export class DeleteBudget {
  #left: number;
  /** True once a removal was refused. */
  tripped = false;
  /** @param limit The most removals; undefined for no limit. */
  constructor(readonly limit?: number) {
    this.#left = limit ?? Infinity;
  }
  /** Whether `n` removals fit in what is left (`--max-delete`: all of a cycle's, or none). */
  fits(n: number): boolean {
    return n <= this.#left;
  }
  /** Takes `n` removals from the budget; false (and nothing taken) when fewer are left. */
  take(n = 1): boolean {
    if (this.#left < n) return false;
    this.#left -= n;
    return true;
  }
}

/**
 * Removes a replica entry, a directory deepest first, counting every removal
 * against the cycle's budget. Each directory is re-checked right before it
 * is listed and after (so its listing never comes through a link swapped in)
 * and given owner read, write and search permission first when it lacks them
 * (a read-only tree); every entry is re-checked right before its removal.
 * Excluded entries are kept, and so is the directory around them.
 *
 * @example Usage
 * ```ts
 * import { applyRemove } from "./remove.ts";
 * // await applyRemove(ctx, "old", entry, false, parentDir);
 * ```
 *
 * @param ctx The cycle.
 * @param rel The entry, relative to the roots.
 * @param entry What the scan saw there.
 * @param mustGo True when something must take its place (a type change).
 * @param dir The replica directory holding it.
 * @param copied True when it was copied to the backup folder already (nothing to report).
 * @param itemized False for an entry that makes room for another kind: no
 *   `*deleting` for it with `--itemize-changes` (rsync prints none); its contents have one.
 * @returns True when it is gone.
 */
export async function applyRemove(
  ctx: ApplyContext,
  rel: string,
  entry: Entry,
  mustGo: boolean,
  dir: DirRef,
  copied = false,
  itemized = true,
): Promise<boolean> {
  if (ctx.budget.tripped) return false;
  if (mountedReplica(ctx, rel, entry) || aliasedSource(ctx, rel, entry)) return false;
  if (!ctx.dryRun && !loosenDir(ctx, dir)) return false;
  const path = ctx.replica + "/" + rel;
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  if (ctx.backup && !copied && !isTempName(name)) {
    const moved = await backupRemoval(ctx, ctx.backup, rel, entry, mustGo, dir, itemized);
    if (moved !== undefined) return moved;
  }
  if (entry.kind === "dir") {
    if (refusedDir(ctx, rel, entry, "replica")) return false;
    await ctx.yieldNow();
    const self: DirRef = { side: "replica", rel, abs: path, seen: entry, root: false, parent: dir };
    let listing: DirListing;
    try {
      if (!ctx.dryRun && (entry.mode & 0o700) !== 0o700) {
        ctx.fs.setAttrs({ dir: self, name: ".", seen: entry }, { mode: entry.mode | 0o700 });
        self.loosened = true;
      }
      listing = ctx.fs.list(self);
    } catch (error) {
      fail(ctx, rel, "dir", "cannot read replica directory to remove it", error);
      restoreMode(ctx, self);
      return false;
    }
    let all = listing.problems.length === 0;
    let aliases = false;
    for (const problem of listing.problems) {
      fail(
        ctx,
        rel + "/" + problem.name,
        "other",
        "cannot remove",
        problem.error ?? problem.message,
      );
    }
    for (const child of listing.entries) {
      const childRel = rel + "/" + child.name;
      if (kept(ctx, childRel, child)) {
        all = false;
        continue;
      }
      if (isSourceAlias(ctx, child)) aliases = true;
      if (!(await applyRemove(ctx, childRel, child, mustGo, self, copied))) all = false;
    }
    if (!all) {
      restoreMode(ctx, self);
      if (ctx.budget.tripped) return false;
      if (mustGo) {
        fail(
          ctx,
          rel,
          "dir",
          "cannot replace directory",
          "it still holds excluded or unremovable entries",
        );
      } else if (ctx.replicaDev === undefined && aliases) {
        skip(ctx, rel, "dir", "kept: it holds a bind mount of the source's filesystem");
      } else if (ctx.replicaDev === undefined) {
        skip(ctx, rel, "dir", "kept: it holds excluded entries");
      } else {skip(
          ctx,
          rel,
          "dir",
          "kept: it holds excluded entries or a mount point (--one-file-system)",
        );}
      return false;
    }
  }
  if (!copied && !ctx.dryRun && !ctx.budget.take()) return overBudget(ctx, rel, entry.kind);
  try {
    if (!ctx.dryRun) ctx.fs.remove({ dir, name, seen: entry });
    if (!copied) {
      ctx.emit(
        coded(ctx, { action: "remove", path: rel, kind: entry.kind }, itemized ? "*" : undefined),
      );
    }
    return true;
  } catch (error) {
    fail(ctx, rel, entry.kind, "cannot remove", error);
    return false;
  }
}

/** Whether a replica entry inside a directory being removed stays: excluded, and not ours. */
function kept(ctx: ApplyContext, rel: string, entry: Entry): boolean {
  if (ctx.deleteExcluded || isTempName(entry.name)) return false;
  return ctx.excluded(rel, entry.kind === "dir");
}

/** The removal past `--max-delete`: never made, reported once; no more removals this cycle. */
function overBudget(ctx: ApplyContext, rel: string, kind: EntryKind): false {
  ctx.budget.tripped = true;
  ctx.emit({
    action: "error",
    path: shown(rel),
    kind,
    detail: `not removed: --max-delete ${ctx.budget.limit} reached during the cycle, ` +
      "no more removals made",
    hint: "the source changed while the cycle ran? check it; the next cycle counts again",
  });
  return false;
}

/**
 * Counts the entries of a replica tree about to be moved, and tells whether
 * it can go whole: nothing excluded in it, nothing unreadable. Lists each
 * directory from inside it.
 */
function survey(ctx: ApplyContext, rel: string, entry: Entry, dir: DirRef): number | undefined {
  if (entry.kind !== "dir") return 1;
  if ((entry.mode & 0o500) !== 0o500) return undefined; // Removed entry by entry, after a chmod.
  if (ctx.replicaDev !== undefined && entry.dev !== ctx.replicaDev) return undefined; // A mount.
  if (isSourceAlias(ctx, entry)) return undefined; // Left where it is (applyRemove refuses it).
  const abs = ctx.replica + "/" + rel;
  const self: DirRef = { side: "replica", rel, abs, seen: entry, root: false, parent: dir };
  const listing = ctx.fs.list(self);
  if (listing.problems.length > 0) return undefined;
  let count = 1;
  for (const child of listing.entries) {
    const childRel = rel + "/" + child.name;
    if (kept(ctx, childRel, child)) return undefined;
    const n = survey(ctx, childRel, child, self);
    if (n === undefined) return undefined;
    count += n;
  }
  return count;
}

/**
 * `--backup_dir`: moves a replica entry about to be removed (a whole tree in
 * one rename) into this cycle's backup folder; on another filesystem, copies
 * it there first and then removes it. The entries moved count against
 * `--max-delete`. Returns undefined when the tree cannot go whole (it holds
 * excluded or unreadable entries): its entries are then moved one by one.
 * One that makes room for another kind (not `itemized`) is reported as a
 * backup of what was overwritten is: no rsync code.
 */
async function backupRemoval(
  ctx: ApplyContext,
  backup: Backup,
  rel: string,
  entry: Entry,
  mustGo: boolean,
  dir: DirRef,
  itemized: boolean,
): Promise<boolean | undefined> {
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  let count: number | undefined;
  try {
    count = survey(ctx, rel, entry, dir);
  } catch (error) {
    fail(ctx, rel, entry.kind, "cannot read it to back it up", error);
    return false;
  }
  if (count === undefined) return undefined;
  if (!ctx.dryRun && !ctx.budget.take(count)) return overBudget(ctx, rel, entry.kind);
  const event = (to: string): SyncEvent => {
    const moved: SyncEvent = {
      action: "backup",
      path: rel,
      kind: entry.kind,
      detail: `-> ${to}`,
      count,
    };
    return itemized ? coded(ctx, moved, "*") : moved;
  };
  if (ctx.dryRun) {
    ctx.emit(event(`${backup.stamp}/${rel}`));
    return true;
  }
  // A folder moved to another parent needs write permission on itself (for its ".."
  // entry): a read-only one gets owner write for the move and its mode back after.
  const widen = entry.kind === "dir" && (entry.mode & 0o200) === 0;
  let target: BackupTarget;
  try {
    target = backupPath(backup, rel);
    const at = { dir, name, seen: entry };
    if (widen) ctx.fs.setAttrs(at, { mode: entry.mode | 0o200 });
    try {
      ctx.fs.moveOut(at, target);
    } catch (error) {
      if (widen) ctx.fs.setAttrs(at, { mode: entry.mode });
      throw error;
    }
  } catch (error) {
    if (!crossDevice(error)) {
      fail(ctx, rel, entry.kind, "cannot move it to the backup folder", error);
      return false;
    }
    try {
      checkBackupTarget(target!);
      copyForBackup(ctx.fs, dir, name, entry, target!.path);
    } catch (error) {
      fail(ctx, rel, entry.kind, "cannot copy it to the backup folder (kept)", error);
      return false;
    }
    ctx.emit(event(shownBackup(backup, target!.path)));
    return await applyRemove(ctx, rel, entry, mustGo, dir, true);
  }
  ctx.emit(event(shownBackup(backup, target.path)));
  if (widen) {
    try {
      // Moved whole: the same inode now stands in the backup folder.
      recheck(target.path, entry);
      Deno.chmodSync(target.path, entry.mode);
    } catch (error) {
      fail(ctx, rel, "dir", "moved to the backup folder, but cannot set its mode back", error);
    }
  }
  return true;
}
