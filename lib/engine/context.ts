/**
 * What apply and the walk work on: the cycle's state (ApplyContext, WalkContext) and a
 * replica folder as the walk knows it (DirRef); types only, no permissions needed.
 *
 * @module
 */
import type { Entry, SyncEvent, SyncStats } from "./types.ts";
import type { DirHandle } from "./in_dir.ts";
import type { Backup } from "./backup.ts";
import type { Pool } from "../speed/pool.ts";
import type { DeleteBudget } from "./remove.ts";
import type { HeldRemovals } from "./held.ts";
import type { HardLinks } from "./hard_links.ts";
import type { SourceLister } from "../speed/prefetch.ts";
import type { SetAside } from "../speed/set_aside.ts";

/** A replica directory as the walk knows it. */
export interface DirRef extends DirHandle {
  /** Relative to the roots ("" for the root). */
  rel: string;
  /** Absolute path. */
  abs: string;
  /** What the scan (or our own mkdir) saw: kind, dev, ino, mode. */
  seen: Entry;
  /** The replica root (given by the user, it may be a link to a directory). */
  root: boolean;
  /** Set once its mode was widened so that its contents can change. */
  loosened?: boolean;
  /** Its parent (undefined for the directory a walk starts from). */
  parent?: DirRef;
}

/** What apply needs from the cycle. */
export interface ApplyContext {
  /** The source root, absolute. */
  source: string;
  /** The replica root, absolute. */
  replica: string;
  /** Report only; change nothing. */
  dryRun: boolean;
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
  /** Temporary paths of the copies under way (for the progress line and for abandoning them). */
  inflight: Set<string>;
  /** Bounds the copies running at once. */
  pool: Pool;
  /** Whether small copies may go to the worker threads once many were made. */
  copyWorkers: boolean;
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
  lister: SourceLister;
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
