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
import type { At, CopyIn, Folder, Made } from "../types.ts";
import { NotARegularFileError, SourceChangedError } from "../../errors.ts";
import { makeTempName } from "../../temp_name.ts";
import * as c from "./libc.ts";
import { encodeName } from "./names.ts";
import { kindOfMode, timesOf, toEntry } from "./entry.ts";
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

/** What a copy needs of the engine: folder handles and the check of a name. */
export interface Handles {
  /** The folder's handle, checked (see `NativeFileSystem.handle`). */
  handle(dir: Folder): number;
  /** The entry at a name, which must be what was seen. */
  check(at: At): Entry | undefined;
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
  const { from, to } = job;
  const entry = from.entry;
  const srcPath = from.dir.abs + "/" + from.name;
  const tmpName = makeTempName();
  const tmpPath = to.dir.abs + "/" + tmpName;
  const tmp = encodeName(tmpName);
  let input = -1, output = -1, dir = -1, own = false;
  const cleanup = (failed: boolean) => {
    if (output >= 0) c.close(output);
    if (input >= 0) c.close(input);
    if (failed && output >= 0) {
      try {
        c.unlinkat(dir, tmp, 0, tmpPath);
      } catch {
        // Never created, or removed by someone else meanwhile.
      }
    }
    if (own) c.close(dir);
    job.inflight?.delete(tmpPath);
  };
  const finish = (): Made => {
    const after = c.fstatx(input, srcPath);
    if (after.size !== entry.size || !sameMtime(after.mtimeNs, entry)) {
      throw new SourceChangedError(srcPath);
    }
    const made = toEntry(to.name, c.fstatx(output, tmpPath));
    // Owner first: chown clears set-uid and set-gid, which the mode then sets.
    let owner = { uid: made.uid, gid: made.gid };
    if (owner.uid !== entry.uid || owner.gid !== entry.gid) {
      if (job.owners.try(() => c.fchown(output, entry.uid, entry.gid, tmpPath))) owner = entry;
    }
    // --xattrs: after the chown (it clears security.capability), before the mode (an ACL sets
    // the group bits); a default ACL of the folder gave the new file one that may not be wanted.
    if (entry.xattrs) writeXattrs(output, entry.xattrs, tmpPath);
    c.fchmod(output, targetMode(entry, owner), tmpPath);
    c.futimens(output, timesOf(entry), tmpPath);
    const toPath = to.dir.abs + "/" + to.name;
    // A new name is checked by the rename itself (it refuses to replace), else first.
    const fresh = to.seen === undefined;
    if (!fresh) fs.check(to);
    if (to.seen !== undefined && job.backup) keepOldAt(dir, to.name, to.seen, toPath, job.backup);
    try {
      c.renameat(dir, tmp, dir, encodeName(to.name), fresh, toPath, () => fs.check(to));
    } catch (error) {
      if (fresh && (error as c.ErrnoError).code === "EEXIST") fs.check(to); // Says what appeared.
      throw error;
    }
    return { kind: "file", dev: made.dev, ino: made.ino };
  };
  try {
    input = openSource(fs, from.dir, from.name, entry, srcPath);
    dir = fs.handle(to.dir);
    if (pooled) {
      // Other calls may close the cached handle while the data moves: hold our own.
      dir = c.openat(dir, encodeName("."), c.O.PATH | c.O.DIRECTORY | c.O.CLOEXEC, 0, to.dir.abs);
      own = true;
    }
    const flags = c.O.WRONLY | c.O.CREAT | c.O.EXCL | c.O.NOFOLLOW | c.O.CLOEXEC;
    output = c.openat(dir, tmp, flags, 0o600, tmpPath);
    job.inflight?.add(tmpPath);
  } catch (error) {
    cleanup(true);
    return Promise.reject(error);
  }
  if (!pooled) {
    try {
      copyDataSync(input, output, entry, tmpPath);
      const made = finish();
      cleanup(false);
      return Promise.resolve(made);
    } catch (error) {
      cleanup(true);
      return Promise.reject(error);
    }
  }
  return copyData(input, output, entry, tmpPath).then(
    () => {
      // The replica folder's name must still lead to the folder we wrote in.
      fs.handle(to.dir);
      const made = finish();
      cleanup(false);
      return made;
    },
  ).catch((error) => {
    cleanup(true);
    throw error;
  });
}

/** Opens the source file seen: never a link, never blocking (a FIFO swapped in), the same inode. */
function openSource(fs: Handles, dir: Folder, name: string, entry: Entry, path: string): number {
  const flags = c.O.RDONLY | c.O.NOFOLLOW | c.O.NONBLOCK | c.O.CLOEXEC;
  let fd: number;
  try {
    fd = c.openat(fs.handle(dir), encodeName(name), flags, 0, path);
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
