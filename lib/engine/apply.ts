/**
 * The apply phase: one function per action kind. Each re-checks its target
 * (and the directory a new entry goes into) with `lstat` right before it
 * acts, and never follows a link in the replica; a target that is no longer
 * what the scan saw is left alone with a warning and retried next cycle.
 *
 * @module
 */
import type { Action, Entry, EntryKind, SyncEvent } from "./types.ts";
import { type DirListing, listDir, toEntry } from "./list_dir.ts";
import {
  copiesInline,
  copyFileAtomic,
  copyFileAtomicSync,
  type CopyJob,
  type Made,
  sameContent,
  symlinkAtomic,
  UnreadableError,
} from "./copy_file_atomic.ts";
import { coded, fail, mountedReplica, refusedDir, shown, skip } from "./report.ts";
import { isTempName } from "./temp_shape.ts";
import { ChangedError, recheck } from "./recheck.ts";
import { type DirHandle, inDir, onDir } from "./in_dir.ts";
import { keepOwner, noteChown, ownersKept } from "./owner.ts";
import { octal, settleDelay, targetMode } from "./plan.ts";
import type { Pool } from "../speed/pool.ts";
import { sharedCopier } from "../speed/copier.ts";
import {
  type Backup,
  backupPath,
  type BackupTarget,
  checkBackupTarget,
  copyForBackup,
  crossDevice,
  shownBackup,
} from "./backup.ts";

/** A replica directory as the walk knows it. */
export interface DirRef extends DirHandle {
  /** Relative to the roots ("" for the root). */
  rel: string;
  /** Absolute path. */
  abs: string;
  /** What the scan (or our own mkdir) saw: kind, dev, ino, mode. */
  seen: Entry;
  /** The replica root (given by the user, it may be a link to a directory). */
  root: boolean;
  /** Set once its mode was widened so that its contents can change. */
  loosened?: boolean;
  /** Its parent (undefined for the directory a walk starts from). */
  parent?: DirRef;
}

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
  /** Takes `n` removals from the budget; false (and nothing taken) when fewer are left. */
  take(n = 1): boolean {
    if (this.#left < n) return false;
    this.#left -= n;
    return true;
  }
}

/** What apply needs from the cycle. */
export interface ApplyContext {
  /** The source root, absolute. */
  source: string;
  /** The replica root, absolute. */
  replica: string;
  /** Report only; change nothing. */
  dryRun: boolean;
  /** Excluded paths (kept when a directory around them is removed). */
  excluded: (relPath: string, isDir?: boolean) => boolean;
  /** `--delete-excluded`: excluded entries are removed with their directory. */
  deleteExcluded?: boolean;
  /** The removals left. */
  budget: DeleteBudget;
  /** `--backup_dir`: where removed and overwritten entries go (this cycle's folder). */
  backup?: Backup;
  /** `dev:ino` of both roots and their ancestors: a directory met below a root that is one of them is refused. */
  forbidden: ReadonlySet<string>;
  /** `--one-file-system`: the replica root's device; folders on another are left alone. */
  replicaDev?: number;
  /** Temporary paths of the copies under way (for the progress line and for abandoning them). */
  inflight: Set<string>;
  /** Bounds the copies running at once. */
  pool: Pool;
  /** Whether small copies may go to the worker threads once many were made. */
  copyWorkers: boolean;
  /** Small copies made on this thread so far. */
  inlineCopies: number;
  /** Stops the cycle. */
  signal?: AbortSignal;
  /** Warnings already given in earlier cycles (updated in place). */
  warned: Set<string>;
  /** Receives every event. */
  emit: (event: SyncEvent) => void;
  /** `--itemize-changes`: change events carry rsync's code (`itemize`). */
  itemize?: boolean;
  /** Lets signal handlers run during long synchronous stretches. */
  yieldNow: () => Promise<void>;
  /** Mtimes this many ms apart or closer are the same (see `PlanOptions.mtimeWindowMs`). */
  mtimeWindowMs?: number;
}

/**
 * Small copies a cycle makes inline before it hands them to the copy workers:
 * the workers pay off in big first copies, but cost memory (~30 MiB) and
 * gained nothing for a few thousand changes (100k-file incremental run).
 */
const COPIER_AFTER = 2500;

