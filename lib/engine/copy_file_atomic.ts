/**
 * Atomic replacement of one replica file, re-checked at every step.
 *
 * @module
 */
import type { Entry } from "./types.ts";
import { NotARegularFileError, SourceChangedError, UnreadableError } from "./errors.ts";
import { makeTempName } from "./temp_name.ts";
import { inDir } from "./in_dir.ts";
import { recheck, type Seen } from "./recheck.ts";
import type { Owners } from "./owner.ts";
import { handleTime, onHandle } from "./on_handle.ts";
import { fchmodSync, fchownSync, futimesSync } from "node:fs";
import { targetMode } from "./mode.ts";
import { type BackupTarget, keepOld } from "./backup.ts";

/** One file copy: where from, where to, and what the scan saw on both sides. */
export interface CopyJob {
  /** The source file (absolute). */
  src: string;
  /** The replica path to create or replace (absolute). */
  dst: string;
  /** The source file as scanned (size, mtime, mode, owner, inode). */
  entry: Entry;
  /** What the replica held at `dst` when scanned; undefined: nothing. */
  seen?: Seen;
  /** The replica directory `dst` is in (absolute). */
  dir: string;
  /** That directory as the walk knows it (kind, dev, ino). */
  dirSeen: Seen;
  /** True when `dir` is the replica root (given by the user, it may be a link). */
  dirIsRoot: boolean;
  /** `--backup_dir`: keep the entry overwritten here (its folder made). */
  backup?: BackupTarget;
}

/**
 * Copies a regular source file into the replica without ever leaving a
 * half-written file at the final name and without ever following a link in
 * the replica. In order: the source is `lstat`ed (still the regular file the
 * scan saw, so a FIFO swapped in is never opened), the replica directory is
 * re-checked, the content goes to a temporary name in it (same filesystem, so
 * the rename cannot fail with EXDEV), the source is `lstat`ed again (a copy
 * whose source changed is discarded with a {@linkcode SourceChangedError}),
 * owner, mode and mtime are set on the temporary file (each call right after
 * an `lstat` saw a regular file there), and the target and its directory are
 * re-checked before the rename. The caller copies a file only once it has
 * settled (see `settleDelay`; the walk sets unsettled files aside). On any
 * error the temporary file is removed.
 *
 * Needs `--allow-read` on the source and replica, `--allow-write` on the replica.
 *
 * @example Usage
 * ```ts
 * import { copyFileAtomic } from "./copy_file_atomic.ts";
 * import { Owners } from "./owner.ts";
 * import { toEntry } from "./list_dir.ts";
 * const entry = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * const dir = Deno.makeTempDirSync();
 * await copyFileAtomic({
 *   src: Deno.realPathSync("deno.json"), dst: dir + "/deno.json", entry,
 *   dir, dirSeen: toEntry("", Deno.lstatSync(dir)), dirIsRoot: true,
 * }, new Owners());
 * ```
 *
 * @param job What to copy.
 * @param owners Whether owners are kept (learned from the first chown).
 * @param inflight When given, holds the temporary path while the copy is under
 *   way, so a caller that must stop before a huge copy ends can remove it.
 * @returns The file renamed into place (kind, dev, ino).
 */
export async function copyFileAtomic(
  job: CopyJob,
  owners: Owners,
  inflight?: Set<string>,
): Promise<Made> {
  const name = makeTempName();
  const tmp = job.dir + "/" + name;
  inflight?.add(tmp);
  try {
    checkSource(job.src, job.entry);
    // Created from inside the re-checked folder: a link swapped in for it cannot redirect it.
    const dir = { abs: job.dir, seen: job.dirSeen! };
    if (byHandle(job.entry)) {
      const output = inDir(dir, () => Deno.openSync(name, NEW_PRIVATE));
      await copyByHandle(job.src, output, job.entry.size);
    } else await withOpenDeadline(inDir(dir, () => Deno.copyFile(job.src, name)), tmp);
    return finishCopy(job, tmp, owners);
  } catch (error) {
    removeTemp(tmp);
    throw error;
  } finally {
    inflight?.delete(tmp);
  }
}

