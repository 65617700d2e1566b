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
  /** True when the watcher has already said why (through `onProblem`). */
  said?: boolean;
}

/** A running watcher. */
export interface SourceWatch {
  /** True when changes are waiting and have settled. */
  readonly ready: boolean;
  /** Takes the settled batch (empty when none) and starts collecting afresh. */
  take(): WatchBatch;
  /**
   * Forgets what was collected (a full sync is about to cover it), and checks
   * that the folder watched is still the source's (see {@linkcode watchSource}).
   */
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
  /**
   * How many events the kernel queues for the watcher (default: read from
   * {@linkcode QUEUE_SYSCTL} when Deno allows it, which takes --allow-all;
   * else the kernel's default, 16384).
   */
  maxQueuedEvents?: number;
}

const MAX_RESTARTS = 5;

/** The kernel's limit on queued inotify events, read when an inotify instance is made. */
export const QUEUE_SYSCTL = "/proc/sys/fs/inotify/max_queued_events";
/** The kernel's default for {@linkcode QUEUE_SYSCTL}: assumed when it cannot be read, never a lower guess. */
const DEFAULT_QUEUED_EVENTS = 16384;
/** How often a source folder that is gone is looked for again. */
const GONE_POLL_MS = 1000;
/** A timer this late means the process was stopped or starved of CPU (it ticks 4 times as often). */
const STALL_MS = 2000;

/**
 * {@linkcode QUEUE_SYSCTL}, or undefined when it cannot be read: Deno reads
 * /proc only under --allow-all.
 */
function kernelQueueLength(): number | undefined {
  try {
    if (Deno.permissions.querySync({ name: "read", path: QUEUE_SYSCTL }).state === "granted") {
      const value = Number(Deno.readTextFileSync(QUEUE_SYSCTL).trim());
      if (Number.isInteger(value) && value > 0) return value;
    }
  } catch {
    // NotCapable (no --allow-all), or no /proc.
  }
  return undefined;
}

/**
 * The folder at `path` (links followed) as device, inode and birth time (a
 * folder deleted and made again often gets the same inode), or undefined
 * when there is none.
 */
