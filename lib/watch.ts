/**
 * `--watch`: turns filesystem events on the source into batches of
 * directories to sync, once the changes settle.
 *
 * @module
 */
import { resolve } from "node:path";

/** The watcher could not be set up; the message is one line and names the fix. */
export class WatchError extends Error {
  /**
   * @param source The source directory.
   * @param cause Why `Deno.watchFs` failed.
   */
  constructor(source: string, cause: unknown) {
    const reason = (cause instanceof Error ? cause.message : String(cause))
      .replace(/\s*\(os error \d+\)/, "").replace(/\.? about \[.*\]$/s, "");
    const hint = /limit|no space left/i.test(reason)
      ? "inotify needs one watch per directory: raise the sysctl fs.inotify.max_user_watches"
      : /too many open files/i.test(reason)
      ? "raise the sysctl fs.inotify.max_user_instances"
      : "check the source";
    super(`cannot watch '${source}' for changes (${reason}): ${hint}; syncing every interval only`);
    this.name = "WatchError";
  }
}

/** What the loop should sync next. */
export interface WatchBatch {
  /** Directories (relative, `/`-separated, "" for the root) to sync shallow. */
  dirs: string[];
  /**
   * Directories to sync whole, when there are any: created or moved in since
   * they were watched. What such a folder holds raised no events of its own,
   * and the shallow sync of its parent does not go into a folder both sides have.
   */
  whole?: string[];
  /** Set when the whole tree must be synced instead, saying why. */
  full?: string;
}

/** A running watcher. */
export interface SourceWatch {
  /** True when changes are waiting and have settled. */
  readonly ready: boolean;
  /** Takes the settled batch (empty when none) and starts collecting afresh. */
  take(): WatchBatch;
  /** Forgets what was collected (a full sync is about to cover it). */
  clear(): void;
  /** Stops watching. */
  close(): void;
}

/** The part of `Deno.FsWatcher` the watcher uses (tests pass a fake). */
export interface EventSource extends AsyncIterable<Deno.FsEvent> {
  /** Stops the events. */
  close(): void;
}

/** Options of {@linkcode watchSource}. */
export interface WatchOptions {
  /** The source directory. */
  source: string;
  /** Excluded paths: events at or under them are ignored. */
  excluded?: (relPath: string, isDir?: boolean) => boolean;
  /** Quiet time after the last event before a batch is ready (default 200 ms). */
  debounceMs?: number;
  /** Longest wait after the first event of a batch, when events never stop (default 5 debounces, at least 1 s). */
  maxWaitMs?: number;
  /** More directories than this in one batch: sync the whole tree instead (default 500). */
  maxDirs?: number;
  /** Called when a batch becomes ready. */
  onReady?: () => void;
  /** Called with a one-line message when the watcher fails and is restarted (or given up). */
  onProblem?: (message: string) => void;
  /** Opens the event stream (default: a recursive `Deno.watchFs`). */
  open?: (path: string) => EventSource;
}

const MAX_RESTARTS = 5;

const defaultOpen = (path: string): EventSource => Deno.watchFs(path, { recursive: true });

/**
 * Watches the source recursively and collects the directories that changed:
 * the parent of each event's path (and a directory whose own attributes
 * changed; and, to sync whole, a directory created or moved in), minus
 * excluded paths. A batch becomes ready `debounceMs` after the last event;
 * events that arrive later go into the next batch. An
 * overflow of the kernel's queue, a watcher error, or a batch of more than
 * `maxDirs` directories makes the batch a full sync.
 *
 * @example Usage
 * ```ts
 * import { watchSource } from "./watch.ts";
 * const watch = watchSource({ source: ".", onReady: () => console.log(watch.take()) });
 * watch.close();
 * ```
 *
 * @param options What to watch and how.
 * @returns The running watcher.
 * @throws {WatchError} When the watcher cannot be created (e.g. the inotify watch limit).
 */
