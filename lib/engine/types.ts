/**
 * Shared types of the engine and its reports: what a scan sees of one
 * directory entry, the actions the planner derives from a pair of listings,
 * and the events and counts a cycle reports. Imports nothing.
 *
 * @module
 */

/** What kind of filesystem object an entry is. `other` covers FIFOs, sockets and devices. */
export type EntryKind = "file" | "dir" | "symlink" | "other";

/** One directory entry as read with `lstat` (links are never followed). */
export interface Entry {
  /** The entry's name inside its directory. */
  name: string;
  /** File, directory, symlink or other. */
  kind: EntryKind;
  /** Size in bytes (0 for directories and others). */
  size: number;
  /** Modification time in whole milliseconds since the epoch. */
  mtimeMs: number;
  /** Access time in whole milliseconds since the epoch (copied, never compared). */
  atimeMs: number;
  /** Permission bits, `mode & 0o7777`. */
  mode: number;
  /** Symlink target text, for `kind === "symlink"`. */
  target?: string;
  /** Device of the filesystem holding it: with `ino`, who it is. */
  dev: number;
  /** Inode number. */
  ino: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** 512-byte blocks allocated: fewer than the size needs means a sparse file. */
  blocks: number;
  /** Hard links to it (1 for most files): with `--hard-links`, files above 1 are grouped. */
  nlink: number;
  /** Modification time in nanoseconds since the epoch, where the engine reads it (native). */
  mtimeNs?: bigint;
  /** Access time in nanoseconds since the epoch, where the engine reads it (native). */
  atimeNs?: bigint;
  /**
   * True for the root of a mount (a mount point, a bind mount's too), where
   * the engine can tell (native, Linux 5.8 and later); unset otherwise.
   */
  mountRoot?: boolean;
  /**
   * `--xattrs` (native engine): the extended attributes mirrored (ACLs among
   * them), by name, for files and folders; undefined when not read.
   */
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

/** Why a file or link is written. */
export type CopyReason = "new" | "update";

/**
 * One step the apply phase carries out on the replica, relative to the roots.
 * Paths use `/` and never start with one; the root itself is `""`. `dst` is
 * what the scan saw at the target (undefined: nothing); apply checks the
 * target still is that before it acts.
 */
export type Action =
  /** Remove a replica entry (a directory with its contents, deepest first). */
  | { op: "remove"; path: string; dst: Entry; reason: "extra" | "type" }
  /** Create a directory; its contents follow in a `descend`. */
  | { op: "mkdir"; path: string; src: Entry; dst?: undefined }
  /** Copy a regular file to a temporary name, set mode and mtime, rename into place. */
  | {
    op: "copy";
    path: string;
    src: Entry;
    dst?: Entry;
    reason: CopyReason;
    /** Not settled yet (see `settleDelay`): copy no sooner than this time, ms since the epoch. */
    settleAt?: number;
    /** Its mtime is beyond the margin in the future (clock skew): copied at once. */
    future?: boolean;
    /**
     * `--hard-links`: the first file met this cycle of the hard-link group
     * `group` (the source's `dev:ino`); its other members are linked to the copy.
     */
    group?: string;
    /** What differs, in rsync's letters, for `--itemize-changes` (see itemize.ts). */
    changes: string;
  }
  /**
   * Compare content byte by byte (`--checksum`): copy when it differs; when it
   * is the same and `attrs` is set, set mode (and owner) as an `attrs` would.
   * `group` as for a copy: the members are linked to the file this leaves.
   */
  | {
    op: "compare";
    path: string;
    src: Entry;
    dst: Entry;
    attrs: boolean;
    group?: string;
    /** What differs besides the content (mode, owner), in rsync's letters (see itemize.ts). */
    changes: string;
  }
  /** Set mode bits (and owner) on a replica file whose content is current. */
  | { op: "attrs"; path: string; src: Entry; dst: Entry; changes: string }
  /** Create or replace a symlink with the source's target text. */
  | { op: "symlink"; path: string; src: Entry; dst?: Entry; reason: CopyReason; changes: string }
  /** Walk into a directory present (or just created) on both sides. */
  | { op: "descend"; path: string; src: Entry; dst?: Entry }
  /**
   * Set a directory's mode, owner and mtime after its contents; `report` names
   * the differences worth an event (mode, owner), empty for an mtime only;
   * `changes` what differs from the directory as scanned, in rsync's letters
   * (see itemize.ts), "" for a directory made by this cycle.
   */
  | { op: "dirmeta"; path: string; src: Entry; dst?: Entry; report: string; changes: string }
  /**
   * `--hard-links`: the replica file at `path` is current and stands for its
   * hard-link group `group` this cycle (the others are linked to it). Changes nothing.
   */
  | { op: "anchor"; path: string; src: Entry; dst: Entry; group: string }
  /**
   * `--hard-links`: make the replica file a hard link of the file that stands
   * for its group this cycle, the one at `anchor` (relative to the roots).
   */
  | {
    op: "link";
    path: string;
    src: Entry;
    dst?: Entry;
    group: string;
    anchor: string;
    reason: CopyReason;
    /** What differs from the replica file, in rsync's letters (see itemize.ts), should it be copied instead. */
    changes: string;
  }
  /** Leave an entry alone and say why once. */
  | { op: "skip"; path: string; why: string; kind: EntryKind };

/** What happened to one path; `skip` and `error` carry a reason and a hint. */
export type SyncAction = "create" | "copy" | "update" | "remove" | "backup" | "skip" | "error";

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
  /** For a backup of a removal: how many entries it moved (they count as removals). */
  count?: number;
  /** Extra words: why it was skipped or failed, or what changed. */
  detail?: string;
  /** What the user can do, for errors. */
  hint?: string;
  /** True when this skip was already reported in an earlier cycle of this process. */
  repeat?: boolean;
  /** True in a dry run: nothing was changed. */
  dryRun?: boolean;
  /** With `--itemize-changes`: rsync's 11-character code (itemize.ts); "" where rsync prints no line. */
  itemize?: string;
  /** Not counted in the cycle's summary: a folder's mtime alone, logged with `--itemize-changes`. */
  uncounted?: boolean;
}

/** Counts of one cycle. */
export interface SyncStats {
  /** Directories, symlinks and hard links created. */
  create: number;
  /** New files copied. */
  copy: number;
  /** Files, links and directories updated (content, mode, owner or target). */
  update: number;
  /** Replica entries removed, those moved to the backup folder included. */
  remove: number;
  /** Entries moved to the backup folder (removed or overwritten), `--backup_dir`. */
  backup: number;
  /** Of `backup`, the removed entries (a folder moved whole counts its entries). */
  backupRemoved: number;
  /** Entries left alone (special files, bad names, excluded leftovers, changed during the run). */
  skip: number;
  /** Paths that failed. */
  error: number;
  /** Bytes copied. */
  bytes: number;
  /** Entries looked at on the source side. */
  scanned: number;
  /** Files copied with an mtime beyond the margin in the future (clock skew). */
  future: number;
  /** True when the cycle was stopped by its signal before it finished. */
  aborted: boolean;
}

/**
 * A fresh set of counts, all zero.
 *
 * @example Usage
 * ```ts
 * import { emptyStats } from "./types.ts";
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
    backup: 0,
    backupRemoved: 0,
    skip: 0,
    error: 0,
    bytes: 0,
    scanned: 0,
    future: 0,
    aborted: false,
  };
}
