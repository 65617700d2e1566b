/**
 * One sync cycle: the walk. It drives the three phases a directory at a
 * time: scan both sides (`listDir`, the source possibly on a worker), plan
 * (`planDir`, pure) and apply (`apply.ts`, one function per action, each
 * re-checking its target). It decides nothing itself. Needs --allow-read on
 * both trees and --allow-write on the replica.
 *
 * @module
 */
import type { Action, Entry, SyncStats } from "./types.ts";
import { emptyStats } from "./types.ts";
import { toEntry } from "./list_dir.ts";
import type { DirListing, FileSystem, Folder } from "./fs/types.ts";
import { openEngine } from "./fs/open.ts";
import { planDir, planDirMeta } from "./plan.ts";
import { applyAction, applyDirMeta, applyMkdir } from "./apply.ts";
import type { DirRef, WalkContext } from "./context.ts";
import { finish } from "./finish.ts";
import { lookAgain, probeReadOnly, reachStart, readRootXattrs, rootIdentities } from "./start.ts";
import { DeleteBudget } from "./remove.ts";
import { HeldRemovals, type Ran } from "./held.ts";
import { coded, fail, mountedReplica, refusedDir, skip } from "./report.ts";
import { protectAliases } from "./alias.ts";
import { leaveReplica } from "./in_dir.ts";
import { noReplicaParent, RootError } from "./errors.ts";
import { Owners } from "./owner.ts";
import { MtimeTicks } from "./mtime_tick.ts";
import { Pool } from "../speed/pool.ts";
import { HardLinks } from "./hard_links.ts";
import { SetAside } from "../speed/set_aside.ts";
import { resolve } from "node:path";
import type { SyncOptions } from "./sync_options.ts";

export type { SyncOptions };

/**
 * Makes the replica match the source: files (content, size, mode, mtime,
 * holes, and owner where the process may), directories (empty ones too, with
 * mode and mtime), symlinks as links. Walks both trees together one directory
 * at a time, so memory grows with directory width, not tree size. Per-path
 * errors are reported through `onEvent` and counted; the cycle carries on.
 * Nothing is removed under a source directory that could not be read.
 *
 * The caller checks the roots first (see `checkRoots`); this function assumes
 * the source is a readable directory and the two trees do not overlap, and
 * refuses any directory met below a root that is a root itself or one of
 * their ancestors (a bind mount). It throws only for errors at the roots.
 *
 * Needs `--allow-read` on both trees and `--allow-write` on the replica.
 *
 * @example Usage
 * ```ts
 * import { syncTree } from "./sync_tree.ts";
 * const stats = await syncTree({ source: "lib", replica: "/tmp/replica" });
 * stats.error; // 0
 * ```
 *
 * @param options What to sync and how.
 * @returns The cycle's counts.
 */
export async function syncTree(options: SyncOptions): Promise<SyncStats> {
  const fs = await openEngine(options.engine ?? "portable", {
    source: resolve(options.source),
    replica: resolve(options.replica),
  }, { xattrs: options.xattrs });
  try {
    return await syncWith(fs, options);
  } finally {
    fs.close();
  }
}

