/**
 * The folder handles of the native engine: each root's, and a small cache of
 * the folders below, each opened from its root without following a link and
 * checked to be the folder seen; pins for the copy workers' jobs. Needs `--allow-ffi`.
 *
 * @module
 */
import type { Folder, Side } from "../types.ts";
import * as c from "./libc.ts";
import { FOLDER, openBeneath, READABLE_FOLDER } from "./beneath.ts";
import { encodeName } from "./names.ts";
import { compare, toEntry } from "./entry.ts";

/** Folder handles kept open: enough for a walk's current branch and its neighbours. */
const CACHE_MAX = 32;

/**
 * The handles of one engine. A handle is readable (it lists its folder, and
 * takes `fchmod` and `futimens`) unless the folder may not be read: then it is
 * an `O_PATH` handle.
 *
 * @example Usage
 * ```ts
 * import { FolderHandles } from "./handles.ts";
 * const handles = new FolderHandles((side) => side === "source" ? "/src" : "/dst");
 * handles.close();
 * ```
 */
export class FolderHandles {
  readonly #rootPath: (side: Side) => string;
  #roots = new Map<Side, number>();
  #folders = new Map<string, number>();
  /** Readable handles not listed yet (at offset 0). */
  #unlisted = new Set<number>();
  /** `O_PATH` handles (folders that may not be read). */
  #pathOnly = new Set<number>();
  /** Handles a copy worker's job holds: how many jobs, and whether they are to be closed after. */
  #pins = new Map<number, { count: number; closed: boolean }>();
  /** The folder last asked for, and its handle: most calls ask for the same one again. */
  #last: Folder | undefined;
  #lastFd = -1;
  #lastIno = 0;
  #lastDev = 0;

  /** @param rootPath Each root's absolute path (it may be a link to a folder). */
  constructor(rootPath: (side: Side) => string) {
    this.#rootPath = rootPath;
  }

  /** Closes every handle not pinned; pinned ones close on their last unpin. */
  close(): void {
    for (const fd of this.#folders.values()) this.#release(fd);
    for (const fd of this.#roots.values()) this.#release(fd);
    this.#folders.clear();
    this.#roots.clear();
    this.#unlisted.clear();
    this.#last = undefined;
  }

  /**
   * A root's handle, its link followed (the user may give a root as a link), opened once.
   *
   * @param side Which root.
   * @returns Its handle.
   */
  root(side: Side): number {
    let fd = this.#roots.get(side);
    if (fd === undefined) {
      const path = this.#rootPath(side);
      fd = this.#open((flags) => c.openat(c.AT.FDCWD, encodeName(path), flags, 0, path));
      this.#roots.set(side, fd);
    }
    return fd;
  }

  /**
   * The handle of a folder, checked to be the folder seen when opened. Valid
   * until the next call that may open another folder (the cache is small), or
   * while pinned.
   *
   * @param dir The folder.
   * @returns Its handle.
   * @throws {ChangedError} When it is not the folder seen (a link in its path, another folder).
   */
  get(dir: Folder): number {
    if (dir === this.#last && dir.seen.ino === this.#lastIno && dir.seen.dev === this.#lastDev) {
      return this.#lastFd;
    }
    const fd = this.#get(dir);
    this.#last = dir;
    this.#lastFd = fd;
    this.#lastIno = dir.seen.ino;
    this.#lastDev = dir.seen.dev;
    return fd;
  }

  #get(dir: Folder): number {
    if (dir.rel === "") {
      const fd = this.root(dir.side);
      verify(fd, dir);
      return fd;
    }
    const key = `${dir.side}\0${dir.rel}\0${dir.seen.dev}:${dir.seen.ino}`;
    const held = this.#folders.get(key);
    if (held !== undefined) {
      this.#folders.delete(key);
      this.#folders.set(key, held);
      return held;
    }
    const root = this.root(dir.side);
    const fd = this.#open((flags) => openBeneath(root, dir, flags));
    try {
      verify(fd, dir);
    } catch (error) {
      this.#forget(fd);
      c.close(fd);
      throw error;
    }
    this.#folders.set(key, fd);
    if (this.#folders.size > CACHE_MAX) {
      const [oldest, old] = this.#folders.entries().next().value!;
      this.#folders.delete(oldest);
      this.#forget(old);
      this.#release(old);
    }
    return fd;
  }

  /** Opens readable where the folder may be read, else as a path handle. */
  #open(open: (flags: number) => number): number {
    try {
      const fd = open(READABLE_FOLDER);
      this.#unlisted.add(fd);
      return fd;
    } catch (error) {
      if ((error as c.ErrnoError).code !== "EACCES") throw error;
    }
    const fd = open(FOLDER);
    this.#pathOnly.add(fd);
    return fd;
  }

  /**
   * True once for a readable handle not listed yet: the caller lists it from offset 0.
   *
   * @param fd The handle.
   * @returns Whether the caller may read the handle itself.
   */
  takeUnlisted(fd: number): boolean {
    return this.#unlisted.delete(fd);
  }

  /**
   * Whether a handle is an `O_PATH` one (it takes chmod and utimes only through /proc).
   *
   * @param fd The handle.
   * @returns True for a path handle.
   */
  pathOnly(fd: number): boolean {
    return this.#pathOnly.has(fd);
  }

  /**
   * A folder's handle (see {@linkcode FolderHandles.get}) kept open, even when the cache
   * lets it go or `close()` is called, until as many {@linkcode FolderHandles.unpin} calls:
   * a copy worker's job holds its number.
   *
   * @param dir The folder.
   * @returns Its handle.
   */
  pin(dir: Folder): number {
    const fd = this.get(dir);
    const pin = this.#pins.get(fd);
    if (pin) pin.count++;
    else this.#pins.set(fd, { count: 1, closed: false });
    return fd;
  }

  /**
   * Ends one pin of a handle; closes it if it was let go meanwhile and no pin is left.
   *
   * @param fd The handle.
   */
  unpin(fd: number): void {
    const pin = this.#pins.get(fd);
    if (!pin || --pin.count > 0) return;
    this.#pins.delete(fd);
    if (pin.closed) c.close(fd);
  }

  /** The cache lets a handle go: it is no longer anyone's folder. */
  #forget(fd: number): void {
    this.#unlisted.delete(fd);
    this.#pathOnly.delete(fd);
    if (fd === this.#lastFd) this.#last = undefined;
  }

  /** Closes a handle the engine lets go of, or leaves that to the last `unpin`. */
  #release(fd: number): void {
    this.#forget(fd);
    const pin = this.#pins.get(fd);
    if (pin) pin.closed = true;
    else c.close(fd);
  }
}

/** A folder handle must be the folder seen. */
function verify(fd: number, dir: Folder): void {
  compare(dir.abs, toEntry("", c.fstatx(fd, dir.abs)), dir.seen);
}
