/**
 * libc loaded through `Deno.dlopen` (glibc or musl), its constants per
 * architecture (x86_64, aarch64), and errno turned into `Deno.errors` classes
 * with a `code`. Needs `--allow-ffi`.
 *
 * @module
 */

const arch = Deno.build.arch;
const x86 = arch === "x86_64";

/** Open flags (the O_DIRECTORY family differs between x86_64 and aarch64). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  CREAT: 0o100,
  EXCL: 0o200,
  NONBLOCK: 0o4000,
  DIRECTORY: x86 ? 0o200000 : 0o40000,
  NOFOLLOW: x86 ? 0o400000 : 0o100000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** `*at` flags. */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  EMPTY_PATH: 0x1000,
} as const;

/** `openat2` resolve flags. */
export const RESOLVE = { NO_MAGICLINKS: 2, NO_SYMLINKS: 4, BENEATH: 8 } as const;

export const RENAME_NOREPLACE = 1;
export const SEEK_SET = 0;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
export const STATX_BASIC_STATS = 0x7ff;
/** `stx_attributes` bit: the entry is the root of a mount (Linux 5.8). */
export const STATX_ATTR_MOUNT_ROOT = 0x2000;
export const UTIME_OMIT = (1 << 30) - 2;

/** Syscall numbers for what glibc or musl may lack a wrapper for. */
export const SYS = x86
  ? { openat2: 437, getdents64: 217, renameat2: 316, statx: 332 }
  : { openat2: 437, getdents64: 61, renameat2: 276, statx: 291 };

const NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  95: "EOPNOTSUPP",
  116: "ESTALE",
  122: "EDQUOT",
};
/** errno values the engine branches on. */
export const E = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EACCES: 13,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EINVAL: 22,
  ERANGE: 34,
  ENOSYS: 38,
  ELOOP: 40,
  ENODATA: 61,
  EOPNOTSUPP: 95,
} as const;

const SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  openat2: {
    name: "syscall",
    parameters: ["i64", "i32", "buffer", "buffer", "usize"],
    result: "i64",
  },
  close: { parameters: ["i32"], result: "i32" },
  statx: {
    name: "syscall",
    parameters: ["i64", "i32", "buffer", "i32", "u32", "buffer"],
    result: "i64",
  },
  getdents64: { name: "syscall", parameters: ["i64", "i32", "buffer", "usize"], result: "i64" },
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  renameat: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  renameat2: {
    name: "syscall",
    parameters: ["i64", "i32", "buffer", "i32", "buffer", "u32"],
    result: "i64",
  },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  linkat: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchmodat: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fchownat: { parameters: ["i32", "buffer", "u32", "u32", "i32"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  copy_file_range: {
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "isize",
    optional: true,
  },
  copy_file_range_async: {
    name: "copy_file_range",
    parameters: ["i32", "buffer", "i32", "buffer", "usize", "u32"],
    result: "isize",
    nonblocking: true,
    optional: true,
  },
  geteuid: { parameters: [], result: "u32" },
  // By path: the engine's handles are O_PATH, reached through their /proc/self/fd link.
  listxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  getxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  setxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  removexattr: { parameters: ["buffer", "buffer"], result: "i32" },
  sendfile: { parameters: ["i32", "i32", "buffer", "usize"], result: "isize" },
  sendfile_async: {
    name: "sendfile",
    parameters: ["i32", "i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
} as const;

/** glibc first, then musl's names for the same library. */
function load() {
  const candidates = ["libc.so.6", `ld-musl-${arch}.so.1`, `/lib/ld-musl-${arch}.so.1`, "libc.so"];
  let last: unknown;
  for (const path of candidates) {
    try {
      return Deno.dlopen(path, SYMBOLS);
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`cannot load libc (tried ${candidates.join(", ")}): ${last}`);
}

const lib = load();
/** The symbols. */
export const S = lib.symbols;
// errno is per thread; synchronous FFI calls run on this thread, so its address is fixed.
const errnoView = new Deno.UnsafePointerView(S.__errno_location()!);

/** The errno of the last failing synchronous call on this thread. */
function errno(): number {
  return errnoView.getInt32();
}

/** An error with `code` ("ENOENT") as the `Deno.errors` class Deno itself would throw. */
export interface ErrnoError extends Error {
  /** The errno's name. */
  code: string;
  /** The errno's number. */
  errno: number;
}

/**
 * Builds the error a failed call throws, worded like Deno's own.
 *
 * @example Usage
 * ```ts
 * import { errnoError } from "./libc.ts";
 * errnoError(2, "openat", "/x").code; // "ENOENT"
 * ```
 *
 * @param number The errno.
 * @param call The call that failed.
 * @param where The path it was made on (absolute, for the message).
 * @returns The error (not thrown).
 */
export function errnoError(number: number, call: string, where: string): ErrnoError {
  const code = NAMES[number] ?? `E${number}`;
  const text = Deno.UnsafePointerView.getCString(S.strerror(number)!);
  const message = `${text} (os error ${number}): ${call} '${where}'`;
  const Class = number === 2
    ? Deno.errors.NotFound
    : number === 1 || number === 13
    ? Deno.errors.PermissionDenied
    : number === 17
    ? Deno.errors.AlreadyExists
    : number === 20
    ? Deno.errors.NotADirectory
    : number === 21
    ? Deno.errors.IsADirectory
    : number === 40
    ? Deno.errors.FilesystemLoop
    : number === 16
    ? Deno.errors.Busy
    : Error;
  const error = new Class(message) as ErrnoError;
  error.code = code;
  error.errno = number;
  return error;
}

/**
 * Like {@linkcode run}, but a failure with `absent` (ENOENT, say) returns -1
 * instead of building an error: where absence is the expected answer.
 */
export function runOr(
  absent: number,
  call: string,
  where: string,
  fn: () => number | bigint,
): number {
  while (true) {
    const result = Number(fn());
    if (result !== -1) return result;
    const number = errno();
    if (number === absent) return -1;
    if (number !== E.EINTR) throw errnoError(number, call, where);
  }
}

/** Runs a call until it does not fail with EINTR; throws on any other failure. */
export function run(call: string, where: string, fn: () => number | bigint): number {
  while (true) {
    const result = Number(fn());
    if (result !== -1) return result;
    const number = errno();
    if (number !== E.EINTR) throw errnoError(number, call, where);
  }
}
