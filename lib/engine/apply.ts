/**
 * The apply phase: one function per action kind. Each re-checks its target
 * (and the directory a new entry goes into) with `lstat` right before it
 * acts, and never follows a link in the replica; a target that is no longer
 * what the scan saw is left alone with a warning and retried next cycle.
 * Needs --allow-read on both trees and --allow-write on the replica.
 *
 * @module
 */
import type { Action, Entry, SyncEvent } from "./types.ts";
import type { ApplyContext, DirRef } from "./context.ts";
import { UnreadableError } from "./errors.ts";
import { coded, fail, shown, skip } from "./report.ts";
import { octal, targetMode } from "./mode.ts";
import { loosenDir } from "./loosen.ts";
import { applyRemove } from "./remove.ts";
import { applyCopy, type CopyExtra, overwritten } from "./copy.ts";
import { xattrChanges, xattrWords } from "./xattrs.ts";

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
      applySymlink(ctx, action, dir);
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
      made = { ...ctx.fs.mkdir({ dir, name, seen: undefined }), name: rel };
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
 * // applySymlink(ctx, action, dir);
 * ```
 *
 * @param ctx The cycle.
 * @param action The symlink action.
 * @param dir The replica directory it goes in.
 */
export function applySymlink(
  ctx: ApplyContext,
  action: Extract<Action, { op: "symlink" }>,
  dir: DirRef,
): void {
  const { path, src, dst, reason, changes } = action;
  try {
    const backup = overwritten(ctx, path, dst);
    if (!ctx.dryRun) {
      if (!loosenDir(ctx, dir)) return;
      const name = path.slice(path.lastIndexOf("/") + 1);
      ctx.fs.symlink({ dir, name, seen: dst }, src.target ?? "", backup?.target, src);
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
    if (ctx.owners.kept() && (owner.uid !== src.uid || owner.gid !== src.gid)) {
      const at = { dir, name, seen: dst };
      const kept = ctx.dryRun || ctx.owners.try(() => ctx.fs.setAttrs(at, { owner: src }));
      if (kept) {
        owner = src;
        parts.push(`owner ${src.uid}:${src.gid}`);
      }
    }
    const mode = targetMode(src, owner);
    const chowned = parts.length > 0;
    if (mode !== dst.mode || chowned) {
      if (!ctx.dryRun) ctx.fs.setAttrs({ dir, name, seen: dst }, { mode });
      if (mode !== dst.mode) parts.unshift(`mode ${octal(mode)}`);
    }
    // --xattrs; again after a chown, which clears security.capability.
    const xattrs = xattrChanges(src, dst);
    if (src.xattrs && (xattrs !== "" || chowned)) {
      try {
        if (!ctx.dryRun) ctx.fs.setAttrs({ dir, name, seen: dst }, { xattrs: src.xattrs });
      } catch (error) {
        return fail(ctx, rel, "file", "cannot set extended attributes", error);
      }
      if (xattrs !== "") parts.push(xattrWords(xattrs));
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
  const name = path.slice(path.lastIndexOf("/") + 1);
  let same: boolean;
  let detail: string | undefined;
  try {
    same = await ctx.fs.sameContent(
      { dir: sourceOf(dir), name, seen: src },
      { dir, name, seen: dst },
    );
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
    const self = { dir, name: ".", seen: dir.seen };
    let owner = { uid: dir.seen.uid, gid: dir.seen.gid };
    if (ctx.owners.kept() && (owner.uid !== src.uid || owner.gid !== src.gid)) {
      if (ctx.owners.try(() => ctx.fs.setAttrs(self, { owner: src }))) owner = src;
    }
    // --xattrs: on a folder made by this cycle too (it may have inherited a default ACL).
    const dst = action.dst;
    if (src.xattrs && (dst === undefined || xattrChanges(src, dst) !== "" || owner === src)) {
      ctx.fs.setAttrs(self, { xattrs: src.xattrs });
    }
    if (dir.loosened || dir.seen.mode !== src.mode || owner === src) {
      ctx.fs.setAttrs(self, { mode: src.mode });
      dir.loosened = false;
    }
    report();
    if (ctx.signal?.aborted) return;
    ctx.fs.setAttrs(self, { times: src });
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

/**
 * The source folder a replica folder of the walk mirrors.
 *
 * @example Usage
 * ```ts
 * import { sourceOf } from "./apply.ts";
 * // const from = { dir: sourceOf(dir), name, entry: src };
 * ```
 *
 * @param dir A replica folder the walk syncs.
 * @returns Its source twin.
 */
export function sourceOf(dir: DirRef): DirRef {
  if (dir.source === undefined) throw new Error(`'${dir.abs}' has no source folder`);
  return dir.source;
}
