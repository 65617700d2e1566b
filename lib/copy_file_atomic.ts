/**
 * Atomic replacement of one replica file, re-checked at every step.
 *
 * @module
 */
import type { Entry } from "./types.ts";
import { NotARegularFileError, SourceChangedError } from "./errors.ts";
import { makeTempName } from "./temp_name.ts";
import { recheck, type Seen } from "./recheck.ts";
import { keepOwner, targetMode } from "./owner.ts";

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
 * re-checked before the rename. A file written less than `RACY_MS` ago is
 * copied only once that much time has passed, so that a write in the same
 * clock tick as its mtime cannot hide. On any error the temporary file is
 * removed.
 *
 * Needs `--allow-read` on the source and replica, `--allow-write` on the replica.
 *
 * @example Usage
 * ```ts
 * import { copyFileAtomic } from "./copy_file_atomic.ts";
 * import { toEntry } from "./list_dir.ts";
 * const entry = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * const dir = Deno.makeTempDirSync();
 * await copyFileAtomic({
 *   src: Deno.realPathSync("deno.json"), dst: dir + "/deno.json", entry,
 *   dir, dirSeen: toEntry("", Deno.lstatSync(dir)), dirIsRoot: true,
 * });
 * ```
 *
 * @param job What to copy.
 * @param inflight When given, holds the temporary path while the copy is under
 *   way, so a caller that must stop before a huge copy ends can remove it.
 */
export async function copyFileAtomic(job: CopyJob, inflight?: Set<string>): Promise<void> {
  const tmp = job.dir + "/" + makeTempName();
  inflight?.add(tmp);
  try {
    const recent = job.entry.mtimeMs + RACY_MS - Date.now();
    if (recent > 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(recent, RACY_MS)));
    }
    checkSource(job.src, job.entry);
    recheck(job.dir, job.dirSeen, job.dirIsRoot);
    if (byHandle(job.entry)) await copyByHandle(job.src, tmp, job.entry.size);
    else await withOpenDeadline(Deno.copyFile(job.src, tmp), tmp);
    finishCopy(job, tmp);
  } catch (error) {
    removeTemp(tmp);
    throw error;
  } finally {
    inflight?.delete(tmp);
  }
}

/**
 * The synchronous twin of {@linkcode copyFileAtomic}, for small settled files
 * (see {@linkcode copiesInline}): an async Deno op costs the calling thread
 * several times what the same sync call does, and for a small file that
 * overhead is most of the work.
 *
 * Needs `--allow-read` on the source and replica, `--allow-write` on the replica.
 *
 * @example Usage
 * ```ts
 * import { copyFileAtomicSync } from "./copy_file_atomic.ts";
 * import { toEntry } from "./list_dir.ts";
 * const entry = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * const dir = Deno.makeTempDirSync();
 * copyFileAtomicSync({
 *   src: Deno.realPathSync("deno.json"), dst: dir + "/deno.json", entry,
 *   dir, dirSeen: toEntry("", Deno.lstatSync(dir)), dirIsRoot: true,
 * });
 * ```
 *
 * @param job What to copy.
 */
export function copyFileAtomicSync(job: CopyJob): void {
  const tmp = job.dir + "/" + makeTempName();
  try {
    checkSource(job.src, job.entry);
    recheck(job.dir, job.dirSeen, job.dirIsRoot);
    if (byHandle(job.entry)) copyByHandleSync(job.src, tmp, job.entry.size);
    else Deno.copyFileSync(job.src, tmp);
    finishCopy(job, tmp);
  } catch (error) {
    removeTemp(tmp);
    throw error;
  }
}

/** Files up to this size are copied with sync calls (see copyFileAtomicSync). */
const INLINE_MAX = 256 * 1024;

/**
 * Tells whether a file should be copied with {@linkcode copyFileAtomicSync}:
 * small, and last written long enough ago that no wait is needed.
 *
 * @example Usage
 * ```ts
 * import { copiesInline } from "./copy_file_atomic.ts";
 * import { toEntry } from "./list_dir.ts";
 * copiesInline(toEntry("deno.json", Deno.lstatSync("deno.json"))); // true for an old small file
 * ```
 *
 * @param src The source file's entry.
 * @param now The current time, ms since the epoch.
 * @returns True to copy it synchronously.
 */
