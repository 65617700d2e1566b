/**
 * The libc calls of the native engine through `Deno.dlopen` (Linux, x86_64 and
 * aarch64, glibc or musl): each wrapped to retry on EINTR and to throw, on
 * failure, a `Deno.errors` class with the errno's `code`, naming the call and
 * the path. Needs `--allow-ffi`.
 *
 * @module
 */

import {
  E,
  type ErrnoError,
  errnoError,
  RENAME_NOREPLACE,
  run,
  S,
  SEEK_DATA,
  SEEK_HOLE,
  SEEK_SET,
  SYS,
  UTIME_OMIT,
} from "./ffi.ts";
export { AT, E, type ErrnoError, errnoError, O, RESOLVE } from "./ffi.ts";
/** Encoded paths for the calls: NUL-terminated bytes (see names.ts). */
export type CPath = Uint8Array;

const how = new BigUint64Array(3);
const OPENAT2 = BigInt(SYS.openat2);
const GETDENTS64 = BigInt(SYS.getdents64);
const RENAMEAT2 = BigInt(SYS.renameat2);

/**
 * Opens `path` below `dirfd`; `resolve` set: `openat2` with those resolve
 * flags (refused with ENOSYS by kernels before 5.6).
 *
 * @example Usage
 * ```ts
 * import { AT, close, O, openat } from "./libc.ts";
 * close(openat(AT.FDCWD, new TextEncoder().encode(".\0"), O.PATH | O.DIRECTORY, 0, "."));
 * ```
 *
 * @param dirfd The folder handle.
 * @param path The path (NUL-terminated).
 * @param flags O_* flags.
 * @param mode Mode for O_CREAT.
 * @param where The path for messages.
 * @param resolve RESOLVE_* flags, to use `openat2`.
 * @returns The new handle.
 */
export function openat(
  dirfd: number,
  path: CPath,
  flags: number,
  mode: number,
  where: string,
  resolve?: number,
): number {
  if (resolve === undefined) return run("openat", where, () => S.openat(dirfd, path, flags, mode));
  how[0] = BigInt(flags);
  how[1] = BigInt(mode);
  how[2] = BigInt(resolve);
  return run("openat2", where, () => S.openat2(OPENAT2, dirfd, path, how, 24n));
}

/**
 * Closes a handle (errors ignored: the handle is gone either way).
 *
 * @example Usage
 * ```ts
 * import { close } from "./libc.ts";
 * close(-1);
 * ```
 *
 * @param fd The handle.
 */
export function close(fd: number): void {
  S.close(fd);
}

export { fstatx, type Stat, statx, statxIfAny } from "./stat.ts";

/**
 * Reads directory entries into `buf` (`getdents64`); 0 at the end.
 *
 * @example Usage
 * ```ts
 * import { getdents } from "./libc.ts";
 * // getdents(fd, new Uint8Array(65536), "/some/dir");
 * ```
 *
 * @param fd A folder opened for reading.
 * @param buf Where the records go.
 * @param where Its path, for messages.
 * @returns Bytes filled.
 */
export function getdents(fd: number, buf: Uint8Array, where: string): number {
  return run(
    "getdents64",
    where,
    () => S.getdents64(GETDENTS64, fd, buf, BigInt(buf.length)),
  );
}

/** @ignore */
export function mkdirat(dirfd: number, path: CPath, mode: number, where: string): void {
  run("mkdirat", where, () => S.mkdirat(dirfd, path, mode));
}

let noRenameat2 = false;

/**
 * Renames between folder handles; `noReplace`: fails with EEXIST when the new
 * name is taken (`renameat2`), where the kernel and filesystem support it;
 * where they do not, `beforeReplacing` runs first (a check that the name is
 * still free) and the rename replaces.
 *
 * @example Usage
 * ```ts
 * import { renameat } from "./libc.ts";
 * // renameat(dirfd, from, dirfd, to, true, "/replica/a");
 * ```
 *
 * @param fromFd The folder it is in.
 * @param from Its name.
 * @param toFd The folder it goes to.
 * @param to Its new name.
 * @param noReplace Refuse to replace an entry.
 * @param where The path for messages.
 * @param beforeReplacing With `noReplace`, run before a rename that could replace.
 */
