/**
 * One sync cycle: walks the source and the replica together, a directory at a
 * time, plans each directory and applies the plan.
 *
 * @module
 */
import type { Action, Entry, EntryKind } from "./types.ts";
import { type DirListing, listDir, toEntry } from "./list_dir.ts";
import { planDir } from "./plan.ts";
import {
  copiesInline,
  copyFileAtomic,
  copyFileAtomicSync,
  sameContent,
  symlinkAtomic,
} from "./copy_file_atomic.ts";
import { explain } from "./errors.ts";
import { isTempName } from "./temp_name.ts";
import { Pool } from "./pool.ts";
import { localLister, prefetchSource, type SourceLister } from "./prefetch.ts";
import { sharedCopier } from "./copier.ts";
import { resolve } from "node:path";

/** What happened to one path; `skip` and `error` carry a reason and a hint. */
export type SyncAction = "create" | "copy" | "update" | "remove" | "skip" | "error";

/** One event of a cycle, for the log. */
export interface SyncEvent {
  /** What happened. */
  action: SyncAction;
  /** The path relative to the roots ("." for the root). */
  path: string;
  /** What kind of entry it concerns. */
  kind: EntryKind;
  /** Bytes copied, for copies and updates of files. */
  bytes?: number;
  /** Extra words: why it was skipped or failed, or what changed. */
  detail?: string;
  /** What the user can do, for errors. */
  hint?: string;
  /** True when this skip was already reported in an earlier cycle of this process. */
  repeat?: boolean;
  /** True in a dry run: nothing was changed. */
  dryRun?: boolean;
}

/** Counts of one cycle. */
export interface SyncStats {
  /** Directories and symlinks created. */
  create: number;
  /** New files copied. */
  copy: number;
  /** Files and links updated (content, mode or target). */
  update: number;
  /** Replica entries removed. */
  remove: number;
  /** Entries left alone (special files, bad names, excluded leftovers). */
  skip: number;
  /** Paths that failed. */
  error: number;
  /** Bytes copied. */
  bytes: number;
  /** Entries looked at on the source side. */
  scanned: number;
  /** True when the cycle was stopped by its signal before it finished. */
  aborted: boolean;
}

/** Options of {@linkcode syncTree}. */
export interface SyncOptions {
  /** The source directory. */
  source: string;
  /** The replica directory (created when missing, except in a dry run). */
  replica: string;
  /** Plan and report only; change nothing. */
  dryRun?: boolean;
  /** Compare content when size and mtime agree. */
  checksum?: boolean;
  /** Paths (relative, `/`-separated) that are neither copied nor removed. */
  excluded?: (relPath: string) => boolean;
  /** Whether replica entries may be removed at all (false: `--max-delete` tripped). */
  deletes?: boolean;
  /** How many copies run at once (default 8). */
  concurrency?: number;
  /** Stops the walk; copies under way finish or are discarded, then the cycle returns. */
  signal?: AbortSignal;
  /** Receives every event. */
  onEvent?: (event: SyncEvent) => void;
  /** Told the files and bytes each directory's plan will copy (for a progress line). */
  onPlan?: (files: number, bytes: number) => void;
  /** Paths already warned about by earlier cycles (so idle cycles stay quiet). Updated in place. */
  warned?: Set<string>;
  /**
   * Sync only this directory (relative, `/`-separated) instead of the whole
   * tree. When it is not a directory on both sides, its nearest ancestor
   * that is gets synced instead. Used by `--watch`.
   */
  start?: string;
  /**
   * Do not walk into directories that already exist on both sides: only the
   * start directory's own entries (and new directories, whole) are synced.
   */
  shallow?: boolean;
  /**
   * List the source on a worker thread, ahead of the sync (see prefetch.ts);
   * `exclude` must be the patterns behind `excluded`. Worth it for full cycles.
   */
  prefetch?: { exclude: string[] };
  /**
   * Copy small files on the process's worker threads (see copier.ts) once a
   * cycle has copied {@linkcode COPIER_AFTER} of them inline. Worth it for
   * full cycles.
   */
  copyWorkers?: boolean;
}

