/**
 * What a sync cycle is asked to do: the options of `syncTree`; types only, no permissions needed.
 *
 * @module
 */
import type { SyncEvent } from "./types.ts";
import type { Backup } from "./backup.ts";
import type { Owners } from "./owner.ts";
import type { MtimeTicks } from "./mtime_tick.ts";
import type { Speed } from "../speed/speed.ts";

/** Options of `syncTree` (sync_tree.ts). */
export interface SyncOptions {
  /** The source directory. */
  source: string;
  /** The replica directory (its last component is created when missing, except in a dry run). */
  replica: string;
  /** Plan and report only; change nothing. */
  dryRun?: boolean;
  /** Compare content when size and mtime agree. */
  checksum?: boolean;
  /** `--modify-window`, in ms: mtimes this close agree (a coarser replica filesystem widens it). */
  modifyWindowMs?: number;
  /** Files sharing a source inode share one replica inode too (`--hard-links`). */
  hardLinks?: boolean;
  /** Paths (relative, `/`-separated) that are neither copied nor removed (see exclude.ts). */
  excluded?: (relPath: string, isDir?: boolean) => boolean;
  /** `--delete-excluded`: excluded replica entries are removed, not kept. */
  deleteExcluded?: boolean;
  /** Whether replica entries may be removed at all (false: `--max-delete` tripped). */
  deletes?: boolean;
  /** `--max-delete`: the most removals; held to the walk's end and made if all fit (held.ts). */
  maxDelete?: number;
  /** Told how many removals `maxDelete` refused (none was made). */
  onOverBudget?: (removals: number) => void;
  /** `--backup_dir`: this cycle's backup folder for what is removed or overwritten. */
  backup?: Backup;
  /** How many copies run at once (default 8). */
  concurrency?: number;
  /** Stops the walk; copies under way finish or are discarded, then the cycle returns. */
  signal?: AbortSignal;
  /** Receives every event. */
  onEvent?: (event: SyncEvent) => void;
  /** `--itemize-changes`: change events carry rsync's code, and a folder's mtime gets an event too. */
  itemize?: boolean;
  /** Told the files and bytes each directory's plan will copy (for a progress line). */
  onPlan?: (files: number, bytes: number) => void;
  /** Called once this cycle has created the replica root (to lock it; may throw to stop the cycle). */
  onRootCreated?: () => void;
  /** Given the set of temporary paths of the copies under way (for a progress line). */
  onInflight?: (paths: ReadonlySet<string>) => void;
  /** Called once the walk has listed every folder (the copies may still run): totals are final. */
  onWalked?: () => void;
  /**
   * `--one-file-system`: a source folder on another filesystem than the
   * source root is mirrored as a folder but not entered (its replica
   * contents are left alone, as `rsync -x` does); a replica folder on
   * another filesystem than the replica root is neither entered nor removed.
   */
  oneFileSystem?: boolean;
  /** Paths already warned about by earlier cycles (so idle cycles stay quiet). Updated in place. */
  warned?: Set<string>;
  /**
   * Sync only this directory (relative, `/`-separated) instead of the whole
   * tree, reached from the roots one folder at a time as the walk would.
   * When it, or a folder above it, is not a directory (and no link) on both
   * sides, the deepest one above that is gets synced instead, shallow. Used
   * by `--watch`.
   */
  start?: string;
  /**
   * Do not walk into directories that already exist on both sides: only the
   * start directory's own entries (and new directories, whole) are synced.
   */
  shallow?: boolean;
  /**
   * List the source on `speed`'s worker thread, ahead of the sync (see prefetch.ts);
   * `exclude` must be the filter rules behind `excluded`. Worth it for full cycles. The
   * native engine starts it only once the walk has met `after` entries (default 50,000), for
   * the start folder's subfolders not walked yet: on a smaller tree the worker's start costs
   * more than it saves.
   */
  prefetch?: { exclude: string[]; after?: number };
  /** The engine behind the seam (default portable; see fs/open.ts). */
  engine?: "portable" | "native";
  /** `--xattrs` (native engine): extended attributes and ACLs of files and folders are mirrored. */
  xattrs?: boolean;
  /** What the run learned about `chown` (default: learned afresh by this cycle). */
  owners?: Owners;
  /** The mtime granularities the run learned (default: learned afresh by this cycle). */
  ticks?: MtimeTicks;
  /**
   * Copy small files on `speed`'s worker threads (see copier.ts) once a
   * cycle has copied many of them inline. Worth it for full cycles.
   */
  copyWorkers?: boolean;
  /** The run's worker threads (see speed.ts); without them everything runs on this thread. */
  speed?: Speed;
}
