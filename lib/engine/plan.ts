/**
 * The plan phase: pure, entries in, actions out; needs no permissions. The one
 * place where "what differs" is decided. It imports nothing that keeps state:
 * whether owners are kept comes in as data (`PlanOptions.owners`).
 *
 * @module
 */
import type { Action, Entry } from "./types.ts";
import { isTempName } from "./temp_shape.ts";
import { isFuture, SETTLE_MS, settleDelay } from "./settle.ts";
import { octal, targetMode } from "./mode.ts";
import { xattrChanges, xattrWords } from "./xattrs.ts";

/** What the planner needs to know besides the two listings. */
export interface PlanOptions {
  /** Compare content when size and mtime agree (`--checksum`). */
  checksum: boolean;
  /**
   * Tells whether a path relative to the roots is excluded (`isDir`: whether
   * it is a folder; see exclude.ts). Excluded source entries are left out;
   * excluded replica entries are kept, unless `deleteExcluded`.
   */
  excluded: (relPath: string, isDir?: boolean) => boolean;
  /** `--delete-excluded`: replica entries the source does not mirror go even when excluded. */
  deleteExcluded?: boolean;
  /** Whether replica entries may be removed in this directory. */
  deletes: boolean;
  /** Whether owners (uid, gid) are mirrored: only a process that may chown (root). */
  owners?: boolean;
  /** The current time, for the settle rule (default: now). */
  now?: number;
  /**
   * Names left alone on both sides: source entries that could not be read,
   * and names shared by two entries once decoded (see `listDir`).
   */
  protect?: ReadonlySet<string>;
  /**
   * `--hard-links`: the hard-link groups met earlier in the cycle, by the
   * source's `dev:ino` ({@linkcode linkKey}). Given, files with more than one
   * link are grouped: the first met stands for its group, the others are
   * linked to it. Not given, each is copied as a separate file.
   */
  links?: ReadonlyMap<string, LinkAnchor>;
  /**
   * Mtimes this many ms apart or closer are the same (default 0): the
   * replica filesystem's granularity less 1 ms, or `--modify-window`.
   */
  mtimeWindowMs?: number;
}

/** The file that stands for a hard-link group this cycle (`--hard-links`). */
export interface LinkAnchor {
  /** Its path, relative to the roots: the group's first member met this cycle. */
  path: string;
  /** Its replica file, when the scan found it current; undefined when it is copied this cycle. */
  found?: { dev: number; ino: number };
}

/**
 * Names a source file's hard-link group: its device and inode.
 *
 * @example Usage
 * ```ts
 * import { linkKey } from "./plan.ts";
 * linkKey({ dev: 2049, ino: 1234 }); // "2049:1234"
 * ```
 *
 * @param entry The file.
 * @returns The key.
 */
export function linkKey(entry: Pick<Entry, "dev" | "ino">): string {
  return `${entry.dev}:${entry.ino}`;
}

const SPECIAL = "not a regular file, directory or symlink (FIFO, socket or device)";
/** Why a type change is skipped when removals are off (or refused by `--max-delete`, see held.ts). */
export const NO_DELETES = "its replacement needs a delete, and deletes are off for this cycle";

