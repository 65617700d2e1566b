/**
 * One file copy of the native engine: the source opened by its folder handle
 * (never a link, never blocking), the data by `copy_file_range` (or
 * `sendfile` across filesystems) into a new private temporary file in the
 * replica folder's handle, holes kept, owner, mode and times set on the
 * handle (and `--xattrs`' attributes), then a rename over the name once it is
 * checked. Needs `--allow-ffi`.
 *
 * @module
 */
import type { Entry } from "../../types.ts";
import type { CopyIn, Folder, Handoff, Made, Seen } from "../types.ts";
import type { Owners } from "../../owner.ts";
import type { BackupTarget } from "../../backup.ts";
import { NotARegularFileError, SourceChangedError } from "../../errors.ts";
import { makeTempName } from "../../temp_name.ts";
import * as c from "./libc.ts";
import { encodeName } from "./names.ts";
import { checkName, kindOfMode, timesOf, toEntry } from "./entry.ts";
import { targetMode } from "../../mode.ts";
import { keepOldAt } from "./keep.ts";
import { writeXattrs } from "./xattrs.ts";

/** Files up to this size are copied synchronously (see `NativeFileSystem.copy`). */
export const INLINE_MAX = 256 * 1024;
/** Bytes per call on the blocking pool: an abandoned copy stops within one. */
const POOLED_CHUNK = 8 * 1024 * 1024;
const SYNC_CHUNK = 1024 * 1024;
/** copy_file_range refusals that sendfile copes with (another filesystem, an old kernel). */
const NO_RANGE = new Set(["EXDEV", "EINVAL", "EOPNOTSUPP", "ENOSYS"]);
const DOT = encodeName(".");

/** What a copy needs of the engine: folder handles, and pins for the copy workers' jobs. */
export interface Handles {
  /** The folder's handle, checked (see `NativeFileSystem.handle`). */
  handle(dir: Folder): number;
  /** The folder's handle, kept open (even past `close()`) until {@linkcode Handles.unpin}. */
  pin(dir: Folder): number;
  /** Lets a pinned handle be closed again (now, when it was evicted or closed meanwhile). */
  unpin(fd: number): void;
}

/**
 * A copy by folder handles and names, all plain data: the steps of
 * {@linkcode copyAt}, on this thread or on a copy worker's (descriptors are
 * the process's). Paths are for messages only.
 */
export interface HandleCopy {
  /** Tells the copy worker this is the native engine's job. */
  native: true;
  /** The source folder's handle, the file's name there, and what the scan saw of it. */
  from: { fd: number; name: string; path: string; entry: Entry };
  /** The replica folder's handle, the name, and what the scan saw there. */
  to: { fd: number; name: string; path: string; seen: Seen };
  /** The temporary name in the replica folder. */
  tmp: string;
  /** Its path. */
  tmpPath: string;
}

/**
 * A small copy as a copy worker's job, its folder handles pinned until
 * `release`; undefined for what is copied here (a large file, `--backup_dir`,
 * `--xattrs`' attributes).
 *
 * @example Usage
 * ```ts
 * import { handOff } from "./copy.ts";
 * // const handoff = handOff(nativeFs, job); ... handoff?.release();
 * ```
 *
 * @param fs The engine.
 * @param job What to copy.
 * @returns The job and its release, or undefined.
 * @throws {ChangedError} When a folder is not the one seen (as `copy` would).
 */
export function handOff(fs: Handles, job: CopyIn): Handoff<HandleCopy> | undefined {
  const entry = job.from.entry;
  if (entry.size > INLINE_MAX || entry.xattrs !== undefined || job.backup) return undefined;
  const src = fs.pin(job.from.dir);
  let dst: number;
  try {
    dst = fs.pin(job.to.dir);
  } catch (error) {
    fs.unpin(src);
    throw error;
  }
  const copy = handleCopy(job, src, dst);
  job.inflight?.add(copy.tmpPath);
  return {
    job: copy,
    release() {
      job.inflight?.delete(copy.tmpPath);
      fs.unpin(src);
      fs.unpin(dst);
    },
  };
}

function handleCopy(job: CopyIn, src: number, dst: number): HandleCopy {
  const { from, to } = job;
  const tmp = makeTempName();
  const seen = to.seen && { kind: to.seen.kind, dev: to.seen.dev, ino: to.seen.ino };
  return {
    native: true,
    from: { fd: src, name: from.name, path: from.dir.abs + "/" + from.name, entry: from.entry },
    to: { fd: dst, name: to.name, path: to.dir.abs + "/" + to.name, seen },
    tmp,
    tmpPath: to.dir.abs + "/" + tmp,
  };
}

/**
 * Copies a source file into the replica atomically (see the module's doc).
 * `pooled`: the data moves on Deno's blocking pool and the replica folder is
 * held by a handle of its own meanwhile; otherwise everything runs before
 * this returns (its promise is already settled).
 *
 * @example Usage
 * ```ts
 * import { copyIn } from "./copy.ts";
 * // await copyIn(nativeFs, job, false);
 * ```
 *
 * @param fs The engine.
 * @param job What to copy.
 * @param pooled Move the data on the blocking pool.
 * @returns The file renamed into place.
 */