/**
 * The synchronous twin of {@linkcode copyFileAtomic}, for small settled files
 * (see `copiesInline` in copy_job.ts): an async Deno op costs the calling thread
 * several times what the same sync call does, and for a small file that
 * overhead is most of the work.
 *
 * Needs `--allow-read` on the source and replica, `--allow-write` on the replica.
 *
 * @example Usage
 * ```ts
 * import { copyFileAtomicSync } from "./copy_file_atomic.ts";
 * import { Owners } from "./owner.ts";
 * import { toEntry } from "./list_dir.ts";
 * const entry = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * const dir = Deno.makeTempDirSync();
 * copyFileAtomicSync({
 *   src: Deno.realPathSync("deno.json"), dst: dir + "/deno.json", entry,
 *   dir, dirSeen: toEntry("", Deno.lstatSync(dir)), dirIsRoot: true,
 * }, new Owners());
 * ```
 *
 * @param job What to copy.
 * @param owners Whether owners are kept (learned from the first chown).
 * @param fromInside Create the temporary file from inside the re-checked
 *   folder (see `inDir`); false on a worker thread, which must never change
 *   the process's working directory.
 * @returns The file renamed into place (kind, dev, ino).
 */
export function copyFileAtomicSync(job: CopyJob, owners: Owners, fromInside = true): Made {
  const name = makeTempName();
  const tmp = job.dir + "/" + name;
  try {
    checkSource(job.src, job.entry);
    const create = (path: string) => {
      if (byHandle(job.entry)) copyByHandleSync(job.src, path, job.entry.size);
      else Deno.copyFileSync(job.src, path);
    };
    if (fromInside) inDir({ abs: job.dir, seen: job.dirSeen! }, () => create(name));
    else {
      recheck(job.dir, job.dirSeen, job.dirIsRoot);
      create(tmp);
    }
    return finishCopy(job, tmp, owners);
  } catch (error) {
    removeTemp(tmp);
    throw error;
  }
}

/**
 * Tells whether a file has holes: fewer 512-byte blocks than its size needs.
 *
 * @example Usage
 * ```ts
 * import { isSparse } from "./copy_file_atomic.ts";
 * import { toEntry } from "./list_dir.ts";
 * isSparse(toEntry("deno.json", Deno.lstatSync("deno.json"))); // false
 * ```
 *
 * @param entry The file as scanned.
 * @returns True when it is sparse.
 */
export function isSparse(entry: Entry): boolean {
  return entry.size > 0 && entry.blocks * 512 < entry.size;
}

/**
 * Sparse files keep their holes; set-uid and set-gid files must never exist,
 * even for a moment, with those bits and an owner the source did not have:
 * both are written through handles into a new private (0600) file instead of
 * `Deno.copyFile`, which keeps the mode from the start and fills holes.
 */
function byHandle(entry: Entry): boolean {
  return isSparse(entry) || (entry.mode & 0o6000) !== 0;
}

/** The source must still be the regular file scanned before it is opened (a FIFO would block). */
function checkSource(path: string, entry: Entry): void {
  const info = Deno.lstatSync(path);
  if (!info.isFile || (entry.ino !== 0 && info.ino !== entry.ino)) {
    throw new NotARegularFileError(path);
  }
}

/** What a copy renamed into place: the inode a hard-link group's members are linked to. */
export type Made = NonNullable<Seen>;

