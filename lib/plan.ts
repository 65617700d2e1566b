/**
 * The plan phase: pure, entries in, actions out. The one place where "what
 * differs" is decided.
 *
 * @module
 */
import type { Action, Entry } from "./types.ts";
import { isTempName } from "./temp_name.ts";
import { targetMode } from "./owner.ts";

/** What the planner needs to know besides the two listings. */
export interface PlanOptions {
  /** Compare content when size and mtime agree (`--checksum`). */
  checksum: boolean;
  /** Tells whether a path relative to the roots is excluded. */
  excluded: (relPath: string) => boolean;
  /** Whether replica entries may be removed in this directory. */
  deletes: boolean;
  /** Whether owners (uid, gid) are mirrored: only a process that may chown (root). */
  owners?: boolean;
  /**
   * Names left alone on both sides: source entries that could not be read,
   * and names shared by two entries once decoded (see `listDir`).
   */
  protect?: ReadonlySet<string>;
}

const SPECIAL = "not a regular file, directory or symlink (FIFO, socket or device)";
const NO_DELETES = "its replacement needs a delete, and deletes are off for this cycle";

/**
 * Plans one directory: compares the source's entries with the replica's
 * (rclone's march: source only, replica only, both) and returns what to do.
 * Removals come first, then creations, copies and attribute changes in name
 * order, then the directories to walk into, so that directories exist before
 * their contents. Excluded paths are neither copied nor removed; stale
 * temporary files of ours are removed even when excluded. Every action
 * carries what the replica held at its path (`dst`), for apply to re-check.
 *
 * @example Usage
 * ```ts
 * import { planDir } from "./plan.ts";
 * const file = { name: "a", kind: "file" as const, size: 1, mtimeMs: 1, atimeMs: 1, mode: 0o644,
 *   dev: 1, ino: 1, uid: 0, gid: 0, blocks: 8 };
 * planDir("", [file], [], { checksum: false, excluded: () => false, deletes: true });
 * // [{ op: "copy", path: "a", src: file, reason: "new" }]
 * ```
 *
 * @param dirRel The directory relative to the roots ("" for the root).
 * @param src The source directory's entries, sorted by name.
 * @param dst The replica directory's entries, sorted by name.
 * @param options Checksum, exclusions, owners, and whether deletes are allowed.
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
  const owners = options.owners ?? false;
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

    if (options.protect?.has(name)) continue; // Reported by the scan.
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
      makes.push({ op: "skip", path, why: SPECIAL, kind: "other" });
      continue;
    }
    if (order < 0) {
      // Only in the source.
      create(s!, undefined, path, "new");
      continue;
    }
    // In both.
    const a = s!;
    const b = d!;
    if (a.kind === b.kind) {
      if (a.kind === "file") {
        const ownerDiffers = a.uid !== b.uid || a.gid !== b.gid;
        const mode = owners ? a.mode : targetMode(a, b);
        const attrs = (owners && ownerDiffers) || mode !== b.mode;
        if (
          a.size !== b.size || a.mtimeMs !== b.mtimeMs ||
          grantsSetId(mode, b, owners && ownerDiffers)
        ) {
          makes.push({ op: "copy", path, src: a, dst: b, reason: "update" });
        } else if (options.checksum) makes.push({ op: "compare", path, src: a, dst: b, attrs });
        else if (attrs) makes.push({ op: "attrs", path, src: a, dst: b });
      } else if (a.kind === "dir") {
        descends.push({ op: "descend", path, src: a, dst: b });
      } else if (a.target !== b.target) {
        makes.push({ op: "symlink", path, src: a, dst: b, reason: "update" });
      }
      continue;
    }
    // The type changed. A rename replaces a file, link or special file in place;
    // a replica directory, or anything standing where a directory must go, is removed first.
    if (b.kind === "dir" || a.kind === "dir") {
      if (!options.deletes) {
        makes.push({ op: "skip", path, why: NO_DELETES, kind: a.kind });
        continue;
      }
      removes.push({ op: "remove", path, dst: b, reason: "type" });
      create(a, undefined, path, "update");
    } else create(a, b, path, "update");
  }
  return [...removes, ...makes, ...descends];

  function create(entry: Entry, was: Entry | undefined, path: string, reason: "new" | "update") {
    if (entry.kind === "file") makes.push({ op: "copy", path, src: entry, dst: was, reason });
    else if (entry.kind === "symlink") {
      makes.push({ op: "symlink", path, src: entry, dst: was, reason });
    } else if (entry.kind === "dir") {
      makes.push({ op: "mkdir", path, src: entry });
      descends.push({ op: "descend", path, src: entry });
    }
  }
}

/**
 * Set-uid and set-gid are never granted to a file already in the replica, by
 * a chmod adding them or a chown under them: whoever could write it may have
 * given it other content with the same size and mtime, so it is copied
 * afresh instead (a copy is written by us from the source).
 */
function grantsSetId(mode: number, dst: Entry, chown: boolean): boolean {
  const setId = mode & 0o6000;
  return setId !== 0 && (chown || (dst.mode & 0o6000) !== setId);
}

/**
 * Plans a directory's own metadata, once its contents are done: mode, owner
 * (when mirrored) and mtime. Changing the contents changes the mtime, so
 * `changed` forces it to be set again. Mode and owner differences are
 * reported (an event); an mtime alone follows from the contents and is set
 * without one.
 *
 * @example Usage
 * ```ts
 * import { planDirMeta } from "./plan.ts";
 * const dir = { name: "d", kind: "dir" as const, size: 0, mtimeMs: 1, atimeMs: 1, mode: 0o755,
 *   dev: 1, ino: 2, uid: 0, gid: 0, blocks: 8 };
 * planDirMeta("d", dir, { ...dir, mode: 0o700 }, false);
 * // { op: "dirmeta", path: "d", src: dir, dst: ..., report: "mode 0755" }
 * ```
 *
 * @param path The directory relative to the roots.
 * @param src The source directory.
 * @param dst The replica directory as scanned (undefined: created by this cycle).
 * @param changed Whether this cycle changed its contents (or its mode, to write into it).
 * @param owners Whether owners are mirrored.
 * @returns The action, or undefined when nothing differs.
 */
export function planDirMeta(
  path: string,
  src: Entry,
  dst: Entry | undefined,
  changed: boolean,
  owners = false,
): Action | undefined {
  const parts: string[] = [];
  if (dst !== undefined && dst.mode !== src.mode) parts.push(`mode ${octal(src.mode)}`);
  if (dst !== undefined && owners && (dst.uid !== src.uid || dst.gid !== src.gid)) {
    parts.push(`owner ${src.uid}:${src.gid}`);
  }
  if (dst !== undefined && !changed && parts.length === 0 && dst.mtimeMs === src.mtimeMs) {
    return undefined;
  }
  return { op: "dirmeta", path, src, dst, report: parts.join(", ") };
}

/**
 * Mode bits as four octal digits.
 *
 * @example Usage
 * ```ts
 * import { octal } from "./plan.ts";
 * octal(0o755); // "0755"
 * ```
 *
 * @param mode The bits.
 * @returns The text.
 */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