interface Ctx {
  source: string;
  replica: string;
  dryRun: boolean;
  checksum: boolean;
  excluded: (relPath: string) => boolean;
  deletes: boolean;
  shallow: boolean;
  signal?: AbortSignal;
  emit: (event: SyncEvent) => void;
  onPlan?: (files: number, bytes: number) => void;
  warned: Set<string>;
  pool: Pool;
  lister: SourceLister;
  copyWorkers: boolean;
  inlineCopies: number;
  pending: Set<Promise<void>>;
  inflight: Set<string>;
  stats: SyncStats;
  lastYield: number;
}

/**
 * A fresh set of counts, all zero.
 *
 * @example Usage
 * ```ts
 * import { emptyStats } from "./sync_tree.ts";
 * emptyStats().copy; // 0
 * ```
 *
 * @returns The counts.
 */
export function emptyStats(): SyncStats {
  return {
    create: 0,
    copy: 0,
    update: 0,
    remove: 0,
    skip: 0,
    error: 0,
    bytes: 0,
    scanned: 0,
    aborted: false,
  };
}

/**
 * Makes the replica match the source: files (content, size, mode, mtime),
 * directories (empty ones too, with mode and mtime), symlinks as links. Walks
 * both trees together one directory at a time, so memory grows with directory
 * width, not tree size. Per-path errors are reported through `onEvent` and
 * counted; the cycle carries on. Nothing is removed under a source directory
 * that could not be read.
 *
 * The caller checks the roots first (see `checkRoots`); this function assumes
 * the source is a readable directory and the two trees do not overlap.
 *
 * @example Usage
 * ```ts
 * import { syncTree } from "./sync_tree.ts";
 * const stats = await syncTree({ source: "src", replica: "/tmp/replica" });
 * stats.error; // 0
 * ```
 *
 * @param options What to sync and how.
 * @returns The cycle's counts.
 */
export async function syncTree(options: SyncOptions): Promise<SyncStats> {
  const stats = emptyStats();
  const onEvent = options.onEvent;
  const ctx: Ctx = {
    // Absolute roots: with --allow-read/--allow-write, Deno's permission check
    // calls getcwd() for every relative path it is given (~2 µs per call).
    source: resolve(options.source),
    replica: resolve(options.replica),
    dryRun: options.dryRun ?? false,
    checksum: options.checksum ?? false,
    excluded: options.excluded ?? (() => false),
    deletes: options.deletes ?? true,
    shallow: options.shallow ?? false,
    signal: options.signal,
    onPlan: options.onPlan,
    warned: options.warned ?? new Set(),
    pool: new Pool(options.concurrency ?? 8),
    lister: localLister(resolve(options.source)),
    copyWorkers: options.copyWorkers ?? false,
    inlineCopies: 0,
    pending: new Set(),
    inflight: new Set(),
    stats,
    lastYield: performance.now(),
    emit: (event) => {
      stats[event.action]++;
      if (event.bytes) stats.bytes += event.bytes;
      if (ctx.dryRun) event.dryRun = true;
      onEvent?.(event);
    },
  };

  const start = startDir(ctx, options.start ?? "");
  let srcRoot: Entry;
  let dstRoot: Entry | undefined;
  if (start === "") {
    srcRoot = toEntry("", Deno.statSync(ctx.source));
    try {
      dstRoot = toEntry("", Deno.statSync(ctx.replica));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      if (!ctx.dryRun) {
        Deno.mkdirSync(ctx.replica, { recursive: true });
        ctx.emit({ action: "create", path: ".", kind: "dir" });
      }
    }
  } else {
    srcRoot = toEntry("", Deno.lstatSync(abs(ctx.source, start)));
    dstRoot = toEntry("", Deno.lstatSync(abs(ctx.replica, start)));
  }
  if (options.prefetch) ctx.lister = prefetchSource(ctx.source, start, options.prefetch.exclude);
  try {
    await walkDir(ctx, start, srcRoot, dstRoot);
  } finally {
    ctx.lister.close();
  }
  await finish(ctx);
  stats.aborted = ctx.signal?.aborted ?? false;
  return stats;
}

/**
 * How long a stopped cycle waits for copies under way before it gives them up.
 * `Deno.copyFile` cannot be cancelled, and a multi-gigabyte copy would outlast
 * a container's stop grace period (10 s by default).
 */