/** Checks the source did not change, sets owner, mode and mtime, and renames into place. */
function finishCopy(job: CopyJob, tmp: string, owners: Owners): Made {
  const { entry } = job;
  const after = Deno.lstatSync(job.src);
  if (
    !after.isFile || after.size !== entry.size || after.mtime?.getTime() !== entry.mtimeMs ||
    (entry.ino !== 0 && after.ino !== entry.ino)
  ) {
    throw new SourceChangedError(job.src);
  }
  const info = regularTemp(tmp);
  const made: Made = { kind: "file", dev: info.dev, ino: info.ino ?? 0 };
  // Through a handle checked to be our temporary file: a link swapped in is not followed.
  const meta = (chown: () => void, chmod: (mode: number) => void, utime: () => void) => {
    let owner = { uid: info.uid ?? 0, gid: info.gid ?? 0 };
    let mustChmod = byHandle(entry);
    if (owner.uid !== entry.uid || owner.gid !== entry.gid) {
      if (owners.try(chown)) {
        owner = entry;
        mustChmod ||= (entry.mode & 0o6000) !== 0; // chown clears set-uid and set-gid
      }
    }
    const mode = targetMode(entry, owner);
    if (mustChmod || ((info.mode ?? 0) & 0o7777) !== mode) chmod(mode);
    utime();
  };
  const viaHandle = onHandle(tmp, made, (fd) =>
    meta(
      () => fchownSync(fd, entry.uid, entry.gid),
      (mode) => fchmodSync(fd, mode),
      () => futimesSync(fd, handleTime(entry.atimeMs), handleTime(entry.mtimeMs)),
    ));
  if (!viaHandle) {
    // Not readable by us (a write-only mode kept by the copy): by path, each call after an lstat.
    meta(
      () => Deno.chownSync(regular(tmp), entry.uid, entry.gid),
      (mode) => Deno.chmodSync(regular(tmp), mode),
      () => Deno.utimeSync(regular(tmp), entry.atimeMs / 1000, entry.mtimeMs / 1000),
    );
  }
  recheck(job.dst, job.seen);
  if (job.seen === undefined) recheck(job.dir, job.dirSeen, job.dirIsRoot);
  else if (job.backup !== undefined) keepOld(job.dst, job.backup);
  Deno.renameSync(tmp, job.dst);
  return made;
}

function regular(tmp: string): string {
  regularTemp(tmp);
  return tmp;
}

/** `lstat`s our temporary file: it must still be a regular file (not a link swapped in). */
function regularTemp(tmp: string): Deno.FileInfo {
  const info = Deno.lstatSync(tmp);
  if (!info.isFile) throw new Error(`'${tmp}' was replaced during the copy`);
  return info;
}

function removeTemp(tmp: string): void {
  try {
    Deno.removeSync(tmp);
  } catch {
    // It was never created, or was renamed already.
  }
}

const CHUNK = 64 * 1024;

/** A new file only we may read or write (O_EXCL: never through a link planted there). */
const NEW_PRIVATE: Deno.OpenOptions = { write: true, createNew: true, mode: 0o600 };