/**
 * Gives a replica directory owner write and search permission, for as long
 * as its contents change (a read-only folder mirrored as a non-root user);
 * its mode is set back by its `dirmeta` action. Idempotent.
 *
 * @example Usage
 * ```ts
 * import { loosenDir } from "./apply.ts";
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
    onDir(dir, (path) => Deno.chmodSync(path, dir.seen.mode | 0o700));
    dir.loosened = true;
    return true;
  } catch (error) {
    fail(ctx, dir.rel, "dir", "cannot make the directory writable to change its contents", error);
    return false;
  }
}

/**
 * Carries out one action in the replica directory `dir`. Copies that run on
 * the pool or a worker come back as `{ done }` (a bare promise would be
 * awaited by the caller).
 *
 * @example Usage
 * ```ts
 * import { applyAction } from "./apply.ts";
 * // const task = await applyAction(ctx, action, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param action The action (not a descend, dirmeta, anchor or link: the walk handles those).
 * @param dir The replica directory it happens in.
 * @param extra For a copy or compare: see {@linkcode CopyExtra}.
 * @returns A copy still under way, or undefined; `false` when the path failed
 *   (a removal or mkdir, so that what depends on it is not tried).
 */
export async function applyAction(
  ctx: ApplyContext,
  action: Exclude<Action, { op: "descend" | "dirmeta" | "anchor" | "link" }>,
  dir: DirRef,
  extra?: CopyExtra,
): Promise<{ done: Promise<void> } | false | undefined> {
  switch (action.op) {
    case "skip":
      skip(ctx, action.path, action.kind, action.why);
      return undefined;
    case "remove": {
      const type = action.reason === "type"; // Makes room: rsync prints no line for it.
      return (await applyRemove(ctx, action.path, action.dst, type, dir, false, !type))
        ? undefined
        : false;
    }
    case "mkdir":
      return applyMkdir(ctx, action.path, dir) === undefined ? false : undefined;
    case "symlink":
      await applySymlink(ctx, action, dir);
      return undefined;
    case "attrs":
      applyAttrs(ctx, action.path, action.src, action.dst, dir, action.changes);
      return undefined;
    case "copy": {
      const more = ctx.itemize ? { ...extra, changes: action.changes } : extra;
      return await applyCopy(ctx, action.path, action.src, action.dst, action.reason, dir, more);
    }
    case "compare":
      return await ctx.pool.run(() => applyCompare(ctx, action, dir, extra));
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
 * import { applyRemove } from "./apply.ts";
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
  if (mountedReplica(ctx, rel, entry)) return false;
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
    const self: DirRef = { rel, abs: path, seen: entry, root: false, parent: dir };
    let listing: DirListing;
    try {
      if (!ctx.dryRun && (entry.mode & 0o700) !== 0o700) {
        onDir(self, (p) => Deno.chmodSync(p, entry.mode | 0o700));
        self.loosened = true;
      }
      listing = inDir(self, () => listDir("."));
    } catch (error) {
      fail(ctx, rel, "dir", "cannot read replica directory to remove it", error);
      restoreMode(ctx, self);
      return false;
    }
    let all = listing.problems.length === 0;
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
    if (!ctx.dryRun) {
      inDir(dir, () => {
        recheck(name, entry);
        Deno.removeSync(name);
      });
    }
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
  const self: DirRef = { rel, abs: ctx.replica + "/" + rel, seen: entry, root: false, parent: dir };
  const listing = inDir(self, () => listDir("."));
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
    inDir(dir, () => {
      recheck(name, entry);
      checkBackupTarget(target);
      if (widen) Deno.chmodSync(name, entry.mode | 0o200);
      try {
        Deno.renameSync(name, target.path);
      } catch (error) {
        if (widen) {
          recheck(name, entry);
          Deno.chmodSync(name, entry.mode);
        }
        throw error;
      }
    });
  } catch (error) {
    if (!crossDevice(error)) {
      fail(ctx, rel, entry.kind, "cannot move it to the backup folder", error);
      return false;
    }
    try {
      checkBackupTarget(target!);
      copyForBackup(dir, name, entry, target!.path);
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

/** Sets a directory widened for a removal back to its mode (the removal did not finish). */
function restoreMode(ctx: ApplyContext, dir: DirRef): void {
  if (!dir.loosened) return;
  try {
    onDir(dir, (path) => Deno.chmodSync(path, dir.seen.mode));
    dir.loosened = false;
  } catch (error) {
    fail(ctx, dir.rel, "dir", "cannot restore the directory's mode", error);
  }
}

/**
 * Creates a replica directory (private, 0700, until its `dirmeta` sets its
 * mode after its contents) once its parent is re-checked and the name is
 * still free.
 *
 * @example Usage
 * ```ts
 * import { applyMkdir } from "./apply.ts";
 * // const made = applyMkdir(ctx, "new", parentDir);
 * ```
 *
 * @param ctx The cycle.
 * @param rel The directory to create.
 * @param dir Its parent.
 * @returns The new directory as `lstat` sees it (in a dry run, a stand-in), or
 *   undefined when it failed (reported).
 */
export function applyMkdir(ctx: ApplyContext, rel: string, dir: DirRef): Entry | undefined {
  try {
    let made: Entry;
    if (ctx.dryRun) made = { ...dir.seen, name: rel, mode: 0o700 };
    else {
      if (!loosenDir(ctx, dir)) return undefined;
      const name = rel.slice(rel.lastIndexOf("/") + 1);
      made = inDir(dir, () => {
        recheck(name, undefined);
        Deno.mkdirSync(name, { mode: 0o700 });
        return toEntry(rel, Deno.lstatSync(name));
      });
    }
    ctx.emit(coded(ctx, { action: "create", path: rel, kind: "dir" }, "c", "+"));
    return made;
  } catch (error) {
    fail(ctx, rel, "dir", "cannot create directory", error);
    return undefined;
  }
}

/**
 * Creates or replaces a replica symlink (see `symlinkAtomic`).
 *
 * @example Usage
 * ```ts
 * import { applySymlink } from "./apply.ts";
 * // await applySymlink(ctx, action, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param action The symlink action.
 * @param dir The replica directory it goes in.
 */
export async function applySymlink(
  ctx: ApplyContext,
  action: Extract<Action, { op: "symlink" }>,
  dir: DirRef,
): Promise<void> {
  const { path, src, dst, reason, changes } = action;
  try {
    const backup = overwritten(ctx, path, dst);
    if (!ctx.dryRun) {
      if (!loosenDir(ctx, dir)) return;
      await symlinkAtomic(
        src.target ?? "",
        ctx.replica + "/" + path,
        dst,
        dir.abs,
        dir.seen,
        dir.root,
        backup?.target,
      );
    }
    backup?.done();
    const event: SyncEvent = {
      action: reason === "new" ? "create" : "update",
      path,
      kind: "symlink",
      detail: `-> ${src.target}`,
    };
    ctx.emit(coded(ctx, event, "c", changes));
  } catch (error) {
    fail(ctx, path, "symlink", "cannot create symlink", error);
  }
}

/**
 * Sets the owner (where owners are kept) and mode of a replica file whose
 * content is current; each call right after an `lstat` saw that same file.
 *
 * @example Usage
 * ```ts
 * import { applyAttrs } from "./apply.ts";
 * // applyAttrs(ctx, "run.sh", srcEntry, dstEntry, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param rel The file.
 * @param src The source file.
 * @param dst The replica file as scanned.
 * @param dir The replica directory holding it.
 * @param changes What the planner found different (see itemize.ts), for `--itemize-changes`.
 */
export function applyAttrs(
  ctx: ApplyContext,
  rel: string,
  src: Entry,
  dst: Entry,
  dir: DirRef,
  changes = "",
): void {
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  let owner = { uid: dst.uid, gid: dst.gid };
  const parts: string[] = [];
  try {
    if (ownersKept() && (owner.uid !== src.uid || owner.gid !== src.gid)) {
      const kept = ctx.dryRun || inDir(dir, () => {
        recheck(name, dst);
        return keepOwner(name, src);
      });
      if (kept) {
        owner = src;
        parts.push(`owner ${src.uid}:${src.gid}`);
      }
    }
    const mode = targetMode(src, owner);
    if (mode !== dst.mode || parts.length > 0) {
      if (!ctx.dryRun) {
        inDir(dir, () => {
          recheck(name, dst);
          Deno.chmodSync(name, mode);
        });
      }
      if (mode !== dst.mode) parts.unshift(`mode ${octal(mode)}`);
    }
    if (parts.length > 0) {
      // An owner that could not be given is not reported, in the code either.
      const done = owner === src ? changes : changes.replace(/[og]/g, "");
      const event: SyncEvent = {
        action: "update",
        path: rel,
        kind: "file",
        detail: parts.join(", "),
      };
      ctx.emit(coded(ctx, event, ".", done));
    }
  } catch (error) {
    fail(ctx, rel, "file", "cannot set mode", error);
  }
}

/** What `--hard-links` adds to a copy (see hard_links.ts). */
export interface CopyExtra {
  /**
   * Told the file the copy renamed into place (or, for a compare that found
   * the content equal, the replica file kept); keeps the copy on this thread.
   */
  made?: (file: Made) => void;
  /** Added to the copy's event: why a group member was copied, not linked. */
  detail?: string;
  /** With `--itemize-changes`: what differs (see itemize.ts), for the copy's code. */
  changes?: string;
}

/**
 * `--backup_dir`: where the replica entry an update overwrites is kept (its
 * folders made), and the event to report once it is; undefined without
 * backups or when nothing is overwritten.
 *
 * @example Usage
 * ```ts
 * import { overwritten } from "./apply.ts";
 * // const backup = overwritten(ctx, "a.txt", dstEntry); ... backup?.done();
 * ```
 *
 * @param ctx The cycle.
 * @param rel The entry.
 * @param dst What the scan saw there.
 * @returns Where it goes (undefined in a dry run) and the event to emit.
 */
export function overwritten(
  ctx: ApplyContext,
  rel: string,
  dst: Entry | undefined,
): { target?: BackupTarget; done: () => void } | undefined {
  const backup = ctx.backup;
  if (!backup || dst === undefined) return undefined;
  const target = ctx.dryRun ? undefined : backupPath(backup, rel);
  const to = target === undefined ? `${backup.stamp}/${rel}` : shownBackup(backup, target.path);
  return {
    target,
    done: () => ctx.emit({ action: "backup", path: rel, kind: dst.kind, detail: `-> ${to}` }),
  };
}

/**
 * Copies a file: small settled ones inline with sync calls (or on the copy
 * workers once a cycle has made many), the rest on the pool.
 *
 * @example Usage
 * ```ts
 * import { applyCopy } from "./apply.ts";
 * // const task = await applyCopy(ctx, "a.txt", srcEntry, undefined, "new", dir);
 * ```
 *
 * @param ctx The cycle.
 * @param rel The file.
 * @param src The source file as scanned.
 * @param dst What the replica held there (undefined: nothing).
 * @param reason New, or an update.
 * @param dir The replica directory it goes in.
 * @param extra `--hard-links`: see {@linkcode CopyExtra}.
 * @returns A copy under way, or undefined when done (or failed, reported).
 */
export async function applyCopy(
  ctx: ApplyContext,
  rel: string,
  src: Entry,
  dst: Entry | undefined,
  reason: "new" | "update",
  dir: DirRef,
  extra: CopyExtra = {},
): Promise<{ done: Promise<void> } | undefined> {
  const action = reason === "new" ? "copy" : "update";
  const backup = overwritten(ctx, rel, dst);
  const detail = extra.detail;
  const event = (): SyncEvent =>
    coded(ctx, { action, path: rel, kind: "file", bytes: src.size, detail }, ">", extra.changes);
  if (ctx.dryRun) {
    backup?.done();
    ctx.emit(event());
    return undefined;
  }
  // The walk sets unsettled files aside; one reached another way (a hard-link member copied
  // apart, a --checksum compare that differs) waits here (see settleDelay).
  const wait = settleDelay(src.mtimeMs, Date.now(), ctx.mtimeWindowMs);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  if (!loosenDir(ctx, dir)) return undefined;
  const job: CopyJob = {
    backup: backup?.target,
    src: ctx.source + "/" + rel,
    dst: ctx.replica + "/" + rel,
    entry: src,
    seen: dst,
    dir: dir.abs,
    dirSeen: dir.seen,
    dirIsRoot: dir.root,
  };
  const copied = (file?: Made) => {
    if (file) extra.made?.(file);
    backup?.done();
    ctx.emit(event());
  };
  const failed = (error: unknown) => fail(ctx, rel, "file", "cannot copy", error);
  if (!copiesInline(src)) {
    return await ctx.pool.run(() => copyFileAtomic(job, ctx.inflight).then(copied, failed));
  }
  const workers = ctx.copyWorkers && !extra.made && ctx.inlineCopies >= COPIER_AFTER;
  const copier = workers ? sharedCopier() : undefined;
  if (copier) {
    const { done } = await copier.submit(job);
    return {
      done: done.then((learned) => {
        noteChown(learned);
        copied();
      }, failed),
    };
  }
  ctx.inlineCopies++;
  await ctx.yieldNow();
  try {
    copied(copyFileAtomicSync(job));
  } catch (error) {
    failed(error);
  }
  return undefined;
}

/**
 * `--checksum`: compares a file's content with its replica copy (both
 * re-checked first, so neither side is opened if a FIFO or link was swapped
 * in); copies when it differs, else sets mode and owner when the planner saw
 * them differ. A replica file that may not be read (mode 000, as a non-root
 * user) is copied afresh: the chmod that would let it be read comes after the
 * compare, so the compare would fail every cycle.
 *
 * @example Usage
 * ```ts
 * import { applyCompare } from "./apply.ts";
 * // await applyCompare(ctx, action, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param action The compare action.
 * @param dir The replica directory.
 * @param extra `--hard-links`: see {@linkcode CopyExtra}.
 */
export async function applyCompare(
  ctx: ApplyContext,
  action: Extract<Action, { op: "compare" }>,
  dir: DirRef,
  extra: CopyExtra = {},
): Promise<void> {
  const { path, src, dst } = action;
  const srcPath = ctx.source + "/" + path;
  const dstPath = ctx.replica + "/" + path;
  let same: boolean;
  let detail: string | undefined;
  try {
    const info = Deno.lstatSync(srcPath);
    if (!info.isFile || info.ino !== src.ino) throw new ChangedError(srcPath, "source replaced");
    recheck(dstPath, dst);
    same = await sameContent(srcPath, dstPath);
  } catch (error) {
    if (!(error instanceof UnreadableError)) {
      fail(ctx, path, "file", "cannot compare content", error);
      return;
    }
    same = false;
    detail = "the replica file could not be read to compare it";
  }
  if (!same) {
    const changes = "c" + action.changes; // Size and mtime agree: a compare is planned only then.
    const why = detail ? { ...extra, detail, changes } : { ...extra, changes };
    const task = await applyCopy(ctx, path, src, dst, "update", dir, why);
    await task?.done;
    return;
  }
  extra.made?.(dst);
  if (action.attrs) applyAttrs(ctx, path, src, dst, dir, action.changes);
}

/**
 * Sets a replica directory's owner (where owners are kept), mode and mtime
 * after its contents, each call right after an `lstat` saw that same
 * directory; reports mode and owner changes as an update. Runs for a
 * directory whose mode was widened even when the cycle was stopped, to set
 * it back. The replica root may belong to another user (a shared 0777
 * folder): its mode and mtime are then not ours to set, which is said once
 * per process, as a warning; any other directory that cannot be set fails.
 *
 * @example Usage
 * ```ts
 * import { applyDirMeta } from "./apply.ts";
 * // applyDirMeta(ctx, action, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param action The dirmeta action.
 * @param dir The directory (its `seen` is what the scan or our mkdir saw).
 */
export function applyDirMeta(
  ctx: ApplyContext,
  action: Extract<Action, { op: "dirmeta" }>,
  dir: DirRef,
): void {
  const { src } = action;
  const path = shown(action.path);
  const report = () => {
    if (action.report !== "") {
      const event: SyncEvent = { action: "update", path, kind: "dir", detail: action.report };
      ctx.emit(coded(ctx, event, ".", action.changes));
    } else if (ctx.itemize && action.changes !== "") {
      // An mtime alone follows from the contents: a line as rsync's, not counted as an update.
      ctx.emit(
        coded(ctx, { action: "update", path, kind: "dir", uncounted: true }, ".", action.changes),
      );
    }
  };
  if (ctx.dryRun) return report();
  try {
    let owner = { uid: dir.seen.uid, gid: dir.seen.gid };
    if (ownersKept() && (owner.uid !== src.uid || owner.gid !== src.gid)) {
      if (onDir(dir, (path) => keepOwner(path, src))) owner = src;
    }
    if (dir.loosened || dir.seen.mode !== src.mode || owner === src) {
      onDir(dir, (path) => Deno.chmodSync(path, src.mode));
      dir.loosened = false;
    }
    report();
    if (ctx.signal?.aborted) return;
    onDir(dir, (path) => Deno.utimeSync(path, src.atimeMs / 1000, src.mtimeMs / 1000));
  } catch (error) {
    if (dir.root && (error as { code?: string }).code === "EPERM") return rootNotOurs(ctx);
    fail(ctx, action.path, "dir", "cannot set the directory's mode and mtime", error);
  }
}

const ROOT_NOT_OURS = "mode and mtime left as they are: the replica folder belongs to another user";

/** Says once per process that the replica root's mode and mtime are not ours to set. */
function rootNotOurs(ctx: ApplyContext): void {
  if (ctx.warned.has(ROOT_NOT_OURS)) return;
  ctx.warned.add(ROOT_NOT_OURS);
  ctx.emit({
    action: "skip",
    path: ".",
    kind: "dir",
    detail: ROOT_NOT_OURS,
    hint: "chown it to the user running foldersync to mirror them",
  });
}
