/**
 * The filesystem seam: every system call the engine makes on the source, the
 * replica and the backup folder goes through a {@linkcode FileSystem}. Two
 * engines implement it: `portable.ts` (Deno's path API: works under
 * `--allow-read --allow-write`, checks before it acts) and `native/` (libc
 * through `Deno.dlopen`, Linux, `--allow-ffi`: everything relative to folder
 * handles, so nothing can be redirected). Types only, no permissions needed.
 *
 * A folder is something the engine holds ({@linkcode Folder}), not a string
 * it re-resolves: the portable engine emulates the hold by re-checking the
 * folder's (kind, dev, ino) before each call; the native one keeps a handle.
 * Every call that changes an entry takes what the scan saw there (`seen`) and
 * throws `ChangedError` (recheck.ts) when the entry is no longer that.
 *
 * @module
 */
import type { Entry } from "../types.ts";
import type { Owners } from "../owner.ts";
import type { BackupTarget } from "../backup.ts";
import type { CopyJob } from "../copy_file_atomic.ts";
import type { HandleCopy } from "./native/copy.ts";

/** What an entry is expected to be: an entry as scanned (kind, dev, ino), or absent. */
export type Seen = Pick<Entry, "kind" | "dev" | "ino"> | undefined;

/** Which side of the mirror a folder is on. */
export type Side = "source" | "replica" | "backup";

/** A folder the engine holds: known by its path and by what was seen of it. */
export interface Folder {
  /** Source, replica, or the backup folder. */
  side: Side;
  /** Relative to its side's root, `/`-separated; `""` for the root. */
  rel: string;
  /** Absolute path (for messages, and for the portable engine). */
  abs: string;
  /** What the scan (or our own mkdir) saw of it. */
  seen: Entry;
  /** A root given by the user: it may be a link to a folder, and it is never replaced. */
  root: boolean;
  /** The folder it is in (absent for a root and for the folder a walk starts from). */
  parent?: Folder;
  /** Set once its mode was widened so that its contents can change. */
  loosened?: boolean;
  /** For a replica folder the walk syncs: the source folder it mirrors. */
  source?: Folder;
}

/** The name of one entry in a folder, and what it must be. */
export interface At {
  dir: Folder;
  name: string;
  seen: Seen;
}

/** A name in a folder that could not be scanned, and why. */
export interface ScanProblem {
  /** The entry's name. */
  name: string;
  /** What went wrong, in a few words. */
  message: string;
  /** The underlying error, when there is one. */
  error?: unknown;
}

/** The readable entries of one folder, sorted by name, and the ones that were not. */
export interface DirListing {
  /** Entries sorted by name (code unit order). */
  entries: Entry[];
  /** Entries that exist but could not be read. */
  problems: ScanProblem[];
}

/** Metadata to set on an entry; what is left out is left alone. */
export interface Attrs {
  /** Owner and group (`chown`; fails with EPERM for a non-root user). */
  owner?: { uid: number; gid: number };
  /** Permission bits. */
  mode?: number;
  /** Access and modification time, ms since the epoch (`mtimeNs` wins when given). */
  times?: { atimeMs: number; mtimeMs: number; atimeNs?: bigint; mtimeNs?: bigint };
  /**
   * `--xattrs` (native engine): the extended attributes the entry must have
   * (those it has and are mirrored but not listed are removed); links are left alone.
   */
  xattrs?: ReadonlyMap<string, Uint8Array>;
}

/** One file copy into the replica, atomic: a temporary name, then a rename over `to.name`. */
export interface CopyIn {
  /** The source file and what the scan saw (it must still be that regular file, unchanged). */
  from: { dir: Folder; name: string; entry: Entry };
  /** Where it goes, and what the scan saw there. */
  to: At;
  /**
   * Whether owners are kept: the copy gets the source's owner when a `chown`
   * works, and its mode by `targetMode` (mode.ts) for the owner it ends with.
   */
  owners: Owners;
  /** `--backup_dir`: the entry replaced is kept here, right before the rename. */
  backup?: BackupTarget;
  /** Holds the temporary path while the copy is under way (progress, abandoning). */
  inflight?: Set<string>;
}