/**
 * Plans one directory: compares the source's entries with the replica's
 * (rclone's march: source only, replica only, both) and returns what to do.
 * Removals come first, then creations, copies and attribute changes in name
 * order, then the directories to walk into, so that directories exist before
 * their contents. Excluded paths are neither copied nor removed (removed
 * with `deleteExcluded`); stale temporary files of ours are removed even when
 * excluded. Every action carries what the replica held at its path (`dst`),
 * for apply to re-check.
 * A copy of a file written too recently carries the time it may be made
 * (the settle rule, {@linkcode settleDelay}); so does an emptied one (it may
 * be a truncate seen between its size and its mtime).
 *
 * With `links` (`--hard-links`), a source file with more than one link
 * belongs to the group of its `dev:ino`. The group's first member met this
 * cycle stands for it (in a directory, one whose replica file is current is
 * preferred): it is planned as any file, and its copy carries the group (or,
 * current, an `anchor` action follows). The other members become `link`
 * actions, after this directory's copies, unless their replica file already
 * is the group's. A replica file with links other than its name (with
 * `links`, other than its group's names in this directory) is copied afresh
 * rather than given a new mode or owner, which would reach those too.
 *
 * @example Usage
 * ```ts
 * import { planDir } from "./plan.ts";
 * const file = { name: "a", kind: "file" as const, size: 1, mtimeMs: 1, atimeMs: 1, mode: 0o644,
 *   dev: 1, ino: 1, uid: 0, gid: 0, blocks: 8, nlink: 1 };
 * planDir("", [file], [], { checksum: false, excluded: () => false, deletes: true });
 * // [{ op: "copy", path: "a", src: file, reason: "new" }]
 * ```
 *
 * @param dirRel The directory relative to the roots ("" for the root).
 * @param src The source directory's entries, sorted by name.
 * @param dst The replica directory's entries, sorted by name.
 * @param options Checksum, exclusions, owners, whether deletes are allowed, hard-link groups.
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
  const linked: Action[] = [];
  const descends: Action[] = [];
  const prefix = dirRel === "" ? "" : dirRel + "/";
  const now = options.now ?? Date.now();
  const links = options.links;
  const owners = options.owners ?? false;
  const named = links ? groupNames(prefix, src, dst, options) : undefined;
  const here = links ? anchorsHere(prefix, src, dst, options, links, named!) : undefined;
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
      } else if (options.deletes && !kept(path, d!)) {
        removes.push({ op: "remove", path, dst: d!, reason: "extra" });
      }
      continue;
    }
    if (options.excluded(path, s!.kind === "dir")) {
      // Left out of the mirror: a replica entry there is one the source does not have (as rsync
      // sees it, by its own kind: "tmp/" keeps a folder, not a file of that name).
      if (order === 0 && options.deletes && !kept(path, d!)) {
        removes.push({ op: "remove", path, dst: d!, reason: "extra" });
      }
      continue;
    }
    if (s!.kind === "other") {
      makes.push({ op: "skip", path, why: SPECIAL, kind: "other" });
      continue;
    }
    let group: string | undefined; // This file stands for its hard-link group.
    if (links && s!.kind === "file" && s!.nlink > 1) {
      const key = linkKey(s!);
      const anchor = links.get(key) ?? here!.get(key)!;
      const found = anchor.found;
      const was = order === 0 ? d : undefined;
      if (anchor.path === path) group = key;
      else if (was?.kind === "file" && found && was.dev === found.dev && was.ino === found.ino) {
        continue; // Linked alike already.
      } else if (!(was?.kind === "file" && found && was.dev !== found.dev)) {
        // Linked into place; a replica file on another filesystem than the group's stays apart.
        link(s!, was, path, key, anchor.path);
        continue;
      }
    }
    if (order < 0) {
      // Only in the source.
      create(s!, undefined, path, "new", group);
      continue;
    }
    // In both.
    const a = s!;
    const b = d!;
    if (a.kind === b.kind) {
      if (a.kind === "file") {
        const needs = fileNeeds(a, b, options, named);
        if (needs === "copy") copy(a, b, path, "update", group);
        else if (needs === "compare" || needs === "compare+attrs") {
          const attrs = needs !== "compare";
          const changes = changesOf(a, b, owners, false, options.mtimeWindowMs);
          makes.push({ op: "compare", path, src: a, dst: b, attrs, group, changes });
        } else {
          if (needs === "attrs") {
            makes.push({
              op: "attrs",
              path,
              src: a,
              dst: b,
              changes: changesOf(a, b, owners, false, options.mtimeWindowMs),
            });
          }
          if (group) makes.push({ op: "anchor", path, src: a, dst: b, group });
        }
      } else if (a.kind === "dir") {
        descends.push({ op: "descend", path, src: a, dst: b });
      } else if (a.target !== b.target) {
        const changes = changesOf(a, b, owners, false, options.mtimeWindowMs);
        makes.push({ op: "symlink", path, src: a, dst: b, reason: "update", changes });
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
      create(a, undefined, path, "update", group);
    } else create(a, b, path, "update", group);
  }
  return [...removes, ...makes, ...linked, ...descends];

  /** Whether an extra replica entry is kept: excluded, without `--delete-excluded`. */
  function kept(path: string, entry: Entry): boolean {
    return !options.deleteExcluded && options.excluded(path, entry.kind === "dir");
  }

  function copy(
    entry: Entry,
    was: Entry | undefined,
    path: string,
    reason: "new" | "update",
    group: string | undefined,
  ) {
    const changes = changesOf(entry, was, owners, options.checksum, options.mtimeWindowMs);
    let wait = settleDelay(entry.mtimeMs, now, options.mtimeWindowMs);
    // Emptied: Linux sets a truncated file's size before its mtime, so this may be a rewrite's
    // truncate caught half done, under the old mtime. It waits as a fresh file does; the
    // check after the copy then sees the new mtime.
    if (entry.size === 0 && was?.kind === "file" && was.size > 0) {
      wait = Math.max(wait, SETTLE_MS);
    }
    const action: Action = { op: "copy", path, src: entry, dst: was, reason, changes };
    if (wait > 0) action.settleAt = now + wait;
    if (isFuture(entry.mtimeMs, now)) action.future = true;
    if (group) action.group = group;
    makes.push(action);
  }

  function link(entry: Entry, was: Entry | undefined, path: string, group: string, anchor: string) {
    const reason = was ? "update" : "new";
    if (was?.kind === "dir") {
      if (!options.deletes) {
        makes.push({ op: "skip", path, why: NO_DELETES, kind: "file" });
        return;
      }
      removes.push({ op: "remove", path, dst: was, reason: "type" });
      was = undefined;
    }
    const changes = changesOf(entry, was, owners, options.checksum, options.mtimeWindowMs);
    linked.push({ op: "link", path, src: entry, dst: was, group, anchor, reason, changes });
  }

  function create(
    entry: Entry,
    was: Entry | undefined,
    path: string,
    reason: "new" | "update",
    group?: string,
  ) {
    if (entry.kind === "file") copy(entry, was, path, reason, group);
    else if (entry.kind === "symlink") {
      const changes = changesOf(entry, was, owners, false, options.mtimeWindowMs);
      makes.push({ op: "symlink", path, src: entry, dst: was, reason, changes });
    } else if (entry.kind === "dir") {
      makes.push({ op: "mkdir", path, src: entry });
      descends.push({ op: "descend", path, src: entry });
    }
  }
}

