/**
 * Where a walk starts: the roots' identities, the start folder reached from the roots, and
 * the replica folder probed and looked at again; needs --allow-read on both trees and
 * --allow-write on the replica (the probes).
 *
 * @module
 */
import type { Entry } from "./types.ts";
import type { DirRef, WalkContext } from "./context.ts";
import type { FileSystem, Folder } from "./fs/types.ts";
import { refusedDir } from "./report.ts";
import { isSourceAlias } from "./alias.ts";
import type { MtimeTicks } from "./mtime_tick.ts";
import { dirname } from "node:path";

/** `dev:ino` of each path and of its ancestors (those that can be looked at). */
export function rootIdentities(paths: string[]): Set<string> {
  const ids = new Set<string>();
  for (let path of paths) {
    while (true) {
      try {
        const info = Deno.statSync(path);
        ids.add(`${info.dev}:${info.ino}`);
      } catch {
        // Missing, or not ours to look at (narrowed grants).
      }
      const parent = dirname(path);
      if (parent === path) break;
      path = parent;
    }
  }
  return ids;
}

/** A folder a walk starts from: the source side as `lstat` saw it, and the replica side. */
export interface Start {
  src: Entry;
  dir: DirRef;
}

/**
 * Goes down from the roots to `rel` the way the walk does, one component at a
 * time: each must be a folder (not a link) on both sides, not excluded, and
 * not a root or an ancestor of one. Each side is `lstat`ed in its parent
 * folder as the engine holds it (see the seam's `check`), so a link anywhere
 * above cannot lead it out of the replica. Stops at the first
 * component that is not such a folder and returns the deepest one that is
 * (the roots at least).
 */
export function reachStart(ctx: WalkContext, root: DirRef, rel: string): Start {
  let at: Start = { src: root.source!.seen, dir: root };
  if (rel === "") return at;
  for (const name of rel.split("/")) {
    const parent = at.dir;
    const path = parent.rel === "" ? name : parent.rel + "/" + name;
    if (name === "" || name === "." || name === ".." || ctx.excluded(path)) break;
    let src: Entry;
    let dst: Entry;
    try {
      src = ctx.fs.lstat(parent.source!, name) ?? missing();
      dst = ctx.fs.lstat(parent, name) ?? missing();
    } catch {
      break; // Gone, or changed: the folder above is synced instead.
    }
    if (src.kind !== "dir" || dst.kind !== "dir") break;
    if (ctx.excluded(path, true)) break; // A folder-only rule (`build/`, `*/`): never entered.
    // --one-file-system: a folder on another filesystem is not entered; the folder above is synced.
    if (ctx.sourceDev !== undefined && (src.dev !== ctx.sourceDev || dst.dev !== ctx.replicaDev)) {
      break;
    }
    // The folder above reports a refused source folder when it plans it.
    if (ctx.forbidden.has(`${src.dev}:${src.ino}`) || refusedDir(ctx, path, dst, "replica")) break;
    // A replica folder that may be the source itself: the folder above reports it when it plans it.
    if (isSourceAlias(ctx, dst, new Set([`${src.dev}:${src.ino}`]))) break;
    const source: DirRef = {
      side: "source",
      rel: path,
      abs: ctx.source + "/" + path,
      seen: src,
      root: false,
      parent: parent.source,
    };
    const abs = ctx.replica + "/" + path;
    at = { src, dir: { side: "replica", rel: path, abs, seen: dst, root: false, parent, source } };
  }
  return at;
}

function missing(): never {
  throw new Error("not there");
}

/**
 * Learns the mtime granularity in a read-only replica folder of ours: owner write for the
 * moment of the probe, the mode as it was after (its contents' sync sets it anyway).
 */
export function probeReadOnly(ctx: WalkContext, ticks: MtimeTicks, dir: DirRef): void {
  const self = { dir, name: ".", seen: dir.seen };
  try {
    ctx.fs.setAttrs(self, { mode: dir.seen.mode | 0o700 });
  } catch {
    return; // Not ours to change: nothing is learned, as before.
  }
  try {
    ticks.probe(ctx.fs, dir);
  } finally {
    try {
      ctx.fs.setAttrs(self, { mode: dir.seen.mode });
    } catch {
      // Its dirmeta at the end of the cycle sets its mode.
    }
  }
}

/** A replica folder's entry as it is now, once checked to be still the one seen. */
export function lookAgain(ctx: WalkContext, dir: DirRef): Entry {
  return ctx.fs.check({ dir, name: ".", seen: dir.seen })!;
}

/**
 * `--xattrs`: the roots' own attributes, read into what was seen of them
 * (left unread when they cannot be: the roots' attributes are then left alone).
 */
export function readRootXattrs(fs: FileSystem, source: Folder, replica?: Folder): void {
  for (const root of replica ? [source, replica] : [source]) {
    try {
      const xattrs = fs.xattrs({ dir: root, name: ".", seen: root.seen });
      if (xattrs) root.seen.xattrs = xattrs;
    } catch {
      // Not readable: the root's attributes are left alone, as any entry's would be.
    }
  }
}