export function watchSource(options: WatchOptions): SourceWatch {
  const open = options.open ?? defaultOpen;
  const excluded = options.excluded ?? (() => false);
  const debounceMs = options.debounceMs ?? 200;
  const maxWaitMs = options.maxWaitMs ?? Math.max(1000, 5 * debounceMs);
  const maxDirs = options.maxDirs ?? 500;
  const roots = new Set([resolve(options.source).replace(/(.)\/+$/, "$1")]);
  try {
    roots.add(Deno.realPathSync(options.source));
  } catch {
    // The resolved path alone will do; the cycle's checks report a missing source.
  }

  let events: EventSource;
  try {
    events = open(options.source);
  } catch (error) {
    throw new WatchError(options.source, error);
  }

  let dirs = new Set<string>();
  let whole = new Set<string>();
  let full: string | undefined;
  let ready = false;
  let first = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let restarts = 0;

  const settle = () => {
    timer = undefined;
    ready = true;
    options.onReady?.();
  };
  const isEmpty = () => dirs.size === 0 && full === undefined;
  const touched = (wasEmpty: boolean) => {
    ready = false;
    const now = performance.now();
    if (wasEmpty) first = now;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(settle, Math.max(0, Math.min(debounceMs, first + maxWaitMs - now)));
  };
  const fullSync = (why: string) => {
    const wasEmpty = isEmpty();
    full ??= why;
    touched(wasEmpty);
  };

  const relative = (path: string): string | undefined => {
    for (const root of roots) {
      if (path === root) return "";
      if (path.startsWith(root + "/")) return path.slice(root.length + 1);
    }
    return undefined;
  };
  const isExcluded = (rel: string): boolean => {
    for (let i = rel.indexOf("/"); i >= 0; i = rel.indexOf("/", i + 1)) {
      if (excluded(rel.slice(0, i), true)) return true;
    }
    return rel !== "" && excluded(rel); // Of unknown kind: out only if out either way.
  };
  const onEvent = (event: Deno.FsEvent) => {
    if (event.flag === "rescan") return fullSync("the watcher's event queue overflowed");
    const wasEmpty = isEmpty();
    let added = false;
    for (const path of event.paths) {
      const rel = relative(path);
      if (rel === undefined) continue;
      if (isExcluded(rel)) continue;
      const slash = rel.lastIndexOf("/");
      dirs.add(rel === "" ? "" : slash < 0 ? "" : rel.slice(0, slash));
      if (event.kind === "modify" && rel !== "") {
        // A directory's own mode or mtime changed: syncing it sets them.
        try {
          if (Deno.lstatSync(path).isDirectory && !excluded(rel, true)) dirs.add(rel);
        } catch {
          // Gone already: its parent is in the batch.
        }
      }
      if ((event.kind === "create" || event.kind === "rename") && rel !== "") {
        try {
          if (Deno.lstatSync(path).isDirectory) whole.add(rel);
        } catch {
          // Gone already: its parent is in the batch.
        }
      }
      added = true;
    }
    if (added) touched(wasEmpty);
  };

  const pump = async (stream: EventSource): Promise<void> => {
    try {
      for await (const event of stream) {
        if (closed) return;
        onEvent(event);
      }
    } catch (error) {
      if (closed) return;
      const reason = error instanceof Error ? error.message : String(error);
      fullSync(`the watcher failed: ${reason}`);
      options.onProblem?.(`watcher failed (${reason}): restarting it`);
    }
    if (closed) return;
    // The stream ended or failed: open a new one (a few times), or stay in periodic mode.
    if (++restarts > MAX_RESTARTS) {
      options.onProblem?.(`watcher stopped ${restarts} times: syncing every interval only`);
      return;
    }
    try {
      events = open(options.source);
    } catch (error) {
      options.onProblem?.(new WatchError(options.source, error).message);
      return;
    }
    fullSync("the watcher was restarted");
    pump(events);
  };
  pump(events);

  return {
    get ready() {
      return ready;
    },
    take() {
      const count = whole.size === 0 ? dirs.size : new Set([...dirs, ...whole]).size;
      const batch: WatchBatch = full !== undefined
        ? { dirs: [], full }
        : count > maxDirs
        ? { dirs: [], full: `${count} directories changed at once (more than ${maxDirs})` }
        : whole.size > 0
        ? { dirs: [...dirs].sort(), whole: [...whole].sort() }
        : { dirs: [...dirs].sort() };
      this.clear();
      return batch;
    },
    clear() {
      dirs = new Set();
      whole = new Set();
      full = undefined;
      ready = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    close() {
      if (closed) return;
      closed = true;
      this.clear();
      try {
        events.close();
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    },
  };
}
