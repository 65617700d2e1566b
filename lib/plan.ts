/**
 * The plan phase: pure, entries in, actions out.
 *
 * @module
 */
import type { Action, Entry } from "./types.ts";
import { isTempName } from "./temp_name.ts";

/** What the planner needs to know besides the two listings. */
export interface PlanOptions {
  /** Compare content when size and mtime agree (`--checksum`). */
  checksum: boolean;
  /** Tells whether a path relative to the roots is excluded. */
  excluded: (relPath: string) => boolean;
  /** Whether replica entries may be removed in this directory. */
  deletes: boolean;
}

const SPECIAL = "not a regular file, directory or symlink (FIFO, socket or device)";
const NO_DELETES = "its replacement needs a delete, and deletes are off for this cycle";

/**
 * Plans one directory: compares the source's entries with the replica's
 * (rclone's march: source only, replica only, both) and returns what to do.
 * Removals come first, then creations and copies in name order, then the
 * directories to walk into, so that directories exist before their contents.
 * Excluded paths are neither copied nor removed; stale temporary files of ours
 * are removed even when excluded.
 *
 * @example Usage
 * ```ts
 * import { planDir } from "./plan.ts";
 * const file = { name: "a", kind: "file" as const, size: 1, mtimeMs: 1, atimeMs: 1, mode: 0o644, ino: 1 };
 * planDir("", [file], [], { checksum: false, excluded: () => false, deletes: true });
 * // [{ op: "copy", path: "a", src: file, reason: "new" }]
 * ```
 *
 * @param dirRel The directory relative to the roots ("" for the root).
 * @param src The source directory's entries, sorted by name.
 * @param dst The replica directory's entries, sorted by name.
 * @param options Checksum, exclusions, and whether deletes are allowed.
 * @returns The actions, in the order they must run.
 */
export function planDir(
  dirRel: string,
  src: readonly Entry[],
  dst: readonly Entry[],
  options: PlanOptions,
): Action[] {
  const removes: Action[] = [];
  const makes: Action[] = [];
  const descends: Action[] = [];
  const prefix = dirRel === "" ? "" : dirRel + "/";
  let i = 0;
  let j = 0;
  while (i < src.length || j < dst.length) {
    const s = i < src.length ? src[i] : undefined;
    const d = j < dst.length ? dst[j] : undefined;
    let order: number;
    if (s === undefined) order = 1;
    else if (d === undefined) order = -1;
    else order = s.name < d.name ? -1 : s.name > d.name ? 1 : 0;
    if (order < 0) i++;
    else if (order > 0) j++;
    else {
      i++;
      j++;
    }
    const name = order > 0 ? d!.name : s!.name;
    const path = prefix + name;

    if (order > 0) {
      // Only in the replica.
      if (isTempName(name) && d!.kind === "file") {
        removes.push({ op: "remove", path, dst: d!, reason: "extra" });
      } else if (!options.excluded(path) && options.deletes) {
        removes.push({ op: "remove", path, dst: d!, reason: "extra" });
      }
      continue;
    }
    if (options.excluded(path)) continue;
    if (s!.kind === "other") {
      makes.push({ op: "skip", path, why: SPECIAL });
      continue;
    }
    if (order < 0) {
      // Only in the source.
      create(s!, path, "new");
      continue;
    }
    // In both.
    const a = s!;
    const b = d!;
    if (a.kind === b.kind) {
      if (a.kind === "file") {
        if (a.size !== b.size || a.mtimeMs !== b.mtimeMs) {
          makes.push({ op: "copy", path, src: a, reason: "update" });
        } else if (options.checksum) makes.push({ op: "compare", path, src: a });
        else if (a.mode !== b.mode) makes.push({ op: "chmod", path, src: a });
      } else if (a.kind === "dir") {
        descends.push({ op: "descend", path, src: a, dst: b });
      } else if (a.target !== b.target) {
        makes.push({ op: "symlink", path, src: a, reason: "update" });
      }
      continue;
    }
    // The type changed. A rename replaces a file, link or special file in place;
    // a replica directory, or anything standing where a directory must go, is removed first.
    if (b.kind === "dir" || a.kind === "dir") {
      if (!options.deletes) {
        makes.push({ op: "skip", path, why: NO_DELETES });
        continue;
      }
      removes.push({ op: "remove", path, dst: b, reason: "type" });
    }
    create(a, path, "update");
  }
  return [...removes, ...makes, ...descends];

  function create(entry: Entry, path: string, reason: "new" | "update"): void {
    if (entry.kind === "file") makes.push({ op: "copy", path, src: entry, reason });
    else if (entry.kind === "symlink") makes.push({ op: "symlink", path, src: entry, reason });
    else if (entry.kind === "dir") {
      makes.push({ op: "mkdir", path, src: entry });
      descends.push({ op: "descend", path, src: entry });
    }
  }
}