const ABANDON_MS = 2000;

/**
 * Small copies a cycle makes inline before it hands them to the copy workers:
 * the workers pay off in big first copies, but cost memory (~30 MiB) and
 * gained nothing for a few thousand changes (100k-file incremental run).
 */
const COPIER_AFTER = 2500;

/**
 * Waits for the copies and directory fix-ups still running. Once the cycle's
 * signal has aborted, waits at most {@linkcode ABANDON_MS}, then removes the
 * temporary files of the copies still under way (their data goes to an
 * unlinked file that vanishes when the process exits) and returns.
 */
async function finish(ctx: Ctx): Promise<void> {
  const idle = (async () => {
    await ctx.pool.idle();
    while (ctx.pending.size > 0) await Promise.all([...ctx.pending]);
    return false;
  })();
  const signal = ctx.signal;
  if (!signal) {
    await idle;
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<boolean>((resolve) => {
    onAbort = () => (timer = setTimeout(() => resolve(true), ABANDON_MS));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const gaveUp = await Promise.race([idle, abandoned]);
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort!);
  if (!gaveUp) return;
  for (const tmp of ctx.inflight) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Renamed into place or removed in the meantime.
    }
  }
}

/** The nearest of `rel` and its ancestors that is a real directory on both sides. */
function startDir(ctx: Ctx, rel: string): string {
  let dir = rel.replace(/^\/+|\/+$/g, "");
  while (dir !== "") {
    try {
      if (
        Deno.lstatSync(abs(ctx.source, dir)).isDirectory &&
        Deno.lstatSync(abs(ctx.replica, dir)).isDirectory
      ) return dir;
    } catch {
      // Missing on one side: its parent decides.
    }
    const slash = dir.lastIndexOf("/");
    dir = slash < 0 ? "" : dir.slice(0, slash);
  }
  return "";
}

function abs(root: string, rel: string): string {
  return rel === "" ? root : root + "/" + rel;
}

function shown(rel: string): string {
  return rel === "" ? "." : rel;
}

async function yieldNow(ctx: Ctx): Promise<void> {
  // Sync lstat loops would otherwise keep signal handlers from running.
  const now = performance.now();
  if (now - ctx.lastYield > 25) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    ctx.lastYield = performance.now();
  }
}

function fail(ctx: Ctx, rel: string, kind: EntryKind, what: string, error: unknown): void {
  const { reason, hint } = explain(error);
  ctx.emit({ action: "error", path: shown(rel), kind, detail: `${what}: ${reason}`, hint });
}

function skip(ctx: Ctx, rel: string, kind: EntryKind, why: string): void {
  const key = `${rel}\0${why}`;
  const repeat = ctx.warned.has(key);
  if (!repeat) ctx.warned.add(key);
  ctx.emit({ action: "skip", path: shown(rel), kind, detail: why, repeat });
}

function readListing(
  ctx: Ctx,
  root: string,
  rel: string,
  side: "source" | "replica",
): DirListing | undefined {
  try {
    return listDir(abs(root, rel));
  } catch (error) {
    if (side === "replica" && ctx.dryRun && error instanceof Deno.errors.NotFound) {
      return { entries: [], problems: [] };
    }
    fail(ctx, rel, "dir", `cannot read ${side} directory`, error);
    return undefined;
  }
}