/**
 * What a source file needs when the replica holds a file at its path: a copy
 * when size or mtime differ (mtimes within `mtimeWindowMs` agree), or when
 * its mode, owner or attributes (`--xattrs`) differ and the replica file has links other than its
 * own name (with `--hard-links`: other than its group's names in this
 * directory, `named`): a chmod would reach names the source's change did not,
 * a snapshot made with `cp -al` say. With `--checksum` a comparison; else its
 * mode or owner set, or nothing.
 */
function fileNeeds(
  a: Entry,
  b: Entry,
  options: PlanOptions,
  named?: ReadonlyMap<string, number>,
): "copy" | "compare" | "compare+attrs" | "attrs" | undefined {
  const ownerDiffers = a.uid !== b.uid || a.gid !== b.gid;
  const owners = options.owners ?? false;
  const mode = owners ? a.mode : targetMode(a, b);
  const attrs = (owners && ownerDiffers) || mode !== b.mode || xattrChanges(a, b) !== "";
  const ownNames = named && a.nlink > 1 ? named.get(namesKey(b, a)) ?? 1 : 1;
  const mtimeDiffers = Math.abs(a.mtimeMs - b.mtimeMs) > (options.mtimeWindowMs ?? 0);
  if (
    a.size !== b.size || mtimeDiffers || (attrs && b.nlink > ownNames) ||
    grantsSetId(mode, b, owners && ownerDiffers) || grantsCapability(a, b, owners && ownerDiffers)
  ) return "copy";
  if (options.checksum) return attrs ? "compare+attrs" : "compare";
  return attrs ? "attrs" : undefined;
}