export function copyIn(fs: Handles, job: CopyIn, pooled: boolean): Promise<Made> {
  if (!pooled) {
    try {
      const src = fs.handle(job.from.dir);
      const copy = handleCopy(job, src, fs.handle(job.to.dir));
      return Promise.resolve(copyAt(copy, job.owners, job.backup, job.inflight));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  let input = -1, output = -1, dir = -1;
  let copy: HandleCopy;
  const cleanup = (failed: boolean) => {
    close(input, output);
    if (failed && output >= 0) discard(copy);
    if (dir >= 0) c.close(dir);
    job.inflight?.delete(copy.tmpPath);
  };
  try {
    const src = fs.handle(job.from.dir);
    const { name, entry } = job.from;
    input = openSource(src, name, entry, job.from.dir.abs + "/" + name);
    // Other calls may close the cached handle while the data moves: hold our own.
    const abs = job.to.dir.abs;
    dir = c.openat(fs.handle(job.to.dir), DOT, c.O.PATH | c.O.DIRECTORY | c.O.CLOEXEC, 0, abs);
    copy = handleCopy(job, src, dir);
    output = createTemp(copy);
    job.inflight?.add(copy.tmpPath);
  } catch (error) {
    close(input, output);
    if (dir >= 0) c.close(dir);
    return Promise.reject(error);
  }
  return copyData(input, output, job.from.entry, copy.tmpPath).then(
    () => {
      // The replica folder's name must still lead to the folder we wrote in.
      fs.handle(job.to.dir);
      const made = finish(copy, input, output, job.owners, job.backup);
      cleanup(false);
      return made;
    },
  ).catch((error) => {
    cleanup(true);
    throw error;
  });
}

/**
 * The steps of a small copy on the handles given, synchronously: the source
 * opened and checked, the data into a new temporary file, owner, mode and
 * times set, the name checked, the rename (`--backup_dir`: the old entry kept
 * first). The inline copy and the copy worker both run this.
 *
 * @example Usage
 * ```ts
 * import { copyAt } from "./copy.ts";
 * // const made = copyAt(handoff.job, new Owners());
 * ```
 *
 * @param copy What to copy, by handles.
 * @param owners Whether owners are kept (learned from the first chown).
 * @param backup `--backup_dir`: where the replaced entry is kept.
 * @param inflight Holds the temporary path while the copy is under way.
 * @returns The file renamed into place.
 */
export function copyAt(
  copy: HandleCopy,
  owners: Pick<Owners, "try">,
  backup?: BackupTarget,
  inflight?: Set<string>,
): Made {
  const { from } = copy;
  let input = -1, output = -1;
  try {
    input = openSource(from.fd, from.name, from.entry, from.path);
    output = createTemp(copy);
    inflight?.add(copy.tmpPath);
    copyDataSync(input, output, from.entry, copy.tmpPath);
    const made = finish(copy, input, output, owners, backup);
    close(input, output);
    return made;
  } catch (error) {
    close(input, output);
    if (output >= 0) discard(copy);
    throw error;
  } finally {
    inflight?.delete(copy.tmpPath);
  }
}

function createTemp(copy: HandleCopy): number {
  const flags = c.O.WRONLY | c.O.CREAT | c.O.EXCL | c.O.NOFOLLOW | c.O.CLOEXEC;
  return c.openat(copy.to.fd, encodeName(copy.tmp), flags, 0o600, copy.tmpPath);
}

function close(input: number, output: number): void {
  if (output >= 0) c.close(output);
  if (input >= 0) c.close(input);
}

function discard(copy: HandleCopy): void {
  try {
    c.unlinkat(copy.to.fd, encodeName(copy.tmp), 0, copy.tmpPath);
  } catch {
    // Removed by someone else meanwhile.
  }
}

/** The source unchanged, owner, mode and times set, the name checked, then the rename. */
function finish(
  copy: HandleCopy,
  input: number,
  output: number,
  owners: Pick<Owners, "try">,
  backup?: BackupTarget,
): Made {
  const { from, to, tmpPath } = copy;
  const entry = from.entry;
  const after = c.fstatx(input, from.path);
  if (after.size !== entry.size || !sameMtime(after.mtimeNs, entry)) {
    throw new SourceChangedError(from.path);
  }
  const made = toEntry(to.name, c.fstatx(output, tmpPath));
  // Owner first: chown clears set-uid and set-gid, which the mode then sets.
  let owner = { uid: made.uid, gid: made.gid };
  if (owner.uid !== entry.uid || owner.gid !== entry.gid) {
    if (owners.try(() => c.fchown(output, entry.uid, entry.gid, tmpPath))) owner = entry;
  }
  // --xattrs: after the chown (it clears security.capability), before the mode (an ACL sets
  // the group bits); a default ACL of the folder gave the new file one that may not be wanted.
  if (entry.xattrs) writeXattrs(output, entry.xattrs, tmpPath);
  c.fchmod(output, targetMode(entry, owner), tmpPath);
  c.futimens(output, timesOf(entry), tmpPath);
  // A new name is checked by the rename itself (it refuses to replace), else first.
  const fresh = to.seen === undefined;
  const check = () => checkName(to.fd, to.name, to.seen, to.path);
  if (!fresh) check();
  if (to.seen !== undefined && backup) keepOldAt(to.fd, to.name, to.seen, to.path, backup);
  try {
    c.renameat(to.fd, encodeName(copy.tmp), to.fd, encodeName(to.name), fresh, to.path, check);
  } catch (error) {
    if (fresh && (error as c.ErrnoError).code === "EEXIST") check(); // Says what appeared.
    throw error;
  }
  return { kind: "file", dev: made.dev, ino: made.ino };
}

/** Opens the source file seen: never a link, never blocking (a FIFO swapped in), the same inode. */
function openSource(dir: number, name: string, entry: Entry, path: string): number {
  const flags = c.O.RDONLY | c.O.NOFOLLOW | c.O.NONBLOCK | c.O.CLOEXEC;
  let fd: number;
  try {
    fd = c.openat(dir, encodeName(name), flags, 0, path);
  } catch (error) {
    if ((error as c.ErrnoError).code === "ELOOP") throw new NotARegularFileError(path);
    throw error;
  }
  const st = c.fstatx(fd, path);
  if (
    kindOfMode(st.mode) !== "file" ||
    (entry.ino !== 0 && (st.ino !== entry.ino || st.dev !== entry.dev))
  ) {
    c.close(fd);
    throw new NotARegularFileError(path);
  }
  return fd;
}

function sameMtime(ns: bigint, entry: Entry): boolean {
  if (entry.mtimeNs !== undefined) return ns === entry.mtimeNs;
  return Number((ns >= 0n ? ns : ns - 999_999n) / 1_000_000n) === entry.mtimeMs;
}

/** A file with fewer blocks than its size needs has holes, which the copy keeps. */
function sparse(entry: Entry): boolean {
  return entry.size > 0 && entry.blocks * 512 < entry.size;
}

/** The data ranges to copy: the whole file, or each run of data between holes. */
function* ranges(input: number, entry: Entry, where: string): Generator<[number, number]> {
  if (!sparse(entry)) {
    // The size scanned: a file that grew since fails the check after the copy anyway.
    yield [0, entry.size];
    return;
  }
  for (let pos = 0;;) {
    const data = c.seekData(input, pos, false, where);
    if (data < 0) return;
    const hole = c.seekData(input, data, true, where);
    yield [data, hole];
    pos = hole;
  }
}

/** One copy's state: offsets, and whether copy_file_range was refused (then sendfile). */
class Mover {
  offsets = new c.Offsets();
  viaSendfile = false;
  constructor(readonly input: number, readonly output: number, readonly where: string) {}

  /** Moves both offsets (and, under sendfile, the output position) to `start`. */
  seek(start: number): void {
    this.offsets.input[0] = BigInt(start);
    this.offsets.output[0] = BigInt(start);
    if (this.viaSendfile) c.seekTo(this.output, start, this.where);
  }

  /** Falls back to sendfile when copy_file_range refuses these files; rethrows anything else. */
  refused(error: unknown): void {
    if (this.viaSendfile || !NO_RANGE.has((error as c.ErrnoError).code)) throw error;
    this.viaSendfile = true;
    c.seekTo(this.output, Number(this.offsets.output[0]), this.where);
  }
}

function copyDataSync(input: number, output: number, entry: Entry, where: string): void {
  const m = new Mover(input, output, where);
  for (const [start, end] of ranges(input, entry, where)) {
    m.seek(start);
    for (let pos = start; pos < end;) {
      let n: number;
      try {
        n = c.copyRangeSync(
          input,
          output,
          m.offsets,
          Math.min(SYNC_CHUNK, end - pos),
          m.viaSendfile,
          where,
        );
      } catch (error) {
        m.refused(error);
        continue;
      }
      if (n === 0) break;
      pos += n;
    }
  }
  if (sparse(entry)) c.ftruncate(output, entry.size, where);
}

async function copyData(input: number, output: number, entry: Entry, where: string): Promise<void> {
  const m = new Mover(input, output, where);
  for (const [start, end] of ranges(input, entry, where)) {
    m.seek(start);
    for (let pos = start; pos < end;) {
      let n: number;
      try {
        const len = Math.min(POOLED_CHUNK, end - pos);
        n = await c.copyRange(input, output, m.offsets, len, m.viaSendfile, true, where);
      } catch (error) {
        m.refused(error);
        continue;
      }
      if (n === 0) break;
      pos += n;
    }
  }
  if (sparse(entry)) c.ftruncate(output, entry.size, where);
}