/** A copy handed to a copy worker, and what to call once it is done (see `FileSystem.handOff`). */
export interface Handoff<Job> {
  /** What the worker takes (structured-cloneable). */
  job: Job;
  /** Releases what the job held (folder handles, its temporary path in `inflight`). */
  release(): void;
}

/** What a copy or link left at the final name: the inode hard-link members are linked to. */
export type Made = NonNullable<Seen>;

/**
 * The operations the engine needs from a filesystem. Names are single path
 * components; a folder's own metadata is reached with `name` `"."`.
 */
export interface FileSystem {
  /** "portable" or "native": named on the start line. */
  readonly name: "portable" | "native";
  /** Lists a folder: every entry `lstat`ed, link targets read. Throws when the folder cannot be read. */
  list(dir: Folder): DirListing;
  /** The entry at `name` now, whatever it is (no link followed); undefined when there is none. */
  lstat(dir: Folder, name: string): Entry | undefined;
  /** The entry at `name` now (no link followed); throws `ChangedError` unless it is `seen`. */
  check(at: At): Entry | undefined;
  /**
   * `--xattrs`: the mirrored extended attributes of a file or folder (`"."`:
   * the folder itself); undefined when the engine does not read them (portable, or not asked).
   */
  xattrs(at: At): ReadonlyMap<string, Uint8Array> | undefined;
  /** Creates a private (0700) folder at a free name. */
  mkdir(at: At): Entry;
  /** Sets metadata on an entry that must still be `seen` (never through a link). */
  setAttrs(at: At, attrs: Attrs): void;
  /** Removes one entry (a file, link, or empty folder) that must still be `seen`. */
  remove(at: At): void;
  /** Creates an empty private (0600) file at a free name with these times; returns it as read back. */
  touch(at: At, times: NonNullable<Attrs["times"]>): Entry;
  /**
   * Creates or replaces a link, atomically (`backup`: the entry replaced is kept there),
   * with the link's own times where the engine can set them (native; Deno has no `lutimes`).
   */
  symlink(at: At, target: string, backup?: BackupTarget, times?: Attrs["times"]): void;
  /** Makes `at` a hard link of `anchor` (which must still be the file seen), atomically. */
  link(anchor: At, at: At, backup?: BackupTarget): void;
  /** Copies a source file into the replica, atomically. */
  copy(job: CopyIn): Promise<Made>;
  /**
   * A small copy as a job for the copy workers (lib/speed/copier.ts), which make it as `copy`
   * would; `release` once it is done. Undefined: make it with `copy`. Throws what `copy` would
   * when a folder is no longer the one seen.
   */
  handOff(job: CopyIn): Handoff<CopyJob | HandleCopy> | undefined;
  /**
   * Compares a source file with a replica file byte by byte (each must still
   * be the file seen); throws `UnreadableError` when the replica file may not be read.
   */
  sameContent(a: At, b: At): Promise<boolean>;
  /**
   * `--backup_dir`: moves an entry that must still be `seen` (a whole folder in one rename) to
   * `to`, a free path outside the replica checked just before; fails with code EXDEV when the
   * backup folder is on another filesystem.
   */
  moveOut(at: At, to: BackupTarget): void;
  /**
   * `--backup_dir` across filesystems: copies a file or link (not a folder) that must still be
   * `seen` to the free path `to`, with its mode and mtime; other kinds are not kept.
   */
  copyOut(at: At, to: string): void;
  /**
   * Removes the temporary file at `path` that an abandoned copy left, `path` being below the
   * replica root `replica`; nothing is removed when a link, or nothing, stands in its folder's
   * path (native: the folder is opened below the root; portable: its real path is checked first).
   */
  discardTemp(replica: string, path: string): void;
  /** Releases what the engine holds (folder handles); the cycle's last call. */
  close(): void;
}