export function copiesInline(src: Entry, now = Date.now()): boolean {
  return src.size <= INLINE_MAX && src.mtimeMs + RACY_MS <= now;
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

/** Checks the source did not change, sets owner, mode and mtime, and renames into place. */
function finishCopy(job: CopyJob, tmp: string): void {
  const { entry } = job;
  const after = Deno.lstatSync(job.src);
  if (
    !after.isFile || after.size !== entry.size || after.mtime?.getTime() !== entry.mtimeMs ||
    (entry.ino !== 0 && after.ino !== entry.ino)
  ) {
    throw new SourceChangedError(job.src);
  }
  let info = regularTemp(tmp);
  let owner = { uid: info.uid ?? 0, gid: info.gid ?? 0 };
  let chmod = byHandle(entry);
  if (owner.uid !== entry.uid || owner.gid !== entry.gid) {
    if (keepOwner(tmp, entry)) {
      owner = entry;
      chmod ||= (entry.mode & 0o6000) !== 0; // chown clears set-uid and set-gid
      info = regularTemp(tmp);
    }
  }
  const mode = targetMode(entry, owner);
  if (chmod || ((info.mode ?? 0) & 0o7777) !== mode) {
    Deno.chmodSync(tmp, mode);
    regularTemp(tmp);
  }
  Deno.utimeSync(tmp, entry.atimeMs / 1000, entry.mtimeMs / 1000);
  recheck(job.dst, job.seen);
  if (job.seen === undefined) recheck(job.dir, job.dirSeen, job.dirIsRoot);
  Deno.renameSync(tmp, job.dst);
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
  using output = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
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

async function copyByHandle(src: string, tmp: string, size: number): Promise<void> {
  using input = await withOpenDeadline(Deno.open(src, { read: true }), undefined);
  using output = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
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
 * How long after its last write a file is left alone before it is copied.
 * File timestamps come from a coarse clock (a kernel tick, up to 10 ms) and
 * are compared in whole ms, so a write in the same tick as the scanned mtime
 * (a writer halfway through the file, or rewriting it in place at the same
 * size) leaves size and mtime unchanged and the lstat after the copy cannot
 * see it. Waiting until the mtime is this old before copying means any such
 * write is either finished before the copy starts or, continuing, stamps a
 * later mtime that the check after the copy sees.
 */
const RACY_MS = 100;

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
 * await symlinkAtomic("target.txt", dir + "/link", undefined, dir, toEntry("", Deno.lstatSync(dir)), true);
 * ```
 *
 * @param target The link's target text, copied verbatim.
 * @param dstPath Where the link goes.
 * @param seen What the scan saw at `dstPath` (undefined: nothing).
 * @param dir The directory `dstPath` is in.
 * @param dirSeen That directory as the walk knows it.
 * @param dirIsRoot True when `dir` is the replica root.
 */
export async function symlinkAtomic(
  target: string,
  dstPath: string,
  seen: Seen,
  dir: string,
  dirSeen: Seen,
  dirIsRoot: boolean,
): Promise<void> {
  const tmp = dir + "/" + makeTempName();
  try {
    recheck(dir, dirSeen, dirIsRoot);
    await Deno.symlink(target, tmp);
    recheck(dstPath, seen);
    if (seen === undefined) recheck(dir, dirSeen, dirIsRoot);
    Deno.renameSync(tmp, dstPath);
  } catch (error) {
    removeTemp(tmp);
    throw error;
  }
}

/**
 * Compares two regular files byte by byte. An open that does not return
 * within {@linkcode OPEN_DEADLINE_MS} (a FIFO swapped in) is given up with
 * an error.
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
  using fb = await withOpenDeadline(Deno.open(b, { read: true }), undefined, "the replica file");
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
