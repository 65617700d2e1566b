/**
 * Acting on a replica directory by its inode, not its path: the process
 * changes into it, checks that the directory it is now in is the one the
 * scan saw (device and inode of "."), and works with names relative to it.
 * A symlink swapped in for the directory, or for any folder above it, after
 * that check cannot redirect those calls: relative names resolve from the
 * directory itself, wherever it now is.
 *
 * Every other path the program uses is absolute (the command line's paths
 * are made absolute at start). At the end of a cycle the process leaves the
 * replica ({@linkcode leaveReplica}), so that between cycles its working
 * directory is no replica folder (which might since have been replaced).
 *
 * @module
 */
import { recheck, type Seen } from "./recheck.ts";

/** A directory known by its path and by what the scan saw of it, and, below the root, its parent. */
export interface DirHandle {
  /** Absolute path. */
  abs: string;
  /** What the scan saw (kind, dev, ino). */
  seen: NonNullable<Seen>;
  /** Its parent, for all but the replica root (which the user may give as a link). */
  parent?: DirHandle;
}

/**
 * Runs `fn` inside `dir`: changes into it and checks that "." is the
 * directory expected before `fn` runs with relative names. Needs
 * `--allow-read` on the directory.
 *
 * @example Usage
 * ```ts
 * import { inDir } from "./in_dir.ts";
 * import { toEntry } from "./list_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * inDir({ abs: dir, seen: toEntry("", Deno.statSync(dir)) }, () => Deno.writeTextFileSync("a", "x"));
 * ```
 *
 * @param dir The directory.
 * @param fn What to do there (synchronous, so nothing else moves the process meanwhile).
 * @returns What `fn` returns.
 * @throws {ChangedError} When the directory is no longer the one expected.
 */
export function inDir<T>(dir: DirHandle, fn: () => T): T {
  Deno.chdir(dir.abs);
  recheck(".", dir.seen, true);
  return fn();
}

/**
 * Runs `fn(name)` on `dir` itself from inside its parent (so it works on a
 * directory without search permission), `name` being its name there and
 * just re-checked to be the directory expected; the root, which has no
 * parent here, is re-checked by path.
 *
 * @example Usage
 * ```ts
 * import { onDir } from "./in_dir.ts";
 * import { toEntry } from "./list_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * onDir({ abs: dir, seen: toEntry("", Deno.statSync(dir)) }, (path) => Deno.chmodSync(path, 0o755));
 * ```
 *
 * @param dir The directory.
 * @param fn What to do to it, given the path to use.
 * @returns What `fn` returns.
 */
export function onDir<T>(dir: DirHandle, fn: (path: string) => T): T {
  if (!dir.parent) {
    recheck(dir.abs, dir.seen, true);
    return fn(dir.abs);
  }
  const name = dir.abs.slice(dir.abs.lastIndexOf("/") + 1);
  return inDir(dir.parent, () => {
    recheck(name, dir.seen);
    return fn(name);
  });
}

/** Where the process started (read at load, before any `inDir`). */
const START: string | undefined = (() => {
  try {
    return Deno.cwd();
  } catch {
    return undefined; // Removed already: the fallback will do.
  }
})();

/**
 * Changes back to the directory the process started in, or, when the grants
 * do not cover it, to `fallback` (the source root), so that no replica
 * folder stays the working directory between cycles (it would keep the
 * replica's volume busy). Only granted paths are tried, so it never prompts.
 *
 * @example Usage
 * ```ts
 * import { leaveReplica } from "./in_dir.ts";
 * leaveReplica("lib");
 * ```
 *
 * @param fallback A directory that may be read (the source root).
 */
export function leaveReplica(fallback: string): void {
  for (const dir of [START, fallback]) {
    if (dir === undefined) continue;
    if (Deno.permissions.querySync({ name: "read", path: dir }).state !== "granted") continue;
    try {
      Deno.chdir(dir);
      return;
    } catch {
      // Gone, or not a directory any more: try the next.
    }
  }
}