export function renameat(
  fromFd: number,
  from: CPath,
  toFd: number,
  to: CPath,
  noReplace: boolean,
  where: string,
  beforeReplacing?: () => void,
): void {
  if (noReplace && !noRenameat2) {
    try {
      run(
        "renameat2",
        where,
        () => S.renameat2(RENAMEAT2, fromFd, from, toFd, to, RENAME_NOREPLACE),
      );
      return;
    } catch (error) {
      const number = (error as ErrnoError).errno;
      if (number !== E.ENOSYS && number !== E.EINVAL) throw error;
      if (number === E.ENOSYS) noRenameat2 = true;
    }
  }
  if (noReplace) beforeReplacing?.();
  run("renameat", where, () => S.renameat(fromFd, from, toFd, to));
}

/** @ignore */
export function unlinkat(dirfd: number, path: CPath, flags: number, where: string): void {
  run("unlinkat", where, () => S.unlinkat(dirfd, path, flags));
}

/** @ignore */
export function symlinkat(target: CPath, dirfd: number, path: CPath, where: string): void {
  run("symlinkat", where, () => S.symlinkat(target, dirfd, path));
}

let linkBuf = new Uint8Array(4096);

/**
 * Reads a link's target bytes.
 *
 * @example Usage
 * ```ts
 * import { readlinkat } from "./libc.ts";
 * // readlinkat(dirfd, name, "/replica/link");
 * ```
 *
 * @param dirfd The folder handle.
 * @param path The link's name.
 * @param where The path for messages.
 * @returns The target's bytes (a copy).
 */
export function readlinkat(dirfd: number, path: CPath, where: string): Uint8Array {
  while (true) {
    const n = run(
      "readlinkat",
      where,
      () => S.readlinkat(dirfd, path, linkBuf, BigInt(linkBuf.length)),
    );
    if (n < linkBuf.length) return linkBuf.slice(0, n);
    linkBuf = new Uint8Array(linkBuf.length * 2);
  }
}

/** @ignore */
export function linkat(fromFd: number, from: CPath, toFd: number, to: CPath, where: string): void {
  run("linkat", where, () => S.linkat(fromFd, from, toFd, to, 0));
}

/** @ignore */
export function fchmod(fd: number, mode: number, where: string): void {
  run("fchmod", where, () => S.fchmod(fd, mode));
}

/** @ignore */
export function fchmodat(dirfd: number, path: CPath, mode: number, where: string): void {
  run("fchmodat", where, () => S.fchmodat(dirfd, path, mode, 0));
}

/** @ignore */
export function fchown(fd: number, uid: number, gid: number, where: string): void {
  run("fchown", where, () => S.fchown(fd, uid, gid));
}

/** @ignore */
export function fchownat(
  dirfd: number,
  path: CPath,
  uid: number,
  gid: number,
  flags: number,
  where: string,
): void {
  run("fchownat", where, () => S.fchownat(dirfd, path, uid, gid, flags));
}

/** Times to set: ns since the epoch; undefined leaves one alone. */
export interface Times {
  /** Access time. */
  atimeNs?: bigint;
  /** Modification time. */
  mtimeNs: bigint;
}

const times = new BigInt64Array(4);

function fillTimes(t: Times): BigInt64Array {
  const put = (i: number, ns: bigint | undefined) => {
    if (ns === undefined) {
      times[i] = 0n;
      times[i + 1] = BigInt(UTIME_OMIT);
      return;
    }
    let sec = ns / 1_000_000_000n;
    let nsec = ns % 1_000_000_000n;
    if (nsec < 0n) {
      sec -= 1n;
      nsec += 1_000_000_000n;
    }
    times[i] = sec;
    times[i + 1] = nsec;
  };
  put(0, t.atimeNs);
  put(2, t.mtimeNs);
  return times;
}

/** @ignore */
export function utimensat(
  dirfd: number,
  path: CPath,
  t: Times,
  flags: number,
  where: string,
): void {
  run("utimensat", where, () => S.utimensat(dirfd, path, fillTimes(t), flags));
}