function allZero(bytes: Uint8Array): boolean {
  const words = bytes.length >> 2;
  const view = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
  for (let i = 0; i < words; i++) if (view[i] !== 0) return false;
  for (let i = words << 2; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Copies through handles into a new 0600 file; runs of zeros become holes. */
function copyByHandleSync(src: string, tmp: string, size: number): void {
  using input = Deno.openSync(src, { read: true });
  using output = Deno.openSync(tmp, NEW_PRIVATE);
  const buffer = new Uint8Array(CHUNK);
  while (true) {
    const n = readFullSync(input, buffer);
    if (n === 0) break;
    const chunk = buffer.subarray(0, n);
    if (allZero(chunk)) output.seekSync(n, Deno.SeekMode.Current);
    else for (let done = 0; done < n;) done += output.writeSync(chunk.subarray(done));
    if (n < CHUNK) break;
  }
  output.truncateSync(size);
}

async function copyByHandle(src: string, file: Deno.FsFile, size: number): Promise<void> {
  using output = file;
  using input = await withOpenDeadline(Deno.open(src, { read: true }), undefined);
  const buffer = new Uint8Array(CHUNK);
  while (true) {
    const n = await readFull(input, buffer);
    if (n === 0) break;
    const chunk = buffer.subarray(0, n);
    if (allZero(chunk)) await output.seek(n, Deno.SeekMode.Current);
    else for (let done = 0; done < n;) done += await output.write(chunk.subarray(done));
    if (n < CHUNK) break;
  }
  await output.truncate(size);
}

/** How long a copy may take to open its source before it is given up (a FIFO swapped in blocks). */
export const OPEN_DEADLINE_MS = 10_000;

/**
 * Gives up on `op` when its file (`what`, the source by default) has not been
 * opened within {@linkcode OPEN_DEADLINE_MS}: for `Deno.copyFile`, when the temporary file
 * does not exist by then (it is created right after the source is opened);
 * for an open, when it has not returned. The op itself cannot be cancelled: it
 * is left to finish or block on its own (a stale temporary file it might
 * still write is removed by the next cycle).
 */
async function withOpenDeadline<T>(
  op: Promise<T>,
  tmp: string | undefined,
  what = "the source",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const check = () => {
      if (tmp !== undefined) {
        try {
          Deno.lstatSync(tmp);
          return; // Opened: the copy is under way, however long it takes.
        } catch {
          // Not created yet.
        }
      }
      reject(new Error(`${what} did not open within ${OPEN_DEADLINE_MS / 1000} s (a FIFO?)`));
    };
    timer = setTimeout(check, OPEN_DEADLINE_MS);
  });
  op.catch(() => {}); // Once abandoned, its late failure is of no interest.
  try {
    return await Promise.race([op, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function readFullSync(file: Deno.FsFile, buf: Uint8Array): number {
  let filled = 0;
  while (filled < buf.length) {
    const n = file.readSync(buf.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

async function readFull(file: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const n = await file.read(buf.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/**
 * Creates or replaces a replica symlink atomically: the link is made at a
 * temporary name in the re-checked directory and renamed over the target
 * once that is re-checked too.
 *
 * Needs unscoped `--allow-read` and `--allow-write` (Deno's rule for links).
 *
 * @example Usage
 * ```ts
 * import { symlinkAtomic } from "./copy_file_atomic.ts";
 * import { toEntry } from "./list_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * symlinkAtomic("target.txt", dir + "/link", undefined, dir, toEntry("", Deno.lstatSync(dir)), true);
 * ```
 *
 * @param target The link's target text, copied verbatim.
 * @param dstPath Where the link goes.
 * @param seen What the scan saw at `dstPath` (undefined: nothing).
 * @param dir The directory `dstPath` is in.
 * @param dirSeen That directory as the walk knows it.
 * @param dirIsRoot True when `dir` is the replica root.
 * @param backup `--backup_dir`: keep the entry replaced here.
 */
export function symlinkAtomic(
  target: string,
  dstPath: string,
  seen: Seen,
  dir: string,
  dirSeen: Seen,
  dirIsRoot: boolean,
  backup?: BackupTarget,
): void {
  const tmp = dir + "/" + makeTempName();
  try {
    recheck(dir, dirSeen, dirIsRoot);
    Deno.symlinkSync(target, tmp);
    recheck(dstPath, seen);
    if (seen === undefined) recheck(dir, dirSeen, dirIsRoot);
    else if (backup !== undefined) keepOld(dstPath, backup);
    Deno.renameSync(tmp, dstPath);
  } catch (error) {
    removeTemp(tmp);
    throw error;
  }
}

/**
 * Compares two regular files byte by byte. An open that does not return
 * within {@linkcode OPEN_DEADLINE_MS} (a FIFO swapped in) is given up with
 * an error; a second file that may not be read, with an `UnreadableError` (errors.ts).
 *
 * Needs `--allow-read` on both.
 *
 * @example Usage
 * ```ts
 * import { sameContent } from "./copy_file_atomic.ts";
 * await sameContent("deno.json", "deno.json"); // true
 * ```
 *
 * @param a One file.
 * @param b The other file.
 * @returns True when the contents are identical.
 */
export async function sameContent(a: string, b: string): Promise<boolean> {
  // Each was just seen to be a regular file, but a FIFO swapped in since would block the open.
  using fa = await withOpenDeadline(Deno.open(a, { read: true }), undefined);
  using fb = await withOpenDeadline(Deno.open(b, { read: true }), undefined, "the replica file")
    .catch((error) => {
      throw error instanceof Deno.errors.PermissionDenied ? new UnreadableError(b) : error;
    });
  const bufA = new Uint8Array(256 * 1024);
  const bufB = new Uint8Array(256 * 1024);
  while (true) {
    const na = await readFull(fa, bufA);
    const nb = await readFull(fb, bufB);
    if (na !== nb) return false;
    if (na === 0) return true;
    for (let k = 0; k < na; k++) if (bufA[k] !== bufB[k]) return false;
    if (na < bufA.length) return true;
  }
}