/**
 * Picks the file that stands for each hard-link group first met in this
 * directory: the first by name whose replica file is current (nothing to
 * copy, so the others are linked to what is there), else the first by name.
 */
function anchorsHere(
  prefix: string,
  src: readonly Entry[],
  dst: readonly Entry[],
  options: PlanOptions,
  links: ReadonlyMap<string, LinkAnchor>,
  named: ReadonlyMap<string, number>,
): Map<string, LinkAnchor> {
  const here = new Map<string, LinkAnchor>();
  let replica: Map<string, Entry> | undefined;
  for (const s of src) {
    if (s.kind !== "file" || s.nlink < 2) continue;
    const key = linkKey(s);
    if (links.has(key) || here.get(key)?.found) continue;
    if (options.protect?.has(s.name) || options.excluded(prefix + s.name, false)) continue;
    replica ??= new Map(dst.map((d) => [d.name, d]));
    const d = replica.get(s.name);
    const needs = d?.kind === "file" ? fileNeeds(s, d, options, named) : "copy";
    const found = needs === undefined || needs === "attrs"
      ? { dev: d!.dev, ino: d!.ino }
      : undefined;
    if (!here.has(key) || found) here.set(key, { path: prefix + s.name, found });
  }
  return here;
}

/** Names a replica inode as the file of one source hard-link group: both `dev:ino`. */
function namesKey(replica: Entry, source: Entry): string {
  return `${linkKey(replica)}>${linkKey(source)}`;
}

/**
 * `--hard-links`: for each replica file in this directory, how many of its
 * names here stand where members of one source group do (by
 * {@linkcode namesKey}), excluded and protected names left out: the links a
 * change of its mode may reach.
 */
