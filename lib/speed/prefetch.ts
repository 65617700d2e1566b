/**
 * Listing the source on a second core: a worker walks the source tree ahead
 * of the sync (depth first, in the march's order) while the main thread lists
 * the replica and applies the plan. A no-change cycle is nearly all `lstat`
 * and `readdir` calls, so splitting the two sides over two threads is what
 * brings it under rsync's time (rsync also runs its sender and receiver as two
 * processes). Flow control keeps the worker at most a window of entries
 * ahead, so memory still grows with directory width, not tree size.
 *
 * @module
 */
import type { DirListing } from "../engine/list_dir.ts";
import type { Entry } from "../engine/types.ts";
import { type ErrorInfo, reviveError } from "../engine/errors.ts";

/** Messages to the worker. */
export type ScanRequest =
  | {
    type: "start";
    id: number;
    root: string;
    /** The folders to walk, in march order, each with what the caller saw of it (native). */
    starts: [string, Entry | undefined][];
    exclude: string[];
    window: number;
    /** `--one-file-system`: folders on another device than this are not walked. */
    dev?: number;
    /** List through the native engine (folder handles, names as bytes, nanosecond times). */
    native?: boolean;
  }
  | { type: "credit"; id: number; count: number }
  | { type: "stop"; id: number };

/** Messages from the worker. */
export type ScanReply =
  | {
    id: number;
    rel: string;
    entries: PackedEntries;
    problems: { name: string; message: string; error?: ErrorInfo }[];
    /** Native: the device and inode of the folder the worker listed. */
    dir?: [number, number];
    done?: undefined;
    error?: undefined;
  }
  | { id: number; rel: string; error: ErrorInfo; done?: undefined; entries?: undefined }
  | { id: number; done: true; rel?: undefined; error?: undefined; entries?: undefined };

/**
 * A listing's entries packed for `postMessage`: structured cloning an array of
 * objects cost more than the `lstat` calls it was meant to take off the main
 * thread; one string of names and one transferred number array clone fast.
 */
export interface PackedEntries {
  /** Names joined by NUL (which no name contains). */
  names: string;
  /** Symlink targets, in entry order, joined by NUL. */
  targets: string;
  /** Per entry: kind code, size, mtimeMs, atimeMs, mode, dev, ino, uid, gid, blocks, nlink. */
  numbers: Float64Array;
  /** Native entries: mtimeNs and atimeNs per entry. */
  times?: BigInt64Array;
}

const KINDS: Entry["kind"][] = ["file", "dir", "symlink", "other"];
/** Added to the kind code of a mount root (see `Entry.mountRoot`). */
const MOUNT_ROOT = 8;
const FIELDS = 11;

/**
 * Packs entries for `postMessage` (see {@linkcode PackedEntries}).
 *
 * @example Usage
 * ```ts
 * import { packEntries, unpackEntries } from "./prefetch.ts";
 * unpackEntries(packEntries([])); // []
 * ```
 *
 * @param entries The entries.
 * @returns The packed form; transfer `numbers.buffer`.
 */
export function packEntries(entries: readonly Entry[]): PackedEntries {
  const numbers = new Float64Array(entries.length * FIELDS);
  const times = entries[0]?.mtimeNs === undefined
    ? undefined
    : new BigInt64Array(entries.length * 2);
  const names: string[] = [];
  const targets: string[] = [];
  for (let i = 0, o = 0; i < entries.length; i++, o += FIELDS) {
    const e = entries[i];
    names.push(e.name);
    if (e.kind === "symlink") targets.push(e.target ?? "");
    if (times) {
      times[2 * i] = e.mtimeNs!;
      times[2 * i + 1] = e.atimeNs!;
    }
    numbers[o] = KINDS.indexOf(e.kind) + (e.mountRoot ? MOUNT_ROOT : 0);
    numbers[o + 1] = e.size;
    numbers[o + 2] = e.mtimeMs;
    numbers[o + 3] = e.atimeMs;
    numbers[o + 4] = e.mode;
    numbers[o + 5] = e.dev;
    numbers[o + 6] = e.ino;
    numbers[o + 7] = e.uid;
    numbers[o + 8] = e.gid;
    numbers[o + 9] = e.blocks;
    numbers[o + 10] = e.nlink;
  }
  return { names: names.join("\0"), targets: targets.join("\0"), numbers, times };
}

/**
 * Unpacks what {@linkcode packEntries} made.
 *
 * @example Usage
 * ```ts
 * import { packEntries, unpackEntries } from "./prefetch.ts";
 * unpackEntries(packEntries([])); // []
 * ```
 *
 * @param packed The packed entries.
 * @returns The entries, in the same order.
 */
export function unpackEntries(packed: PackedEntries): Entry[] {
  const n = packed.numbers.length / FIELDS;
  if (n === 0) return [];
  const names = packed.names.split("\0");
  const targets = packed.targets === "" ? [] : packed.targets.split("\0");
  const entries: Entry[] = new Array(n);
  let t = 0;
  const v = packed.numbers;
  const times = packed.times;
  for (let i = 0, o = 0; i < n; i++, o += FIELDS) {
    const kind = KINDS[v[o] & (MOUNT_ROOT - 1)];
    const entry: Entry = {
      name: names[i],
      kind,
      size: v[o + 1],
      mtimeMs: v[o + 2],
      atimeMs: v[o + 3],
      mode: v[o + 4],
      dev: v[o + 5],
      ino: v[o + 6],
      uid: v[o + 7],
      gid: v[o + 8],
      blocks: v[o + 9],
      nlink: v[o + 10],
    };
    if (kind === "symlink") entry.target = targets[t++];
    if (times) {
      entry.mtimeNs = times[2 * i];
      entry.atimeNs = times[2 * i + 1];
    }
    if (v[o] >= MOUNT_ROOT) entry.mountRoot = true;
    entries[i] = entry;
  }
  return entries;
}

