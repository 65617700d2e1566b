/**
 * What apply and the walk work on: the cycle's state (ApplyContext, WalkContext) and a
 * replica folder as the walk knows it (DirRef); types only, no permissions needed.
 *
 * @module
 */
import type { Entry, SyncEvent, SyncStats } from "./types.ts";
import type { FileSystem, Folder } from "./fs/types.ts";
import type { Owners } from "./owner.ts";
import type { Backup } from "./backup.ts";
import type { Pool } from "../speed/pool.ts";
import type { DeleteBudget } from "./remove.ts";
import type { HeldRemovals } from "./held.ts";
import type { HardLinks } from "./hard_links.ts";
import type { SourceLister } from "../speed/prefetch.ts";
import type { SetAside } from "../speed/set_aside.ts";
import type { Speed } from "../speed/speed.ts";

/** A replica folder as the walk knows it (see the seam's `Folder`). */
export type DirRef = Folder;

/** What apply needs from the cycle. */
export interface ApplyContext {
  /** The source root, absolute. */
  source: string;
  /** The replica root, absolute. */
  replica: string;
  /** Report only; change nothing. */
  dryRun: boolean;
  /** Every system call on the trees goes through it (the engine). */
  fs: FileSystem;
  /** Whether owners are kept (learned from the first chown or the probe). */
  owners: Owners;
  /** Excluded paths (kept when a directory around them is removed). */
  excluded: (relPath: string, isDir?: boolean) => boolean;
  /** `--delete-excluded`: excluded entries are removed with their directory. */
  deleteExcluded?: boolean;
  /** The removals left. */
  budget: DeleteBudget;
  /** `--backup_dir`: where removed and overwritten entries go (this cycle's folder). */
  backup?: Backup;
  /** `dev:ino` of both roots and their ancestors: a directory met below a root that is one of them is refused. */
  forbidden: ReadonlySet<string>;
  /** `--one-file-system`: the replica root's device; folders on another are left alone. */
  replicaDev?: number;
  /** The source root's device: a replica mount root on it is a bind mount of the source's filesystem. */
  sourceFs?: number;
  /** Temporary paths of the copies under way (for the progress line and for abandoning them). */
  inflight: Set<string>;
  /** Bounds the copies running at once. */
  pool: Pool;
  /** Whether small copies may go to the worker threads once many were made. */
  copyWorkers: boolean;
  /** The run's worker threads, if any (see speed.ts). */
  speed?: Speed;
  /** Small copies made on this thread so far. */
  inlineCopies: number;
  /** Stops the cycle. */
  signal?: AbortSignal;
  /** Warnings already given in earlier cycles (updated in place). */
  warned: Set<string>;
  /** Receives every event. */
  emit: (event: SyncEvent) => void;
  /** `--itemize-changes`: change events carry rsync's code (`itemize`). */
  itemize?: boolean;
  /** Lets signal handlers run during long synchronous stretches. */
  yieldNow: () => Promise<void>;
  /** Mtimes this many ms apart or closer are the same (see `PlanOptions.mtimeWindowMs`). */
  mtimeWindowMs?: number;
}

/** What the walk works on: apply's context and the walk's own state. */
export interface WalkContext extends ApplyContext {
  checksum: boolean;
  deletes: boolean;
  shallow: boolean;
  onPlan?: (files: number, bytes: number) => void;
  /** Lists source folders ahead of the walk; else the engine does. */
  lister?: SourceLister;
  /**
   * The native engine: starts the source prefetch for these folders (the walk's start folder's
   * subfolders not yet walked) once the walk has met a large tree; undefined when it may not.
   */
  prefetchLater?: { level: string; after: number; start: (starts: [string, Entry][]) => void };
  /** The hard-link groups met this cycle (`--hard-links`). */
  links?: HardLinks;
  /** `--max-delete`: the removals held until the walk is over (see held.ts). */
  held?: HeldRemovals;
  /** Directory fix-ups waiting for their copies. */
  pending: Set<Promise<void>>;
  /** Relative paths of the pool copies under way (reported if abandoned). */
  copying: Set<string>;
  /** Copies set aside until their files have settled: each runs once due, while the walk goes on. */
  settle: SetAside;
  /** `--one-file-system`: the source root's device; folders on another are not entered. */
  sourceDev?: number;
  stats: SyncStats;
  lastYield: number;
}
