/**
 * `--xattrs` in the native engine: reads and sets the extended attributes
 * mirrored (`user.*`; `trusted.*` and `security.*` as root; ACLs as their
 * `system.posix_acl_*` attributes) on a handle, by its `/proc/self/fd` link
 * (the engine's handles are O_PATH, which the f*xattr calls refuse). Needs `--allow-ffi`.
 *
 * @module
 */
import type { Entry } from "../../types.ts";
import { E, type ErrnoError, run, S } from "./ffi.ts";
import * as c from "./libc.ts";
import { toEntry } from "./entry.ts";

/** Attributes by name. */
export type Xattrs = ReadonlyMap<string, Uint8Array>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Root reads and sets `trusted.*` and `security.*`; anyone else gets EPERM, so they are left out. */
const ROOT = S.geteuid() === 0;
let buf = new Uint8Array(64 * 1024);

/**
 * Whether an attribute is mirrored by this process (see the module's doc).
 *
 * @example Usage
 * ```ts
 * import { mirrored } from "./xattrs.ts";
 * mirrored("user.comment"); // true
 * mirrored("system.nfs4_acl"); // false
 * ```
 *
 * @param name The attribute's name.
 * @returns True when it is read, set and removed.
 */
export function mirrored(name: string): boolean {
  if (name.startsWith("user.")) return true;
  if (name === "system.posix_acl_access" || name === "system.posix_acl_default") return true;
  return ROOT && (name.startsWith("trusted.") || name.startsWith("security."));
}

function procPath(fd: number): Uint8Array {
  return encoder.encode(`/proc/self/fd/${fd}\0`);
}

function z(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

/** Calls `fn` with the shared buffer, doubled while the kernel says it is too small (ERANGE). */
function sized(call: string, where: string, fn: (b: Uint8Array) => number | bigint): Uint8Array {
  while (true) {
    try {
      return buf.subarray(0, run(call, where, () => fn(buf)));
    } catch (error) {
      if ((error as ErrnoError).errno !== E.ERANGE) throw error;
      buf = new Uint8Array(buf.length * 2);
    }
  }
}

/**
 * The mirrored attributes of the entry a handle holds; an entry on a
 * filesystem without attributes has none.
 *
 * @example Usage
 * ```ts
 * import { readXattrs } from "./xattrs.ts";
 * // readXattrs(fd, "/source/a").get("user.comment");
 * ```
 *
 * @param fd A handle on the entry (O_PATH will do).
 * @param where Its path, for messages.
 * @returns The attributes.
 */
export function readXattrs(fd: number, where: string): Map<string, Uint8Array> {
  const path = procPath(fd);
  const found = new Map<string, Uint8Array>();
  let list: Uint8Array;
  try {
    list = sized("listxattr", where, (b) => S.listxattr(path, b, BigInt(b.length)));
  } catch (error) {
    if ((error as ErrnoError).errno === E.EOPNOTSUPP) return found;
    throw error;
  }
  const names = decoder.decode(list).split("\0").filter((name) => name !== "" && mirrored(name));
  for (const name of names) {
    const zname = z(name);
    try {
      const value = sized("getxattr", where, (b) => S.getxattr(path, zname, b, BigInt(b.length)));
      found.set(name, value.slice());
    } catch (error) {
      if ((error as ErrnoError).errno !== E.ENODATA) throw error; // Removed since the list.
    }
  }
  return found;
}

/**
 * Makes the mirrored attributes of the entry a handle holds `want`: those
 * that differ are set, those not wanted removed. After a chown (which clears
 * `security.capability`), before a chmod (an ACL sets the group bits).
 *
 * @example Usage
 * ```ts
 * import { writeXattrs } from "./xattrs.ts";
 * // writeXattrs(fd, new Map([["user.comment", bytes]]), "/replica/a");
 * ```
 *
 * @param fd A handle on the entry (O_PATH will do).
 * @param want The attributes it must have.
 * @param where Its path, for messages.
 */
export function writeXattrs(fd: number, want: Xattrs, where: string): void {
  const path = procPath(fd);
  const have = readXattrs(fd, where);
  for (const [name, value] of want) {
    const now = have.get(name);
    if (now !== undefined && now.length === value.length && now.every((b, i) => b === value[i])) {
      continue;
    }
    run("setxattr", where, () => S.setxattr(path, z(name), value, BigInt(value.length), 0));
  }
  for (const name of have.keys()) {
    if (want.has(name)) continue;
    try {
      run("removexattr", where, () => S.removexattr(path, z(name)));
    } catch (error) {
      if ((error as ErrnoError).errno !== E.ENODATA) throw error;
    }
  }
}

/**
 * An entry as `statx` sees it through a handle of its own (never a link
 * followed), with its attributes when it is a file or folder whose
 * attributes may be read (undefined when not: left alone).
 *
 * @example Usage
 * ```ts
 * import { statWithXattrs } from "./xattrs.ts";
 * // statWithXattrs(dirfd, name, "a", "/source/a").xattrs;
 * ```
 *
 * @param dirfd The folder's handle.
 * @param name The entry's name (NUL-terminated bytes).
 * @param text The entry's name as text.
 * @param where Its path, for messages.
 * @returns The entry.
 */
export function statWithXattrs(
  dirfd: number,
  name: Uint8Array,
  text: string,
  where: string,
): Entry {
  const fd = c.openat(dirfd, name, c.O.PATH | c.O.NOFOLLOW | c.O.CLOEXEC, 0, where);
  try {
    const entry = toEntry(text, c.fstatx(fd, where));
    if (entry.kind === "file" || entry.kind === "dir") {
      try {
        entry.xattrs = readXattrs(fd, where);
      } catch (error) {
        const code = (error as ErrnoError).errno;
        if (code !== E.EACCES && code !== E.EPERM) throw error;
      }
    }
    return entry;
  } finally {
    c.close(fd);
  }
}
