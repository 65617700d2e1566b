/**
 * Reporting for the engine: paths as the log shows them, failures, skips and refusals as
 * events (see `ApplyContext` for the fields used); needs no permissions.
 *
 * @module
 */
import type { Entry, EntryKind, SyncEvent } from "./types.ts";
import { explain } from "./errors.ts";
import { itemizeCode, type ItemUpdate } from "./itemize.ts";

/** Where events go. */
interface Emits {
  /** Receives every event. */
  emit: (event: SyncEvent) => void;
}

const CHANGED = "changed during the run; retried next cycle";
const BIND = "is the source or replica itself (or holds it), reached through a bind mount or " +
  "a second path: refused (remove the mount or --exclude it)";

/**
 * Shows a relative path as the log does ("." for the root).
 *
 * @example Usage
 * ```ts
 * import { shown } from "./report.ts";
 * shown(""); // "."
 * ```
 *
 * @param rel The path.
 * @returns The text.
 */
export function shown(rel: string): string {
  return rel === "" ? "." : rel;
}

/**
 * Gives a change event its rsync code when the cycle itemizes changes
 * (`--itemize-changes`); leaves it as it is otherwise.
 *
 * @example Usage
 * ```ts
 * import { coded } from "./report.ts";
 * // ctx.emit(coded(ctx, { action: "copy", path: "a", kind: "file" }, ">", "+"));
 * ```
 *
 * @param ctx The cycle.
 * @param event The event.
 * @param update What is done (see itemize.ts); undefined where rsync prints no line.
 * @param changes What differs (see itemize.ts).
 * @returns The event.
 */
export function coded(
  ctx: { itemize?: boolean },
  event: SyncEvent,
  update: ItemUpdate | undefined,
  changes = "",
): SyncEvent {
  if (ctx.itemize) event.itemize = update ? itemizeCode(update, event.kind, changes) : "";
  return event;
}

/**
 * Reports a failure on a path as one event: a target that changed during the
 * run is a warning (skip), anything else an error with a hint.
 *
 * @example Usage
 * ```ts
 * import { fail } from "./report.ts";
 * // fail(ctx, "a/b", "file", "cannot copy", error);
 * ```
 *
 * @param ctx The cycle.
 * @param rel The path.
 * @param kind Its kind.
 * @param what What was being done.
 * @param error What was thrown.
 */
export function fail(
  ctx: Emits,
  rel: string,
  kind: EntryKind,
  what: string,
  error: unknown,
): void {
  if ((error as Error | undefined)?.name === "ChangedError") {
    ctx.emit({ action: "skip", path: shown(rel), kind, detail: `${what}: ${CHANGED}` });
    return;
  }
  const { reason, hint } = explain(error);
  ctx.emit({ action: "error", path: shown(rel), kind, detail: `${what}: ${reason}`, hint });
}

/**
 * Reports an entry left alone, as a warning the first time this process
 * sees it and at debug level after that.
 *
 * @example Usage
 * ```ts
 * import { skip } from "./report.ts";
 * // skip(ctx, "fifo", "other", "not a regular file");
 * ```
 *
 * @param ctx The cycle.
 * @param rel The path.
 * @param kind Its kind.
 * @param why Why.
 */
export function skip(
  ctx: Emits & { warned: Set<string> },
  rel: string,
  kind: EntryKind,
  why: string,
): void {
  const key = `${rel}\0${why}`;
  const repeat = ctx.warned.has(key);
  if (!repeat) ctx.warned.add(key);
  ctx.emit({ action: "skip", path: shown(rel), kind, detail: why, repeat });
}

/**
 * Tells whether a directory is one of the roots or their ancestors (a bind
 * mount or second path met during the walk), reporting it when so.
 *
 * @example Usage
 * ```ts
 * import { refusedDir } from "./report.ts";
 * // if (refusedDir(ctx, "mnt", entry, "source")) return;
 * ```
 *
 * @param ctx The cycle.
 * @param rel The directory.
 * @param entry It, as scanned.
 * @param side Which tree it is in.
 * @returns True when it must not be entered.
 */
export function refusedDir(
  ctx: Emits & { forbidden: ReadonlySet<string> },
  rel: string,
  entry: Entry,
  side: "source" | "replica",
): boolean {
  if (!ctx.forbidden.has(`${entry.dev}:${entry.ino}`)) return false;
  ctx.emit({
    action: "error",
    path: shown(rel),
    kind: "dir",
    detail: `${side} directory ${BIND}`,
    hint: "nothing under it was touched",
  });
  return true;
}

/** `--one-file-system`: what the log says of a mount point in the replica. */
const REPLICA_MOUNT = "another filesystem is mounted here in the replica (--one-file-system): " +
  "left alone, with its contents";

/**
 * `--one-file-system`: tells whether a replica directory lies on another
 * filesystem than the replica root (a mount point), reporting it when so
 * (a warning once per process, as every skip). It is neither entered nor
 * removed.
 *
 * @example Usage
 * ```ts
 * import { mountedReplica } from "./report.ts";
 * // if (mountedReplica(ctx, "mnt", entry)) return;
 * ```
 *
 * @param ctx The cycle.
 * @param rel The directory.
 * @param entry It, as scanned.
 * @returns True when it must be left alone.
 */
export function mountedReplica(
  ctx: Emits & { warned: Set<string>; replicaDev?: number },
  rel: string,
  entry: Entry,
): boolean {
  if (ctx.replicaDev === undefined || entry.kind !== "dir" || entry.dev === ctx.replicaDev) {
    return false;
  }
  skip(ctx, rel, "dir", REPLICA_MOUNT);
  return true;
}
