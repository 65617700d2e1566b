/**
 * The native engine: the filesystem seam on libc through FFI (Linux), every
 * call relative to a folder handle opened from its root down without following
 * links, so a link swapped in anywhere cannot redirect it. Needs `--allow-ffi`.
 *
 * @module
 */
import type { Entry } from "../../types.ts";
import type {
  At,
  Attrs,
  CopyIn,
  DirListing,
  FileSystem,
  Folder,
  Handoff,
  Made,
  ScanProblem,
  Side,
} from "../types.ts";
import { ChangedError } from "../../recheck.ts";
import { makeTempName } from "../../temp_name.ts";
import { AnchorChangedError } from "../../link_atomic.ts";
import { UnreadableError } from "../../errors.ts";
import * as c from "./libc.ts";
import { FOLDER, openBeneath, READABLE_FOLDER } from "./beneath.ts";
import { FolderHandles } from "./handles.ts";
import { type BackupTarget, checkBackupTarget } from "../../backup.ts";
import { decodeName, encodeName } from "./names.ts";
import { copyIn, type HandleCopy, handOff, INLINE_MAX } from "./copy.ts";
import { checkName, compare, equalFiles, kindOfMode, same, timesOf, toEntry } from "./entry.ts";
import { readXattrs, statWithXattrs, writeXattrs, type Xattrs } from "./xattrs.ts";
import { copyOut, keepOldAt } from "./keep.ts";

/** The roots a cycle works in (absolute paths; each may be a link to a folder). */
export interface Roots {
  /** The source folder. */
  source: string;
  /** The replica folder. */
  replica: string;
  /** The backup folder, `--backup_dir`. */
  backup?: string;
}

const DOT = encodeName(".");
const EMPTY = new Uint8Array([0]);
const dents = new Uint8Array(64 * 1024);
const dentsView = new DataView(dents.buffer);

/**
 * libc behind the seam; `close()` releases the folder handles (the cycle's last call).
 *
 * @example Usage
 * ```ts
 * import { NativeFileSystem } from "./native_fs.ts";
 * const abs = Deno.realPathSync(".");
 * const fs = new NativeFileSystem({ source: abs, replica: "/tmp/replica" });
 * const dir = { side: "source" as const, rel: "", abs, seen: fs.rootEntry("source")!, root: true };
 * fs.list(dir).entries.length > 0; // true
 * fs.close();
 * ```
 */
export class NativeFileSystem implements FileSystem {
  readonly name = "native";
  #roots: Roots;
  #handles: FolderHandles;
  #xattrs: boolean;

  /**
   * @param roots The roots, absolute; opened when first used.
   * @param options `xattrs`: `list` and `lstat` read files' and folders' attributes (`--xattrs`).
   */
  constructor(roots: Roots, options: { xattrs?: boolean } = {}) {
    this.#roots = roots;
    this.#xattrs = options.xattrs ?? false;
    this.#handles = new FolderHandles((side) => this.#rootPath(side));
  }

  /** Closes every handle held (pinned ones when let go); the next call opens what it needs. */
  close(): void {
    this.#handles.close();
  }