/** The source listings the worker made, handed out in march order. */
export type SourceLister = {
  /**
   * The listing of `rel`, or undefined when the caller must list it itself: the worker
   * could not (an error, which the caller's own listing reports), was not asked to, has
   * failed, or (native) listed another folder than `seen`. Asked for in depth-first
   * march order.
   */
  list(rel: string, seen?: Entry): Promise<DirListing | undefined>;
  /** Ends this walk (the worker stays for the next cycle). */
  close(): void;
};

const WORKER_URL = new URL("./scan_worker.ts", import.meta.url);
/** The worker imports its siblings, so it needs read access to all of lib/. */
const LIB_URL = new URL("../", import.meta.url);

/**
 * The source prefetch of one run: its worker, started on first use and kept
 * for later cycles until {@linkcode Prefetcher.close}.
 *
 * @example Usage
 * ```ts
 * import { Prefetcher } from "./prefetch.ts";
 * using prefetcher = new Prefetcher();
 * const lister = prefetcher.source("lib", [["", undefined]], []);
 * const root = await lister?.list(""); // undefined: list it yourself
 * lister?.close();
 * ```
 */
export class Prefetcher implements Disposable {
  #worker: Worker | undefined;
  #broken = false;
  #nextId = 1;
  #inbox: ((replies: ScanReply[] | undefined) => void) | undefined;

  #getWorker(): Worker | undefined {
    if (this.#broken) return undefined;
    if (!this.#worker) {
      // Loading the worker's modules needs read access to them; with permissions
      // narrowed to the source, replica and log, scan on this thread instead.
      if (
        WORKER_URL.protocol === "file:" &&
        Deno.permissions.querySync({ name: "read", path: LIB_URL }).state !== "granted"
      ) {
        this.#broken = true;
        return undefined;
      }
      const worker = new Worker(WORKER_URL.href, { type: "module" });
      worker.onmessage = (event: MessageEvent<ScanReply[]>) => this.#inbox?.(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#broken = true;
        this.#inbox?.(undefined);
      };
      this.#worker = worker;
    }
    return this.#worker;
  }

  /**
   * Starts listing the source from `starts` on the worker and returns a lister
   * that hands the listings out in march order. Listings the sync does not ask
   * for (subtrees it skipped) are dropped as it moves past them. If the worker
   * cannot be started, the lister reads on the calling thread instead. One
   * lister at a time: a new one ends the last.
   *
   * @param root The source root.
   * @param starts The folders to walk, relative ("" for the root), in march order, with what
   *   the caller saw of each (the native worker opens and checks them): the lister answers for
   *   these and the folders below them only.
   * @param exclude The filter rules (see exclude.ts; excluded directories are not walked).
   * @param window How far the worker may run ahead, in entries (each listing
   *   counts its entries plus one), so memory stays bounded whatever the
   *   directories' width.
   * @param dev `--one-file-system`: the source root's device; folders on another are not walked.
   * @param native List through the native engine (needs `--allow-ffi`); each listing then
   *   names the folder listed, which must be the one the caller saw.
   * @returns The lister, or undefined when the worker cannot be started.
   */
  source(
    root: string,
    starts: [string, Entry | undefined][],
    exclude: string[],
    window = 4096,
    dev?: number,
    native = false,
  ): SourceLister | undefined {
    let w: Worker | undefined;
    try {
      w = this.#getWorker();
    } catch {
      this.#broken = true;
    }
    if (!w) return undefined;
    const id = this.#nextId++;
    const queue: ScanReply[] = [];
    let waiting: (() => void) | undefined;
    let done = false;
    let consumed = 0;
    const batch = Math.max(1, window >> 3); // Credit back in batches, within the window.
    this.#inbox = (replies) => {
      if (replies === undefined) done = true; // The worker failed: read here from now on.
      else if (replies[0]?.id === id) queue.push(...replies);
      else return;
      waiting?.();
    };
    w.postMessage(
      { type: "start", id, root, starts, exclude, window, dev, native } satisfies ScanRequest,
    );
    return {
      list: async (rel: string, seen?: Entry): Promise<DirListing | undefined> => {
        if (!starts.some(([s]) => s === "" || rel === s || rel.startsWith(s + "/"))) {
          return undefined; // Not one the worker walks.
        }
        while (!done) {
          while (queue.length === 0 && !done) await new Promise<void>((r) => (waiting = r));
          waiting = undefined;
          if (queue.length === 0) break;
          const reply = queue.shift()!;
          consumed += 1 + (reply.entries ? reply.entries.numbers.length / FIELDS : 0);
          if (consumed >= batch) {
            w!.postMessage({ type: "credit", id, count: consumed } satisfies ScanRequest);
            consumed = 0;
          }
          if (reply.done) {
            done = true;
            break;
          }
          if (reply.rel !== rel) continue; // A subtree the sync skipped.
          if (reply.error) return undefined;
          const dir = reply.dir;
          if (dir && (seen === undefined || dir[0] !== seen.dev || dir[1] !== seen.ino)) {
            return undefined;
          }
          return {
            entries: unpackEntries(reply.entries),
            problems: reply.problems.map((p) => ({
              name: p.name,
              message: p.message,
              error: p.error && reviveError(p.error),
            })),
          };
        }
        return undefined; // Asked out of order.
      },
      close: () => {
        if (!done && !this.#broken) w!.postMessage({ type: "stop", id } satisfies ScanRequest);
        if (this.#inbox && queue) this.#inbox = undefined;
      },
    };
  }

  /** Stops the worker, if one was started. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#inbox = undefined;
  }

  /** Same as {@linkcode Prefetcher.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