async function walkDir(
  ctx: Ctx,
  rel: string,
  srcDir: Entry,
  dstDir: Entry | undefined,
  created = false,
): Promise<void> {
  if (ctx.signal?.aborted) return;
  await yieldNow(ctx);
  let src: DirListing;
  try {
    src = await ctx.lister.list(rel);
  } catch (error) {
    fail(ctx, rel, "dir", "cannot read source directory", error);
    return; // Nothing under an unreadable source directory is touched.
  }
  // A directory this walk has just made (or, in a dry run, would make) is empty: not listed.
  const dst = created || (dstDir === undefined && ctx.dryRun)
    ? { entries: [], problems: [] }
    : readListing(ctx, ctx.replica, rel, "replica");
  if (dst === undefined) return;
  ctx.stats.scanned += src.entries.length;
  const prefix = rel === "" ? "" : rel + "/";

  // Entries the source could not describe are protected on the replica side.
  const unreadable = new Set<string>();
  for (const problem of src.problems) {
    unreadable.add(problem.name);
    const path = prefix + problem.name;
    if (problem.error === undefined) skip(ctx, path, "other", problem.message);
    else fail(ctx, path, "other", `cannot read source entry (${problem.message})`, problem.error);
  }
  for (const problem of dst.problems) {
    const path = prefix + problem.name;
    if (problem.error === undefined) skip(ctx, path, "other", `replica entry: ${problem.message}`);
    else fail(ctx, path, "other", `cannot read replica entry (${problem.message})`, problem.error);
  }
  const dstEntries = unreadable.size
    ? dst.entries.filter((e) => !unreadable.has(e.name))
    : dst.entries;

  const actions = planDir(rel, src.entries, dstEntries, {
    checksum: ctx.checksum,
    excluded: ctx.excluded,
    deletes: ctx.deletes,
  });
  if (ctx.onPlan) {
    let files = 0;
    let bytes = 0;
    for (const a of actions) {
      if (a.op !== "copy") continue;
      files++;
      bytes += a.src.size;
    }
    if (files > 0) ctx.onPlan(files, bytes);
  }

  const dirState = { changed: false };
  const tasks: Promise<void>[] = [];
  const failed = new Set<string>();
  for (const action of actions) {
    if (ctx.signal?.aborted) break;
    if (failed.has(action.path)) continue;
    if (action.op === "descend") {
      if (!ctx.shallow || action.dst === undefined) {
        // No replica entry: the "mkdir" before this "descend" made it (else it is in `failed`).
        await walkDir(ctx, action.path, action.src, action.dst, action.dst === undefined);
      }
      continue;
    }
    // Copies come back as `{ done }`: a bare promise would be awaited here.
    const task = await applyAction(ctx, action, dirState, failed);
    if (task) tasks.push(task.done);
  }

  // Mode and mtime of the directory go last: creating entries in it changes its mtime.
  const fix = () => fixDir(ctx, rel, srcDir, dstDir, dirState.changed);
  if (tasks.length === 0) fix();
  else {
    const done: Promise<void> = Promise.all(tasks).then(fix).finally(() =>
      ctx.pending.delete(done)
    );
    ctx.pending.add(done);
  }
}

function fixDir(
  ctx: Ctx,
  rel: string,
  src: Entry,
  dst: Entry | undefined,
  changed: boolean,
): void {
  if (ctx.dryRun || ctx.signal?.aborted) return;
  if (!changed && dst && dst.mode === src.mode && dst.mtimeMs === src.mtimeMs) return;
  const path = abs(ctx.replica, rel);
  try {
    if (!dst || dst.mode !== src.mode) Deno.chmodSync(path, src.mode);
    Deno.utimeSync(path, src.atimeMs / 1000, src.mtimeMs / 1000);
  } catch (error) {
    fail(ctx, rel, "dir", "cannot set the directory's mode and mtime", error);
  }
}

