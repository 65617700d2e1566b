/**
 * The copy strategy for one file: the settle wait, then inline with sync calls, on the
 * pool, or on the copy workers; needs --allow-read on the source and --allow-write on
 * the replica and the backup folder.
 *
 * @module
 */
import type { Entry, SyncEvent } from "./types.ts";
import type { ApplyContext, DirRef } from "./context.ts";
import type { Made } from "./copy_file_atomic.ts";
import type { CopyIn } from "./fs/types.ts";
import { copiesInline } from "./copy_job.ts";
import { AbandonedError } from "../speed/copier.ts";
import { sourceOf } from "./apply.ts";
import { settleDelay } from "./settle.ts";
import { backupPath, type BackupTarget, shownBackup } from "./backup.ts";
import { coded, fail } from "./report.ts";
import { loosenDir } from "./loosen.ts";

/**
 * Small copies a cycle makes inline before it hands them to the copy workers:
 * the workers pay off in big first copies, but cost memory (~30 MiB) and
 * gained nothing for a few thousand changes (100k-file incremental run).
 */
const COPIER_AFTER = 2500;
/** The same for the native engine, whose workers take a copy for little more than its bytes. */
const NATIVE_COPIER_AFTER = 1000;

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
 * import { overwritten } from "./copy.ts";
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
 * import { applyCopy } from "./copy.ts";
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
  const name = rel.slice(rel.lastIndexOf("/") + 1);
  const job: CopyIn = {
    from: { dir: sourceOf(dir), name, entry: src },
    to: { dir, name, seen: dst },
    owners: ctx.owners,
    backup: backup?.target,
    inflight: ctx.inflight,
  };
  const copied = (file?: Made) => {
    if (file) extra.made?.(file);
    backup?.done();
    ctx.emit(event());
  };
  const failed = (error: unknown) => fail(ctx, rel, "file", "cannot copy", error);
  if (!copiesInline(src)) {
    return await ctx.pool.run(() => ctx.fs.copy(job).then(copied, failed));
  }
  const native = ctx.fs.name === "native";
  const after = native ? NATIVE_COPIER_AFTER : COPIER_AFTER;
  const workers = ctx.copyWorkers && !extra.made && ctx.inlineCopies >= after;
  const copier = workers ? ctx.speed?.copier(native) : undefined;
  let handoff;
  try {
    handoff = copier && ctx.fs.handOff(job);
  } catch (error) {
    failed(error);
    return undefined;
  }
  if (copier && handoff) {
    const submitted = await copier.submit(handoff.job).catch(() => undefined);
    if (submitted) {
      const release = handoff.release;
      return {
        done: submitted.done.then((learned) => {
          release();
          ctx.owners.note(learned);
          copied();
        }, (error) => {
          // A worker may still be making an abandoned copy: its folder handles stay held.
          if (!(error instanceof AbandonedError)) release();
          failed(error);
        }),
      };
    }
    handoff.release(); // Never queued: made here instead.
  }
  ctx.inlineCopies++;
  await ctx.yieldNow();
  // Small copies are made with sync calls by the engine: the promise is settled already.
  await ctx.fs.copy(job).then(copied, failed);
  return undefined;
}