/** @ignore */
export function futimens(fd: number, t: Times, where: string): void {
  run("futimens", where, () => S.futimens(fd, fillTimes(t)));
}

/** @ignore */
export function ftruncate(fd: number, size: number, where: string): void {
  run("ftruncate", where, () => S.ftruncate(fd, BigInt(size)));
}

/** @ignore */
export function pread(fd: number, buf: Uint8Array, offset: number, where: string): number {
  return run("pread", where, () => S.pread(fd, buf, BigInt(buf.length), BigInt(offset)));
}

/**
 * The next data (or hole) at or after `offset`; -1 when there is no more data.
 *
 * @example Usage
 * ```ts
 * import { seekData } from "./libc.ts";
 * // seekData(fd, 0, false, "/source/f");
 * ```
 *
 * @param fd The file.
 * @param offset Where to look from.
 * @param hole Look for a hole instead of data.
 * @param where The path for messages.
 * @returns The offset found, or -1 (ENXIO: no data beyond).
 */
export function seekData(fd: number, offset: number, hole: boolean, where: string): number {
  try {
    return run("lseek", where, () => S.lseek(fd, BigInt(offset), hole ? SEEK_HOLE : SEEK_DATA));
  } catch (error) {
    if ((error as ErrnoError).errno === E.ENXIO) return -1;
    throw error;
  }
}

/** @ignore */
export function seekTo(fd: number, offset: number, where: string): void {
  run("lseek", where, () => S.lseek(fd, BigInt(offset), SEEK_SET));
}

/** One copy's file offsets, kept alive across a call on the blocking pool. */
export class Offsets {
  /** Input offset then output offset (loff_t each). */
  readonly both = new BigInt64Array(2);
  /** The input offset alone (for sendfile). */
  readonly input = new BigInt64Array(this.both.buffer, 0, 1);
  /** The output offset alone. */
  readonly output = new BigInt64Array(this.both.buffer, 8, 1);
}

/**
 * Copies up to `len` bytes between two files from `offsets` (advanced), with
 * `copy_file_range`, or `sendfile` (`viaSendfile`: the output's position must
 * be at the offset). `pooled`: on Deno's blocking pool, so several big copies
 * run at once; its errno is lost with the other thread, so a failure is
 * repeated here to read it.
 *
 * @example Usage
 * ```ts
 * import { copyRange, Offsets } from "./libc.ts";
 * // await copyRange(input, output, new Offsets(), 1 << 20, false, false, "/replica/f");
 * ```
 *
 * @param input Source file.
 * @param output Target file.
 * @param offsets Offsets in both.
 * @param len Bytes at most.
 * @param viaSendfile Use sendfile (copy_file_range refused: another filesystem).
 * @param pooled Run on the blocking pool.
 * @param where The path for messages.
 * @returns Bytes copied (0 at the end of the input).
 */
export async function copyRange(
  input: number,
  output: number,
  offsets: Offsets,
  len: number,
  viaSendfile: boolean,
  pooled: boolean,
  where: string,
): Promise<number> {
  if (pooled) {
    const n = Number(
      viaSendfile
        ? await S.sendfile_async(output, input, offsets.input, BigInt(len))
        : await S.copy_file_range_async!(
          input,
          offsets.input,
          output,
          offsets.output,
          BigInt(len),
          0,
        ),
    );
    if (n !== -1) {
      if (viaSendfile) offsets.output[0] += BigInt(n);
      return n;
    }
  }
  return copyRangeSync(input, output, offsets, len, viaSendfile, where);
}

/** The synchronous twin of {@linkcode copyRange}. */
export function copyRangeSync(
  input: number,
  output: number,
  offsets: Offsets,
  len: number,
  viaSendfile: boolean,
  where: string,
): number {
  if (viaSendfile) {
    const n = run("sendfile", where, () => S.sendfile(output, input, offsets.input, BigInt(len)));
    offsets.output[0] += BigInt(n);
    return n;
  }
  if (S.copy_file_range === null) throw errnoError(E.ENOSYS, "copy_file_range", where);
  return run(
    "copy_file_range",
    where,
    () => S.copy_file_range!(input, offsets.input, output, offsets.output, BigInt(len), 0),
  );
}