async function syncWith(fs: FileSystem, options: SyncOptions): Promise<SyncStats> {
  const stats = emptyStats();
  const onEvent = options.onEvent;
  const dryRun = options.dryRun ?? false;
  // Absolute roots: with --allow-read/--allow-write, Deno's permission check
  // calls getcwd() for every relative path it is given.
  const source = resolve(options.source);
  const replica = resolve(options.replica);
  const ticks = options.ticks ?? new MtimeTicks();
  const ctx: WalkContext = {
    source,
    replica,
    dryRun,
    fs,
    owners: options.owners ?? new Owners(),
    checksum: options.checksum ?? false,
    excluded: options.excluded ?? (() => false),
    deleteExcluded: options.deleteExcluded ?? false,
    deletes: options.deletes ?? true,
    budget: new DeleteBudget(options.maxDelete),
    held: options.maxDelete === undefined || dryRun ? undefined : new HeldRemovals(),
    backup: options.backup,
    forbidden: rootIdentities([source, replica]),
    shallow: options.shallow ?? false,
    signal: options.signal,
    onPlan: options.onPlan,
    warned: options.warned ?? new Set(),
    pool: new Pool(options.concurrency ?? 8),

    links: options.hardLinks ? new HardLinks() : undefined,
    copyWorkers: options.copyWorkers ?? false,
    speed: options.speed,
    inlineCopies: 0,
    pending: new Set(),
    inflight: new Set(),
    copying: new Set(),
    settle: new SetAside(),
    stats,
    lastYield: performance.now(),
    itemize: options.itemize ?? false,
    emit: (event) => {
      if (event.action === "backup" && event.count !== undefined) {
        // Removed into the backup folder: a removal of each entry moved.
        stats.backup += event.count;
        stats.backupRemoved += event.count;
        stats.remove += event.count;
      } else if (!event.uncounted) stats[event.action]++;
      if (event.bytes) stats.bytes += event.bytes;
      if (dryRun) event.dryRun = true;
      onEvent?.(event);
    },
    yieldNow: () => yieldNow(ctx),
  };
  options.onInflight?.(ctx.inflight);

  let srcRoot: Entry;
  try {
    srcRoot = toEntry("", Deno.statSync(source));
  } catch (error) {
    throw new RootError("source", source, error);
  }
  ctx.sourceFs = srcRoot.dev;
  let dstRoot: Entry | undefined;
  let created = false;
  try {
    dstRoot = toEntry("", Deno.statSync(replica));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw new RootError("replica", replica, error);
    if (!dryRun) {
      try {
        Deno.mkdirSync(replica); // The last component only: a missing parent is refused before.
        dstRoot = toEntry("", Deno.statSync(replica));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) throw noReplicaParent(replica);
        throw new RootError("replica", replica, error, "cannot create");
      }
      created = true;
    }
    ctx.emit(coded(ctx, { action: "create", path: ".", kind: "dir" }, "c", "+"));
    if (created) options.onRootCreated?.();
  }
  if (options.oneFileSystem) {
    ctx.sourceDev = Deno.statSync(source).dev;
    if (dstRoot) ctx.replicaDev = Deno.statSync(replica).dev;
  }
  const sourceRoot: Folder = { side: "source", rel: "", abs: source, seen: srcRoot, root: true };
  const root: DirRef = {
    side: "replica",
    rel: "",
    abs: replica,
    seen: dstRoot ?? { ...srcRoot, mode: 0o700 },
    root: true,
    source: sourceRoot,
  };
  readRootXattrs(fs, sourceRoot, created || !dstRoot ? undefined : root);
  try {
    const wanted = (options.start ?? "").replace(/^\/+|\/+$/g, "");
    const start = created || !dstRoot ? { src: srcRoot, dir: root } : reachStart(ctx, root, wanted);
    // A start folder not reached: its nearest good ancestor is synced instead, shallow.
    if (start.dir.rel !== wanted) ctx.shallow = true;
    const found = start.dir.seen; // As found: what its metadata is compared with.
    let probed = false;
    if (!dryRun && dstRoot) {
      // Owners of entries already there are mirrored only once chown is known to work.
      ctx.owners.probe(fs, start.dir);
      if (!ticks.probe(fs, start.dir) && (start.dir.seen.mode & 0o200) === 0) {
        probeReadOnly(ctx, ticks, start.dir); // A read-only replica folder (a 0555 source root mirrored).
      }
      try {
        start.dir.seen = lookAgain(ctx, start.dir);
      } catch (error) {
        if (start.dir.root) throw new RootError("replica", replica, error);
        fail(ctx, start.dir.rel, "dir", "cannot read replica directory", error);
        return stats;
      }
      // The probes changed its mtime: set back after its contents.
      probed = start.dir.seen.mtimeMs !== found.mtimeMs;
    }
    ctx.mtimeWindowMs = Math.max(
      ticks.of(start.dir.seen.dev) - 1,
      options.modifyWindowMs ?? 0,
    );
    const scanned = created || !dstRoot ? undefined : found;
    const { prefetch, speed } = options;
    if (prefetch && speed && fs.name === "portable") {
      ctx.lister = speed.lister(
        source,
        [[start.dir.rel, undefined]],
        prefetch.exclude,
        ctx.sourceDev,
      );
    } else if (prefetch && speed && !options.xattrs) {
      // The native engine: once the walk has met many entries, for what is left (sync_options.ts).
      ctx.prefetchLater = {
        level: start.dir.rel,
        after: prefetch.after ?? PREFETCH_AFTER,
        start: (starts) => {
          ctx.lister = speed.lister(source, starts, prefetch.exclude, ctx.sourceDev, true);
        },
      };
    }
    try {
      await walkDir(ctx, start.src, start.dir, scanned, created || !dstRoot, probed);
      await ctx.held?.release(ctx, (d, a) => runActions(ctx, d, a), options.onOverBudget);
      if (!ctx.signal?.aborted) options.onWalked?.();
    } finally {
      ctx.lister?.close();
      // Copies still set aside are released (and give up) at once when the cycle stopped;
      // otherwise each runs once due, and `finish` waits for them.
      if (ctx.signal?.aborted) ctx.settle.flush();
    }
    await finish(ctx);
  } finally {
    leaveReplica(source); // The walk works from inside replica folders (see in_dir.ts).
  }
  stats.aborted = ctx.signal?.aborted ?? false;
  return stats;
}