function folderIdentity(path: string): string | undefined {
  try {
    const info = Deno.statSync(path);
    return info.isDirectory ? `${info.dev}:${info.ino}:${info.birthtime?.getTime()}` : undefined;
  } catch {
    return undefined;
  }
}

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
 * Deno drops the kernel's overflow notice (it names no path), so an overflow
 * is inferred, two ways. The kernel queue held `maxQueuedEvents` events when
 * it overflowed, and all of them are delivered, back to back: a burst (no
 * pause of a debounce, nor of a second) of half that many events makes a
 * full sync (half, since events Deno does not pass on, such as each open of a
 * file, fill the queue too). And events that queued while the process was
 * held up (stopped, or short of CPU: a timer over `STALL_MS` late) make a
 * full sync too, whatever the queue's length: it is the usual way a queue
 * overflows. A long synchronous call on this thread looks the same, and
 * costs one needless full sync.
 *
 * When the source folder is replaced (moved away, or deleted and made
 * again: seen by an event removing the root, and by its device, inode and
 * birth time, checked on each event at the root and each
 * {@linkcode SourceWatch.clear}), the watcher says so once, watches the new
 * folder (waiting for it while there is none) and makes the batch a full sync.
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
  const source = options.source;
  const roots = new Set([resolve(source).replace(/(.)\/+$/, "$1")]);
  try {
    roots.add(Deno.realPathSync(source));
  } catch {
    // The resolved path alone will do; the cycle's checks report a missing source.
  }
  // Read before the first open: the kernel reads it when the (shared) inotify instance is made.
  const knownQueue = options.maxQueuedEvents ?? kernelQueueLength();
  const maxQueued = knownQueue ?? DEFAULT_QUEUED_EVENTS;
  const burstLimit = Math.max(1, Math.ceil(maxQueued / 2));
  // A pause this long ends a burst: shorter ones can be the loop busy between two deliveries.
  const pauseMs = Math.max(debounceMs, 1000);

  // Taken before the open: a folder swapped in between is then seen as a replacement.
  let rootId = folderIdentity(source);
  let events: EventSource | undefined;
  try {
    events = open(source);
  } catch (error) {
    throw new WatchError(source, error);
  }

  let dirs = new Set<string>();
  let whole = new Set<string>();
  let full: string | undefined;
  let ready = false;
  let first = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let restarts = 0;
  let pumping: Promise<void> = Promise.resolve();
  let burst = 0;
  let lastEvent = -Infinity;
  let lastTick = performance.now();
  let stallEnd = -Infinity;
  let stallMs = 0;
  let replacing = false;
  let goneTimer: ReturnType<typeof setTimeout> | undefined;
  let goneWake: (() => void) | undefined;
  let said = false;

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
          if (Deno.lstatSync(path).isDirectory && !excluded(rel, true)) whole.add(rel);
        } catch {
          // Gone already: its parent is in the batch.
        }
      }
      added = true;
    }
    if (added) touched(wasEmpty);
  };

  // Whether the kernel's queue may have overflowed before this event (see above).
  const mayHaveLost = () => {
    const now = performance.now();
    // Stalled with no tick since, or the tick saw a stall that recently ended (a backlog can
    // take a while to come through on a busy machine).
    if (now - lastTick >= STALL_MS || now - stallEnd < Math.max(pauseMs, stallMs)) {
      const seconds = ((now - lastTick >= STALL_MS ? now - lastTick : stallMs) / 1000).toFixed(1);
      lastTick = now;
      stallEnd = -Infinity;
      fullSync(
        `events may have been lost: foldersync was held up for ${seconds} s (stopped, or short ` +
          "of CPU) while changes queued",
      );
    }
    if (now - lastEvent >= pauseMs) burst = 0;
    lastEvent = now;
    if (++burst < burstLimit) return;
    burst = 0;
    const queue = `sysctl fs.inotify.max_queued_events ${
      knownQueue ? "=" : "taken as"
    } ${maxQueued}`;
    fullSync(
      `events may have been lost: a burst of ${burstLimit} events filled half the kernel's ` +
        `queue (${queue}: raise it if this recurs)`,
    );
  };

  const quietClose = (stream: EventSource | undefined) => {
    try {
      stream?.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  };

  const pump = async (stream: EventSource): Promise<void> => {
    try {
      for await (const event of stream) {
        if (closed || stream !== events) return;
        mayHaveLost();
        onEvent(event);
        // The root itself removed (or moved away): its watch is gone, whatever is there now.
        if (event.paths.some((path) => relative(path) === "")) checkRoot(event.kind === "remove");
      }
    } catch (error) {
      if (closed || stream !== events) return;
      const reason = error instanceof Error ? error.message : String(error);
      fullSync(`the watcher failed: ${reason}`);
      options.onProblem?.(`watcher failed (${reason}): restarting it`);
    }
    if (closed || stream !== events) return;
    // The stream ended or failed: open a new one (a few times), or stay in periodic mode.
    if (++restarts > MAX_RESTARTS) {
      options.onProblem?.(`watcher stopped ${restarts} times: syncing every interval only`);
      return;
    }
    quietClose(stream);
    try {
      events = open(source);
    } catch (error) {
      options.onProblem?.(new WatchError(source, error).message);
      return;
    }
    fullSync("the watcher was restarted");
    pumping = pump(events);
  };

  /** The source folder is no longer the one watched: watch the new one, once there is one. */
  const replace = async () => {
    const old = events;
    events = undefined;
    quietClose(old);
    // Until the old stream is dropped, Deno counts the path as watched and would not watch it anew.
    await pumping;
    while (!closed) {
      const id = folderIdentity(source);
      if (id !== undefined) {
        try {
          events = open(source);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) {
            options.onProblem?.(new WatchError(source, error).message);
            rootId = id; // Said once: tried again only when the folder changes again.
            return;
          }
        }
      }
      if (events !== undefined) {
        rootId = id;
        try {
          roots.add(Deno.realPathSync(source));
        } catch {
          // Gone again: the next event at the root or clear() looks again.
        }
        pumping = pump(events);
        options.onProblem?.(
          `watch: the source folder '${source}' was replaced (moved away, or deleted and made ` +
            "again): watching the new one; syncing the whole tree",
        );
        said ||= full === undefined; // Unless another reason is waiting to be told.
        fullSync("the source folder was replaced");
        return;
      }
      // None yet (moved away, not made again yet): look again in a while.
      await new Promise<void>((resolve) => {
        goneWake = resolve;
        goneTimer = setTimeout(resolve, GONE_POLL_MS);
      });
      goneTimer = goneWake = undefined;
    }
  };
  const checkRoot = (gone = false) => {
    if (closed || replacing || (!gone && folderIdentity(source) === rootId)) return;
    replacing = true;
    replace().finally(() => replacing = false);
  };

  pumping = pump(events);
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - lastTick >= STALL_MS) {
      stallEnd = now;
      stallMs = now - lastTick;
    }
    lastTick = now;
    // The event at the root was seen lost under load (a folder moved away and another made there
    // at once; Deno's filter of event paths looks at them on disk): look at the folder here too.
    checkRoot();
  }, STALL_MS / 4);

  return {
    get ready() {
      return ready;
    },
    take() {
      const count = whole.size === 0 ? dirs.size : new Set([...dirs, ...whole]).size;
      const batch: WatchBatch = full !== undefined
        ? { dirs: [], full, ...(said ? { said } : {}) }
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
      said = false;
      ready = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      checkRoot();
    },
    close() {
      if (closed) return;
      closed = true;
      this.clear();
      clearInterval(ticker);
      if (goneTimer !== undefined) clearTimeout(goneTimer);
      goneWake?.();
      quietClose(events);
    },
  };
}
