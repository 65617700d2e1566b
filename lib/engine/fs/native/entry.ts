/**
 * What the native engine makes of `statx`: entries, kinds, times, the
 * comparison with what was seen, and byte-by-byte comparison of two open
 * files. Needs `--allow-ffi` (through libc.ts).
 *
 * @module
 */
import type { Entry, EntryKind } from "../../types.ts";
import type { Attrs, Seen } from "../types.ts";
import { ChangedError } from "../../recheck.ts";
import * as c from "./libc.ts";
import { encodeName } from "./names.ts";

/** Same kind, device and inode. */
export function same(a: NonNullable<Seen>, b: NonNullable<Seen>): boolean {
  return a.kind === b.kind && a.ino === b.ino && a.dev === b.dev;
}

/** Throws `ChangedError` unless `now` is what was seen (worded as recheck.ts words it). */
export function compare(path: string, now: Entry, seen: Seen): void {
  if (seen === undefined) throw new ChangedError(path, `a ${now.kind} appeared`);
  if (now.kind !== seen.kind) {
    throw new ChangedError(path, `a ${now.kind} stands where a ${seen.kind} was`);
  }
  if (now.ino !== seen.ino || now.dev !== seen.dev) {
    throw new ChangedError(path, `another ${now.kind} stands there`);
  }
}

/**
 * The entry at a name in a folder's handle now (no link followed), which must
 * be what was seen; undefined when nothing is there and nothing was seen.
 *
 * @example Usage
 * ```ts
 * import { checkName } from "./entry.ts";
 * // checkName(fd, "a.txt", seen, "/replica/a.txt");
 * ```
 *
 * @param fd The folder's handle.
 * @param name The name in it.
 * @param seen What the scan saw there.
 * @param path Its path, for messages.
 * @returns The entry found.
 * @throws {ChangedError} When it is not what was seen.
 */
export function checkName(fd: number, name: string, seen: Seen, path: string): Entry | undefined {
  const found = c.statxIfAny(fd, encodeName(name), c.AT.SYMLINK_NOFOLLOW, path);
  if (found === undefined) {
    if (seen === undefined) return undefined;
    throw new ChangedError(path, "it is gone");
  }
  const entry = toEntry(name, found);
  compare(path, entry, seen);
  return entry;
}

/**
 * The kind of entry an `st_mode` describes.
 *
 * @param mode `st_mode`.
 * @returns File, dir, symlink, or other.
 */
export function kindOfMode(mode: number): EntryKind {
  const type = mode & 0o170000;
  return type === 0o100000
    ? "file"
    : type === 0o040000
    ? "dir"
    : type === 0o120000
    ? "symlink"
    : "other";
}

/**
 * An {@linkcode Entry} from what `statx` said.
 *
 * @param name The entry's name.
 * @param st Its metadata.
 * @returns The entry (a link's target unset).
 */
export function toEntry(name: string, st: c.Stat): Entry {
  const kind = kindOfMode(st.mode);
  const entry: Entry = {
    name,
    kind,
    size: kind === "file" ? st.size : 0,
    mtimeMs: st.mtimeMs,
    atimeMs: st.atimeMs,
    mode: st.mode & 0o7777,
    dev: st.dev,
    ino: st.ino,
    uid: st.uid,
    gid: st.gid,
    blocks: st.blocks,
    nlink: st.nlink,
    mtimeNs: st.mtimeNs,
    atimeNs: st.atimeNs,
  };
  if (st.mountRoot) entry.mountRoot = true; // Rare: set only where true.
  return entry;
}

/**
 * The times to set, in nanoseconds (`*Ns` when given, else the milliseconds).
 *
 * @param t Times as `Attrs` gives them.
 * @returns Times for utimensat / futimens.
 */
export function timesOf(t: NonNullable<Attrs["times"]>): c.Times {
  return {
    atimeNs: t.atimeNs ?? BigInt(Math.round(t.atimeMs * 1000)) * 1000n,
    mtimeNs: t.mtimeNs ?? BigInt(Math.round(t.mtimeMs * 1000)) * 1000n,
  };
}

const bufA = new Uint8Array(256 * 1024);
const bufB = new Uint8Array(256 * 1024);

/** Compares two open files byte by byte (positional reads: the handles' offsets are left alone). */
export function equalFiles(fa: number, fb: number, pathA: string, pathB: string): boolean {
  for (let offset = 0;;) {
    const na = fill(fa, bufA, offset, pathA);
    const nb = fill(fb, bufB, offset, pathB);
    if (na !== nb) return false;
    if (na === 0) return true;
    for (let k = 0; k < na; k++) if (bufA[k] !== bufB[k]) return false;
    if (na < bufA.length) return true;
    offset += na;
  }
}

function fill(fd: number, buf: Uint8Array, offset: number, path: string): number {
  let filled = 0;
  while (filled < buf.length) {
    const n = c.pread(fd, buf.subarray(filled), offset + filled, path);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}