  /**
   * A root as it is now (its link followed), or undefined when it is absent.
   *
   * @param side Which root.
   * @returns The folder's entry (named "").
   */
  rootEntry(side: Side): Entry | undefined {
    try {
      return toEntry("", c.fstatx(this.#handles.root(side), this.#rootPath(side)));
    } catch (error) {
      if ((error as c.ErrnoError).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /**
   * The handle of a folder, checked to be the folder seen when opened (see `FolderHandles.get`).
   *
   * @param dir The folder.
   * @returns Its handle.
   * @throws {ChangedError} When it is not the folder seen (a link in its path, another folder).
   */
  handle(dir: Folder): number {
    return this.#handles.get(dir);
  }

  /**
   * A folder's handle kept open until as many {@linkcode NativeFileSystem.unpin} calls: a copy
   * worker's job holds its number (see `FolderHandles.pin`).
   */
  pin(dir: Folder): number {
    return this.#handles.pin(dir);
  }

  /** Ends one pin of a handle. */
  unpin(fd: number): void {
    this.#handles.unpin(fd);
  }

  list(dir: Folder): DirListing {
    const fd = this.handle(dir);
    const names: Uint8Array[] = [];
    const own = this.#handles.takeUnlisted(fd);
    const reader = own ? fd : c.openat(fd, DOT, READABLE_FOLDER, 0, dir.abs);
    try {
      for (let n; (n = c.getdents(reader, dents, dir.abs)) > 0;) {
        // One copy of what was read; each name kept is a view of it (no buffer of its own).
        const chunk = dents.slice(0, n);
        for (let off = 0; off < n; off += dentsView.getUint16(off + 16, true)) {
          let end = off + 19;
          while (dents[end] !== 0) end++;
          const len = end - off - 19;
          if (dents[off + 19] === 0x2e && (len === 1 || (len === 2 && dents[off + 20] === 0x2e))) {
            continue;
          }
          names.push(chunk.subarray(off + 19, end + 1));
        }
      }
    } finally {
      if (!own) c.close(reader);
    }
    const entries: Entry[] = [];
    const problems: ScanProblem[] = [];
    for (const z of names) {
      const name = decodeName(z.subarray(0, z.length - 1));
      const path = dir.abs + "/" + name;
      let entry: Entry;
      try {
        entry = this.#stat(fd, z, name, path);
      } catch (error) {
        if ((error as c.ErrnoError).code === "ENOENT") continue; // vanished since the listing
        problems.push({ name, message: "cannot read its metadata", error });
        continue;
      }
      if (entry.kind === "symlink") {
        try {
          entry.target = decodeName(c.readlinkat(fd, z, path));
        } catch (error) {
          if ((error as c.ErrnoError).code === "ENOENT") continue;
          problems.push({ name, message: "cannot read the link's target", error });
          continue;
        }
      }
      entries.push(entry);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { entries, problems };
  }

  lstat(dir: Folder, name: string): Entry | undefined {
    const fd = this.handle(dir);
    const path = dir.abs + "/" + name;
    try {
      return this.#stat(fd, encodeName(name), name, path);
    } catch (error) {
      if ((error as c.ErrnoError).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /**
   * The mirrored attributes of a file or folder (`"."`: the folder itself), read on a handle;
   * undefined without `--xattrs`.
   */
  xattrs(at: At): Xattrs | undefined {
    if (!this.#xattrs) return undefined;
    const path = pathOf(at);
    if (at.name === ".") return readXattrs(this.handle(at.dir), path);
    return this.#stat(this.handle(at.dir), encodeName(at.name), at.name, path).xattrs;
  }

  /** An entry's metadata (no link followed), with its attributes under `--xattrs`. */
  #stat(fd: number, z: Uint8Array, name: string, path: string): Entry {
    if (this.#xattrs) return statWithXattrs(fd, z, name, path);
    return toEntry(name, c.statx(fd, z, c.AT.SYMLINK_NOFOLLOW, path));
  }

  touch(at: At, times: NonNullable<Attrs["times"]>): Entry {
    const path = pathOf(at);
    const flags = c.O.WRONLY | c.O.CREAT | c.O.EXCL | c.O.NOFOLLOW | c.O.CLOEXEC;
    const fd = c.openat(this.handle(at.dir), encodeName(at.name), flags, 0o600, path);
    try {
      c.futimens(fd, timesOf(times), path);
      return toEntry(at.name, c.fstatx(fd, path));
    } finally {
      c.close(fd);
    }
  }

  check(at: At): Entry | undefined {
    const fd = this.handle(at.dir);
    const path = pathOf(at);
    if (at.name === ".") {
      const entry = toEntry(at.dir.seen.name, c.fstatx(fd, path));
      compare(path, entry, at.seen);
      return entry;
    }
    return checkName(fd, at.name, at.seen, path);
  }

  mkdir(at: At): Entry {
    const fd = this.handle(at.dir);
    const path = pathOf(at);
    const z = encodeName(at.name);
    try {
      c.mkdirat(fd, z, 0o700, path);
    } catch (error) {
      if ((error as c.ErrnoError).code === "EEXIST") this.check({ ...at, seen: undefined });
      throw error;
    }
    return toEntry(at.name, c.statx(fd, z, c.AT.SYMLINK_NOFOLLOW, path));
  }

  setAttrs(at: At, attrs: Attrs): void {
    const fd = this.handle(at.dir);
    const path = pathOf(at);
    const times = attrs.times && timesOf(attrs.times);
    if (at.name !== "." && at.seen?.kind === "symlink") {
      // A link's own owner and times, by name: AT_SYMLINK_NOFOLLOW cannot leave the folder.
      this.check(at);
      const z = encodeName(at.name);
      const nofollow = c.AT.SYMLINK_NOFOLLOW;
      if (attrs.owner) c.fchownat(fd, z, attrs.owner.uid, attrs.owner.gid, nofollow, path);
      if (times) c.utimensat(fd, z, times, nofollow, path);
      return;
    }
    // Everything else through a handle on the entry itself, checked to be the one seen.
    const own = at.name === "."
      ? fd
      : c.openat(fd, encodeName(at.name), c.O.PATH | c.O.NOFOLLOW | c.O.CLOEXEC, 0, path);
    try {
      if (own !== fd) compare(path, toEntry(at.name, c.fstatx(own, path)), at.seen);
      if (attrs.owner) {
        c.fchownat(own, EMPTY, attrs.owner.uid, attrs.owner.gid, c.AT.EMPTY_PATH, path);
      }
      if (attrs.xattrs) writeXattrs(own, attrs.xattrs, path);
      if (attrs.mode === undefined && !times) return;
      if (own === fd && !this.#handles.pathOnly(fd)) {
        if (attrs.mode !== undefined) c.fchmod(fd, attrs.mode, path);
        if (times) c.futimens(fd, times, path);
        return;
      }
      // An O_PATH handle takes chmod and utimes only through its /proc link, which is the inode itself.
      const proc = encodeName(`/proc/self/fd/${own}`);
      if (attrs.mode !== undefined) c.fchmodat(c.AT.FDCWD, proc, attrs.mode, path);
      if (times) c.utimensat(c.AT.FDCWD, proc, times, 0, path);
    } finally {
      if (own !== fd) c.close(own);
    }
  }

  remove(at: At): void {
    const fd = this.handle(at.dir);
    const seen = this.check(at);
    const flags = seen?.kind === "dir" ? c.AT.REMOVEDIR : 0;
    c.unlinkat(fd, encodeName(at.name), flags, pathOf(at));
  }

  discardTemp(replica: string, path: string): void {
    if (!path.startsWith(replica + "/")) return;
    const rel = path.slice(replica.length + 1);
    const cut = rel.lastIndexOf("/");
    const root = this.#handles.root("replica");
    let fd = root;
    try {
      if (cut > 0) fd = openBeneath(root, { rel: rel.slice(0, cut), abs: path }, FOLDER);
      c.unlinkat(fd, encodeName(rel.slice(cut + 1)), 0, path);
    } catch {
      // Gone, renamed into place, or its folder is no longer there below the replica.
    } finally {
      if (fd !== root) c.close(fd);
    }
  }

  rename(from: At, to: At): void {
    this.check(from);
    this.check(to);
    const fromFd = this.handle(from.dir);
    const toFd = this.handle(to.dir);
    const z = encodeName(from.name);
    c.renameat(fromFd, z, toFd, encodeName(to.name), to.seen === undefined, pathOf(from));
  }

  symlink(at: At, target: string, backup?: BackupTarget, times?: Attrs["times"]): void {
    const fd = this.handle(at.dir);
    const tmp = encodeName(makeTempName());
    const where = pathOf(at);
    const bytes = encodeName(target);
    c.symlinkat(bytes, fd, tmp, where);
    // What stands at the temporary name is checked through a handle to be the link made, and
    // its times set on that handle: by name they would reach a hard link to a file outside
    // that a replica writer renamed over it meanwhile. Its inode is checked again once renamed.
    let made = 0;
    const ours = () => {
      const link = c.openat(fd, tmp, c.O.PATH | c.O.NOFOLLOW | c.O.CLOEXEC, 0, where);
      try {
        const st = c.fstatx(link, where);
        if (
          kindOfMode(st.mode) !== "symlink" || !sameBytes(c.readlinkat(link, EMPTY, where), bytes)
        ) {
          throw new ChangedError(where, "another entry took the new link's temporary name");
        }
        made = st.ino;
        if (times) setLinkTimes(link, fd, tmp, timesOf(times), where);
      } finally {
        c.close(link);
      }
    };
    this.#replace(fd, tmp, at, keeping(fd, at, backup), ours);
    if (c.statxIfAny(fd, encodeName(at.name), c.AT.SYMLINK_NOFOLLOW, where)?.ino !== made) {
      throw new ChangedError(where, "another entry took the new link's name");
    }
  }

  link(anchor: At, at: At, backup?: BackupTarget): Made {
    const anchorPath = pathOf(anchor);
    const seen = anchor.seen;
    if (seen === undefined) throw new AnchorChangedError(anchorPath, "it is gone");
    const anchorFd = this.handle(anchor.dir);
    const az = encodeName(anchor.name);
    let now: Entry;
    try {
      now = toEntry(anchor.name, c.statx(anchorFd, az, c.AT.SYMLINK_NOFOLLOW, anchorPath));
    } catch (error) {
      if ((error as c.ErrnoError).code === "ENOENT") {
        throw new AnchorChangedError(anchorPath, "it is gone");
      }
      throw error;
    }
    if (!same(now, seen)) throw new AnchorChangedError(anchorPath, "another file stands there");
    const made: Made = { kind: "file", dev: seen.dev, ino: seen.ino };
    if (at.seen !== undefined && same(at.seen, seen)) {
      this.check(at); // already that file: a rename onto its own link would leave the temporary name
      return made;
    }
    const fd = this.handle(at.dir);
    const tmp = encodeName(makeTempName());
    c.linkat(anchorFd, az, fd, tmp, pathOf(at));
    this.#replace(fd, tmp, at, keeping(fd, at, backup), () => {
      const linked = toEntry("", c.statx(fd, tmp, c.AT.SYMLINK_NOFOLLOW, pathOf(at)));
      if (!same(linked, seen)) {
        throw new AnchorChangedError(anchorPath, "another file stands there");
      }
    });
    return made;
  }

  copy(job: CopyIn): Promise<Made> {
    if (job.from.entry.size > INLINE_MAX) return copyIn(this, job, true);
    // Small files synchronously: an async call costs more than the copy, and no other
    // call can close the folder handles in between.
    try {
      return copyIn(this, job, false);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  handOff(job: CopyIn): Handoff<HandleCopy> | undefined {
    return handOff(this, job);
  }

  sameContent(a: At, b: At): Promise<boolean> {
    const fa = this.#openFile(a);
    try {
      let fb: number;
      try {
        fb = this.#openFile(b);
      } catch (error) {
        if ((error as c.ErrnoError).code === "EACCES") throw new UnreadableError(pathOf(b));
        throw error;
      }
      try {
        return Promise.resolve(equalFiles(fa, fb, pathOf(a), pathOf(b)));
      } finally {
        c.close(fb);
      }
    } catch (error) {
      return Promise.reject(error);
    } finally {
      c.close(fa);
    }
  }

  moveOut(at: At, to: BackupTarget): void {
    const fd = this.handle(at.dir);
    this.check(at);
    checkBackupTarget(to);
    // From the folder's handle: a link swapped in for the folder cannot lead the rename outside.
    c.renameat(fd, encodeName(at.name), c.AT.FDCWD, encodeName(to.path), true, pathOf(at));
  }

  copyOut(at: At, to: string): void {
    const fd = this.handle(at.dir);
    copyOut(fd, encodeName(at.name), at.name, at.seen, pathOf(at), encodeName(to), to);
  }

  /** Opens a file to read: never a link, never blocking (a FIFO), and only the file seen. */
  #openFile(at: At): number {
    const path = pathOf(at);
    const flags = c.O.RDONLY | c.O.NOFOLLOW | c.O.NONBLOCK | c.O.CLOEXEC;
    let fd: number;
    try {
      fd = c.openat(this.handle(at.dir), encodeName(at.name), flags, 0, path);
    } catch (error) {
      if ((error as c.ErrnoError).code === "ELOOP") {
        throw new ChangedError(path, "a symlink stands there");
      }
      throw error;
    }
    try {
      compare(path, toEntry(at.name, c.fstatx(fd, path)), at.seen);
      return fd;
    } catch (error) {
      c.close(fd);
      throw error;
    }
  }

  /** Renames the temporary name `tmp` over `at` once `at` is checked; removes `tmp` on any error. */
  #replace(
    fd: number,
    tmp: Uint8Array,
    at: At,
    beforeReplace?: () => void,
    first?: () => void,
  ): void {
    try {
      first?.();
      this.check(at);
      beforeReplace?.();
      c.renameat(fd, tmp, fd, encodeName(at.name), at.seen === undefined, pathOf(at));
    } catch (error) {
      try {
        c.unlinkat(fd, tmp, 0, pathOf(at));
      } catch {
        // Removed by someone else meanwhile.
      }
      throw error;
    }
  }

  #rootPath(side: Side): string {
    const path = this.#roots[side];
    if (path === undefined) throw new Error(`no ${side} folder was given`);
    return path;
  }
}

/** `--backup_dir`: the entry about to be replaced is kept there first, from its folder's handle. */
function keeping(fd: number, at: At, backup?: BackupTarget): (() => void) | undefined {
  if (backup === undefined || at.seen === undefined) return undefined;
  return () => keepOldAt(fd, at.name, at.seen, pathOf(at), backup);
}

/** Whether a link's target read back (no NUL) is `name` as encoded (with its NUL). */
function sameBytes(read: Uint8Array, name: Uint8Array): boolean {
  if (read.length !== name.length - 1) return false;
  for (let i = 0; i < read.length; i++) if (read[i] !== name[i]) return false;
  return true;
}

/** The kernel refused `AT_EMPTY_PATH` to `utimensat` (EINVAL; older kernels): links' times go by name. */
let byNameOnly = false;

/** Sets a link's own times through its `O_PATH` handle, or by name on kernels that cannot. */
function setLinkTimes(link: number, dir: number, name: Uint8Array, t: c.Times, where: string) {
  if (!byNameOnly) {
    try {
      c.utimensat(link, EMPTY, t, c.AT.EMPTY_PATH | c.AT.SYMLINK_NOFOLLOW, where);
      return;
    } catch (error) {
      if ((error as c.ErrnoError).code !== "EINVAL") throw error;
      byNameOnly = true;
    }
  }
  c.utimensat(dir, name, t, c.AT.SYMLINK_NOFOLLOW, where);
}

function pathOf(at: At): string {
  return at.name === "." ? at.dir.abs : at.dir.abs + "/" + at.name;
}