async function applyAction(
  ctx: Ctx,
  action: Exclude<Action, { op: "descend" }>,
  dirState: { changed: boolean },
  failed: Set<string>,
): Promise<{ done: Promise<void> } | undefined> {
  const path = action.path;
  const dstPath = abs(ctx.replica, path);
  switch (action.op) {
    case "skip":
      skip(ctx, path, "other", action.why);
      return undefined;
    case "remove": {
      dirState.changed = true;
      const ok = await removeEntry(ctx, path, action.dst, action.reason === "type");
      if (!ok) failed.add(path);
      return undefined;
    }
    case "mkdir":
      dirState.changed = true;
      try {
        if (!ctx.dryRun) Deno.mkdirSync(dstPath, { mode: 0o700 });
        ctx.emit({ action: "create", path, kind: "dir" });
      } catch (error) {
        failed.add(path);
        fail(ctx, path, "dir", "cannot create directory", error);
      }
      return undefined;
    case "symlink":
      dirState.changed = true;
      try {
        if (!ctx.dryRun) await symlinkAtomic(action.src.target ?? "", dstPath);
        ctx.emit({
          action: action.reason === "new" ? "create" : "update",
          path,
          kind: "symlink",
          detail: `-> ${action.src.target}`,
        });
      } catch (error) {
        fail(ctx, path, "symlink", "cannot create symlink", error);
      }
      return undefined;
    case "chmod":
      try {
        if (!ctx.dryRun) Deno.chmodSync(dstPath, action.src.mode);
        ctx.emit({
          action: "update",
          path,
          kind: "file",
          detail: `mode ${action.src.mode.toString(8).padStart(4, "0")}`,
        });
      } catch (error) {
        fail(ctx, path, "file", "cannot set mode", error);
      }
      return undefined;
    case "copy":
      dirState.changed = true;
      if (ctx.dryRun) {
        ctx.emit({
          action: action.reason === "new" ? "copy" : "update",
          path,
          kind: "file",
          bytes: action.src.size,
        });
        return undefined;
      }
      if (copiesInline(action.src)) {
        const copier = ctx.copyWorkers && ctx.inlineCopies >= COPIER_AFTER
          ? sharedCopier()
          : undefined;
        if (copier) {
          const { src, reason } = action;
          const kind = reason === "new" ? "copy" : "update";
          const { done } = await copier.submit(abs(ctx.source, path), dstPath, src);
          return {
            done: done.then(
              () => ctx.emit({ action: kind, path, kind: "file", bytes: src.size }),
              (error) => fail(ctx, path, "file", "cannot copy", error),
            ),
          };
        }
        ctx.inlineCopies++;
        await yieldNow(ctx);
        copyOneSync(ctx, path, action.src, action.reason);
        return undefined;
      }
      return await ctx.pool.run(() => copyOne(ctx, path, action.src, action.reason));
    case "compare":
      return await ctx.pool.run(async () => {
        const srcPath = abs(ctx.source, path);
        let same: boolean;
        try {
          same = await sameContent(srcPath, dstPath);
        } catch (error) {
          fail(ctx, path, "file", "cannot compare content", error);
          return;
        }
        if (same) return;
        dirState.changed = true;
        if (ctx.dryRun) {
          ctx.emit({ action: "update", path, kind: "file", bytes: action.src.size });
        } else await copyOne(ctx, path, action.src, "update");
      });
  }
}

function copyOneSync(ctx: Ctx, path: string, src: Entry, reason: "new" | "update"): void {
  try {
    copyFileAtomicSync(abs(ctx.source, path), abs(ctx.replica, path), src);
    ctx.emit({ action: reason === "new" ? "copy" : "update", path, kind: "file", bytes: src.size });
  } catch (error) {
    fail(ctx, path, "file", "cannot copy", error);
  }
}

async function copyOne(
  ctx: Ctx,
  path: string,
  src: Entry,
  reason: "new" | "update",
): Promise<void> {
  try {
    await copyFileAtomic(abs(ctx.source, path), abs(ctx.replica, path), src, ctx.inflight);
    ctx.emit({ action: reason === "new" ? "copy" : "update", path, kind: "file", bytes: src.size });
  } catch (error) {
    fail(ctx, path, "file", "cannot copy", error);
  }
}

/** Removes a replica entry, a directory deepest first; returns whether it is gone. */
async function removeEntry(
  ctx: Ctx,
  rel: string,
  entry: Entry,
  mustGo: boolean,
): Promise<boolean> {
  const path = abs(ctx.replica, rel);
  if (entry.kind === "dir") {
    await yieldNow(ctx);
    let listing: DirListing;
    try {
      listing = listDir(path);
    } catch (error) {
      fail(ctx, rel, "dir", "cannot read replica directory to remove it", error);
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
      if (ctx.excluded(childRel) && !isTempName(child.name)) {
        all = false;
        continue;
      }
      if (!(await removeEntry(ctx, childRel, child, mustGo))) all = false;
    }
    if (!all) {
      if (mustGo) {
        fail(
          ctx,
          rel,
          "dir",
          "cannot replace directory",
          "it still holds excluded or unremovable entries",
        );
      } else skip(ctx, rel, "dir", "kept: it holds excluded entries");
      return false;
    }
  }
  try {
    if (!ctx.dryRun) Deno.removeSync(path);
    ctx.emit({ action: "remove", path: rel, kind: entry.kind });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    fail(ctx, rel, entry.kind, "cannot remove", error);
    return false;
  }
}
