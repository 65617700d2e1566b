/**
 * `statx` for the native engine: one layout on every Linux architecture, nanosecond
 * times, whether an entry is a mount root. Needs `--allow-ffi`.
 *
 * @module
 */
import { AT, E, run, runOr, S, STATX_ATTR_MOUNT_ROOT, STATX_BASIC_STATS, SYS } from "./ffi.ts";

/** Encoded paths for the calls: NUL-terminated bytes (see names.ts). */
type CPath = Uint8Array;

const EMPTY = new Uint8Array([0]);
const STATX = BigInt(SYS.statx);

const statBuf = new Uint8Array(256);
const statView = new DataView(statBuf.buffer);

/** What `statx` says of an entry. */
export interface Stat {
  /** `st_mode` (type and permission bits). */
  mode: number;
  /** Device, encoded as glibc's `makedev` (what Deno's `FileInfo.dev` gives). */
  dev: number;
  /** Inode. */
  ino: number;
  /** Bytes. */
  size: number;
  /** 512-byte blocks. */
  blocks: number;
  /** Hard links. */
  nlink: number;
  /** Owner. */
  uid: number;
  /** Group. */
  gid: number;
  /** Access time, whole ms since the epoch (rounded down). */
  atimeMs: number;
  /** Modification time, whole ms since the epoch (rounded down). */
  mtimeMs: number;
  /** Access time, ns since the epoch. */
  atimeNs: bigint;
  /** Modification time, ns since the epoch. */
  mtimeNs: bigint;
  /** True at the root of a mount (a mount point as seen from above); undefined when the kernel does not say (before 5.8). */
  mountRoot?: boolean;
}

/**
 * `statx` of `path` below `dirfd` (an empty path with `AT.EMPTY_PATH`: the handle itself).
 *
 * @example Usage
 * ```ts
 * import { AT, statx } from "./libc.ts";
 * statx(AT.FDCWD, new TextEncoder().encode(".\0"), 0, ".").nlink > 0; // true
 * ```
 *
 * @param dirfd The folder handle.
 * @param path The path (NUL-terminated).
 * @param flags AT_* flags.
 * @param where The path for messages.
 * @returns The entry's metadata.
 */
export function statx(dirfd: number, path: CPath, flags: number, where: string): Stat {
  run(
    "statx",
    where,
    () => S.statx(STATX, dirfd, path, flags, STATX_BASIC_STATS, statBuf),
  );
  return decodeStat();
}

/**
 * {@linkcode statx}, or undefined when there is nothing at `path` (no error built).
 *
 * @example Usage
 * ```ts
 * import { AT, statxIfAny } from "./libc.ts";
 * statxIfAny(AT.FDCWD, new TextEncoder().encode("/nowhere\0"), 0, "/nowhere"); // undefined
 * ```
 *
 * @param dirfd The folder handle `path` is relative to.
 * @param path The name, NUL-terminated.
 * @param flags `AT_*` flags.
 * @param where The path for error messages.
 * @returns What is there, or undefined.
 */
export function statxIfAny(
  dirfd: number,
  path: CPath,
  flags: number,
  where: string,
): Stat | undefined {
  const found = runOr(
    E.ENOENT,
    "statx",
    where,
    () => S.statx(STATX, dirfd, path, flags, STATX_BASIC_STATS, statBuf),
  );
  return found === -1 ? undefined : decodeStat();
}

function decodeStat(): Stat {
  const v = statView;
  const major = v.getUint32(136, true), minor = v.getUint32(140, true);
  // 64-bit fields read as two halves: a number, not a BigInt, per field.
  const aSec = v.getUint32(64, true) + v.getInt32(68, true) * 2 ** 32;
  const aNsec = v.getUint32(72, true);
  const mSec = v.getUint32(112, true) + v.getInt32(116, true) * 2 ** 32;
  const mNsec = v.getUint32(120, true);
  const st: Stat = {
    mode: v.getUint16(28, true),
    dev: (major >>> 12) * 2 ** 44 + (minor >>> 8) * 2 ** 20 + (major & 0xfff) * 256 +
      (minor & 0xff),
    ino: v.getUint32(32, true) + v.getUint32(36, true) * 2 ** 32,
    size: v.getUint32(40, true) + v.getUint32(44, true) * 2 ** 32,
    blocks: v.getUint32(48, true) + v.getUint32(52, true) * 2 ** 32,
    nlink: v.getUint32(16, true),
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    atimeMs: aSec * 1000 + Math.floor(aNsec / 1_000_000),
    mtimeMs: mSec * 1000 + Math.floor(mNsec / 1_000_000),
    atimeNs: BigInt(aSec) * 1_000_000_000n + BigInt(aNsec),
    mtimeNs: BigInt(mSec) * 1_000_000_000n + BigInt(mNsec),
  };
  // stx_attributes_mask (offset 56) says whether stx_attributes (offset 8) reports it.
  if ((v.getUint32(56, true) & STATX_ATTR_MOUNT_ROOT) !== 0) {
    st.mountRoot = (v.getUint32(8, true) & STATX_ATTR_MOUNT_ROOT) !== 0;
  }
  return st;
}

/**
 * `statx` of the handle itself.
 *
 * @example Usage
 * ```ts
 * import { AT, fstatx } from "./libc.ts";
 * fstatx(AT.FDCWD, ".").mode > 0; // true
 * ```
 *
 * @param fd The handle.
 * @param where Its path, for messages.
 * @returns Its metadata.
 */
export function fstatx(fd: number, where: string): Stat {
  return statx(fd, EMPTY, AT.EMPTY_PATH, where);
}