/**
 * Lets timers and signal handlers run, which the walk's synchronous calls would otherwise hold
 * off. A turn of the event loop (a zero timeout) leaves the thread idle for a moment, so the
 * walk takes one every {@linkcode YIELD_EVERY_MS} at most.
 */
async function yieldNow(ctx: WalkContext): Promise<void> {
  const now = performance.now();
  if (now - ctx.lastYield > YIELD_EVERY_MS) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    ctx.lastYield = performance.now();
  }
}

const EMPTY: DirListing = { entries: [], problems: [] };

/** The longest the walk runs without a turn of the event loop, in ms (see `yieldNow`). */
const YIELD_EVERY_MS = 100;

/** Entries the native engine's walk meets before it lists the rest of the source on a worker. */
const PREFETCH_AFTER = 50_000;

/** `--one-file-system`: what the log says of a mount point in the source (as `rsync -x` does). */
const SOURCE_MOUNT = "another filesystem is mounted here (--one-file-system): the folder is " +
  "mirrored, not its contents";

/**
 * Lists a replica folder through the engine. One the process may not enter or
 * list (mode 000, say: a non-root user's own) is given owner permissions
 * first, like a read-only one, and its mode is set back after its contents.
 */
function readReplica(ctx: WalkContext, dir: DirRef): DirListing | undefined {
  const self = { dir, name: ".", seen: dir.seen };
  try {
    return ctx.fs.list(dir);
  } catch (error) {
    let cause = error;
    if (
      error instanceof Deno.errors.PermissionDenied && !ctx.dryRun && !dir.loosened &&
      (dir.seen.mode & 0o700) !== 0o700
    ) {
      try {
        ctx.fs.setAttrs(self, { mode: dir.seen.mode | 0o700 });
        dir.loosened = true;
        return ctx.fs.list(dir);
      } catch (again) {
        cause = again;
        if (dir.loosened) {
          try {
            ctx.fs.setAttrs(self, { mode: dir.seen.mode }); // As it was.
            dir.loosened = false;
          } catch {
            // Its next cycle sets its mode.
          }
        }
      }
    }
    fail(ctx, dir.rel, "dir", "cannot read replica directory", cause);
    return undefined;
  }
}

/**
 * Syncs one directory and, depth first, the directories below it.
 *
 * @param srcDir The source directory.
 * @param dir The replica directory (in a dry run, a stand-in when it does not exist).
 * @param scanned The replica directory as its parent's scan saw it (undefined: new).
 * @param empty True when the replica directory is known to be empty (just made, or absent in a dry run).
 * @param touched True when its mtime was changed since `scanned` (the chown probe in the root).
 * @param enter False for a mount point (`--one-file-system`): neither side is listed, only the
 *   folder's own mode and mtime are set.
 */