function groupNames(
  prefix: string,
  src: readonly Entry[],
  dst: readonly Entry[],
  options: PlanOptions,
): Map<string, number> {
  const named = new Map<string, number>();
  let replica: Map<string, Entry> | undefined;
  for (const s of src) {
    if (s.kind !== "file" || s.nlink < 2) continue;
    if (options.protect?.has(s.name) || options.excluded(prefix + s.name)) continue;
    replica ??= new Map(dst.map((d) => [d.name, d]));
    const d = replica.get(s.name);
    if (d?.kind !== "file" || d.nlink < 2) continue;
    const key = namesKey(d, s);
    named.set(key, (named.get(key) ?? 0) + 1);
  }
  return named;
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
 * File capabilities (`--xattrs`' `security.capability`) are never granted to a file already in
 * the replica either, for the same reason: set where it had none or another, or set again after
 * a chown (which clears them), the file is copied afresh instead.
 */
function grantsCapability(src: Entry, dst: Entry, chown: boolean): boolean {
  const cap = src.xattrs?.get(CAPABILITY);
  if (cap === undefined) return false;
  const had = dst.xattrs?.get(CAPABILITY);
  return chown || had === undefined || had.length !== cap.length ||
    had.some((b, i) => b !== cap[i]);
}

const CAPABILITY = "security.capability";

/**
 * Plans a directory's own metadata, once its contents are done: mode, owner
 * (when mirrored), extended attributes (when read) and mtime. Changing the contents changes the mtime, so
 * `changed` forces it to be set again. Mode and owner differences are
 * reported (an event); an mtime alone follows from the contents and is set
 * without one.
 *
 * @example Usage
 * ```ts
 * import { planDirMeta } from "./plan.ts";
 * const dir = { name: "d", kind: "dir" as const, size: 0, mtimeMs: 1, atimeMs: 1, mode: 0o755,
 *   dev: 1, ino: 2, uid: 0, gid: 0, blocks: 8, nlink: 2 };
 * planDirMeta("d", dir, { ...dir, mode: 0o700 }, false);
 * // { op: "dirmeta", path: "d", src: dir, dst: ..., report: "mode 0755" }
 * ```
 *
 * @param path The directory relative to the roots.
 * @param src The source directory.
 * @param dst The replica directory as scanned (undefined: created by this cycle).
 * @param changed Whether this cycle changed its contents (or its mode, to write into it).
 * @param owners Whether owners are mirrored.
 * @param windowMs Mtimes this many ms apart or closer are the same (`PlanOptions.mtimeWindowMs`).
 * @returns The action, or undefined when nothing differs.
 */
export function planDirMeta(
  path: string,
  src: Entry,
  dst: Entry | undefined,
  changed: boolean,
  owners = false,
  windowMs = 0,
): Action | undefined {
  const parts: string[] = [];
  if (dst !== undefined && dst.mode !== src.mode) parts.push(`mode ${octal(src.mode)}`);
  if (dst !== undefined && owners && (dst.uid !== src.uid || dst.gid !== src.gid)) {
    parts.push(`owner ${src.uid}:${src.gid}`);
  }
  const xattrs = dst === undefined ? "" : xattrWords(xattrChanges(src, dst));
  if (xattrs !== "") parts.push(xattrs);
  const sameMtime = dst !== undefined && Math.abs(dst.mtimeMs - src.mtimeMs) <= windowMs;
  if (dst !== undefined && !changed && parts.length === 0 && sameMtime) {
    return undefined;
  }
  const changes = dst === undefined ? "" : changesOf(src, dst, owners, false, windowMs);
  return { op: "dirmeta", path, src, dst, report: parts.join(", "), changes };
}

/**
 * What differs between a source entry and what the replica holds at its
 * path, in rsync's letters (see itemize.ts), for `--itemize-changes`: `+`
 * when the replica holds nothing there, or another kind. For a file: size,
 * mtime, mode (the one it gets, see `targetMode`), owner and group when
 * owners are mirrored, and with `--checksum` content when the sizes differ.
 * For a folder: mtime, mode, owner and group. For both, with `--xattrs`:
 * `a` for an ACL, `x` for another extended attribute. For a link whose target
 * differs: the target, and an mtime of the time of the change (a link is
 * made anew and its mtime is not set).
 *
 * @example Usage
 * ```ts
 * import { changesOf } from "./plan.ts";
 * const file = { name: "a", kind: "file" as const, size: 1, mtimeMs: 1, atimeMs: 1, mode: 0o644,
 *   dev: 1, ino: 1, uid: 0, gid: 0, blocks: 8, nlink: 1 };
 * changesOf(file, undefined, false); // "+"
 * changesOf(file, { ...file, size: 2, mtimeMs: 5 }, false); // "st"
 * ```
 *
 * @param src The source entry.
 * @param dst The replica's entry at its path (undefined: nothing).
 * @param owners Whether owners are mirrored.
 * @param checksum `--checksum`: a different size is a different content.
 * @param windowMs Mtimes this close are the same (`PlanOptions.mtimeWindowMs`).
 * @returns The letters ("" when nothing differs).
 */
export function changesOf(
  src: Entry,
  dst: Entry | undefined,
  owners: boolean,
  checksum = false,
  windowMs = 0,
): string {
  if (dst === undefined || dst.kind !== src.kind) return "+";
  if (src.kind === "symlink") return src.target === dst.target ? "" : "cT";
  let changes = "";
  if (src.kind === "file") {
    if (src.size !== dst.size) changes += checksum ? "cs" : "s";
  }
  if (Math.abs(src.mtimeMs - dst.mtimeMs) > windowMs) changes += "t";
  const mode = src.kind === "file" && !owners ? targetMode(src, dst) : src.mode;
  if (mode !== dst.mode) changes += "p";
  if (owners && src.uid !== dst.uid) changes += "o";
  if (owners && src.gid !== dst.gid) changes += "g";
  return changes + xattrChanges(src, dst);
}
