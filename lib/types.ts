/**
 * Shared types of the engine: what a scan reports for one directory entry, and
 * the actions the planner derives from a pair of listings.
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
  /** Inode number, used to notice a file replaced while it was being copied. */
  ino: number;
}

/** Why a file is copied. */
export type CopyReason = "new" | "update";

/**
 * One step the apply phase carries out on the replica, relative to the roots.
 * Paths use `/` and never start with one; the root itself is `""`.
 */
export type Action =
  /** Remove a replica entry (a directory is removed with its contents, deepest first). */
  | { op: "remove"; path: string; dst: Entry; reason: "extra" | "type" }
  /** Create a directory; its contents follow in a `descend`. */
  | { op: "mkdir"; path: string; src: Entry }
  /** Copy a regular file to a temporary name, set mode and mtime, rename into place. */
  | { op: "copy"; path: string; src: Entry; reason: CopyReason }
  /** Compare content byte by byte (`--checksum`), copy only when it differs. */
  | { op: "compare"; path: string; src: Entry }
  /** Set permission bits on a replica file whose content is current. */
  | { op: "chmod"; path: string; src: Entry }
  /** Create or replace a symlink with the source's target text. */
  | { op: "symlink"; path: string; src: Entry; reason: CopyReason }
  /** Walk into a directory present (or just created) on both sides. */
  | { op: "descend"; path: string; src: Entry; dst?: Entry }
  /** Leave an entry alone and say why once. */
  | { op: "skip"; path: string; why: string };