async function walkDir(
  ctx: WalkContext,
  srcDir: Entry,
  dir: DirRef,
  scanned: Entry | undefined,
  empty: boolean,
  touched = false,
  enter = true,
): Promise<void> {
  if (ctx.signal?.aborted) return;
  await yieldNow(ctx);
  const rel = dir.rel;
  let src: DirListing;
  try {
    src = !enter
      ? EMPTY
      : (await ctx.lister?.list(rel, dir.source!.seen)) ?? ctx.fs.list(dir.source!);
  } catch (error) {
    fail(ctx, rel, "dir", "cannot read source directory", error);
    return; // Nothing under an unreadable source directory is touched.
  }
  const dst = empty || !enter ? EMPTY : readReplica(ctx, dir);
  if (dst === undefined) return;
  ctx.stats.scanned += src.entries.length;
  const prefix = rel === "" ? "" : rel + "/";

  // Names one side could not describe are left alone on both sides.
  const protect = new Set<string>();
  for (const problem of src.problems) {
    protect.add(problem.name);
    const path = prefix + problem.name;
    if (problem.error === undefined) skip(ctx, path, "other", problem.message);
    else fail(ctx, path, "other", `cannot read source entry (${problem.message})`, problem.error);
  }
  for (const problem of dst.problems) {
    protect.add(problem.name);
    const path = prefix + problem.name;
    if (problem.error === undefined) skip(ctx, path, "other", `replica entry: ${problem.message}`);
    else fail(ctx, path, "other", `cannot read replica entry (${problem.message})`, problem.error);
  }
  protectAliases(ctx, prefix, src, dst, protect);

  const actions = planDir(rel, src.entries, dst.entries, {
    checksum: ctx.checksum,
    excluded: ctx.excluded,
    deleteExcluded: ctx.deleteExcluded,
    deletes: ctx.deletes,
    owners: ctx.owners.kept(),
    protect,
    links: ctx.links?.anchors,
    mtimeWindowMs: ctx.mtimeWindowMs,
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

  const { tasks, changed: acted } = await runActions(ctx, dir, actions);
  let changed = acted || touched;
  ctx.held?.after(dir, tasks, () => void (changed = true)); // Its mtime set after its removals.

  // Mode and mtime of the directory go last: creating entries in it changes its mtime.
  const fix = () => {
    if (ctx.signal?.aborted && !dir.loosened) return;
    const changes = changed || dir.loosened === true;
    const meta = planDirMeta(rel, srcDir, scanned, changes, ctx.owners.kept(), ctx.mtimeWindowMs);
    if (meta?.op === "dirmeta") applyDirMeta(ctx, meta, dir);
  };
  if (tasks.length === 0) fix();
  else {
    const done: Promise<void> = Promise.all(tasks).then(fix).finally(() =>
      ctx.pending.delete(done)
    );
    ctx.pending.add(done);
  }
}

/** Runs a plan (or after the walk, what was held) in order: copies under way, whether it acted. */
async function runActions(ctx: WalkContext, dir: DirRef, actions: Action[]): Promise<Ran> {
  const tasks: Promise<void>[] = [];
  let changed = false;
  const failed = new Set<string>();
  const made = new Map<string, Entry>();
  for (let index = 0; index < actions.length; index++) {
    const action = actions[index];
    if (ctx.signal?.aborted) break;
    if (failed.has(action.path)) continue;
    if (ctx.held?.take(action, dir)) continue; // --max-delete: made after the walk (held.ts).
    if (action.op === "descend") {
      const later = ctx.prefetchLater;
      if (later && later.level === dir.rel && ctx.stats.scanned >= later.after) {
        ctx.prefetchLater = undefined;
        const rest = actions.slice(index + 1).filter((a) => a.op === "descend");
        if (rest.length > 0) later.start(rest.map((a) => [a.path, a.src]));
      }
      if (refusedDir(ctx, action.path, action.src, "source")) continue;
      const child = action.dst ?? made.get(action.path);
      if (action.dst === undefined || !ctx.shallow) {
        const source: Folder = {
          side: "source",
          rel: action.path,
          abs: ctx.source + "/" + action.path,
          seen: action.src,
          root: false,
          parent: dir.source,
        };
        const childRef: DirRef = {
          side: "replica",
          rel: action.path,
          abs: ctx.replica + "/" + action.path,
          seen: child ?? { ...action.src, mode: 0o700 },
          root: false,
          parent: dir,
          source,
        };
        if (action.dst && refusedDir(ctx, action.path, action.dst, "replica")) continue;
        if (action.dst && mountedReplica(ctx, action.path, action.dst)) continue;
        const mount = ctx.sourceDev !== undefined && action.src.dev !== ctx.sourceDev;
        if (mount) skip(ctx, action.path, "dir", SOURCE_MOUNT);
        const empty = action.dst === undefined;
        await walkDir(ctx, action.src, childRef, action.dst, empty, false, !mount);
      }
      continue;
    }
    if (action.op === "dirmeta") continue; // Never planned here (see planDirMeta below).
    // --hard-links: the file a group's members are linked to, and the members.
    const anchor = ctx.links?.begin(action, dir);
    if (action.op === "anchor") continue;
    if (action.op === "link") {
      changed = true;
      tasks.push(ctx.links!.link(ctx, action, dir));
      continue;
    }
    if (action.op !== "skip") changed = true;
    if (action.op === "mkdir") {
      const dirEntry = applyMkdir(ctx, action.path, dir);
      if (dirEntry === undefined) failed.add(action.path);
      else made.set(action.path, dirEntry);
      continue;
    }
    if (action.op === "copy" && action.future) ctx.stats.future++;
    if (action.op === "copy" && action.settleAt !== undefined && !ctx.dryRun) {
      const task = ctx.settle.until(action.settleAt).then(async () => {
        if (ctx.signal?.aborted) return;
        ctx.copying.add(action.path);
        try {
          const result = await applyAction(ctx, action, dir, anchor?.extra);
          if (result) await result.done;
        } finally {
          ctx.copying.delete(action.path);
        }
      });
      tasks.push(task);
      anchor?.ends(task);
      continue;
    }
    if (action.op === "copy") {
      // Pool copies are tracked by path, to be reported if the run stops before they end.
      const result = await applyAction(ctx, action, dir, anchor?.extra);
      anchor?.ends(result ? result.done : undefined);
      if (result) {
        ctx.copying.add(action.path);
        tasks.push(result.done.finally(() => ctx.copying.delete(action.path)));
      }
      continue;
    }
    const result = await applyAction(ctx, action, dir, anchor?.extra);
    anchor?.ends(result ? result.done : undefined);
    if (result === false) failed.add(action.path);
    else if (result) tasks.push(result.done);
  }
  return { tasks, changed };
}
