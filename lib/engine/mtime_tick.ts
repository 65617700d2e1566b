/**
 * The replica filesystem's mtime granularity: ext4 with 128-byte inodes keeps
 * whole seconds, FAT two, exFAT 10 ms. A copy's mtime is cut to it, so
 * comparing it with the source's to the millisecond would copy the file again
 * every cycle. Learned once per filesystem (device) by setting an mtime on a
 * file of ours and reading it back.
 *
 * @module
 */
import { type DirHandle, inDir } from "./in_dir.ts";
import { recheck } from "./recheck.ts";
import { makeTempName } from "./temp_name.ts";

/** An odd second and 625 ms (exact in binary), in 2020: within what 128-byte ext4 inodes and FAT hold. */
const PROBE_MS = 1_600_000_001_625;

/** The granularities told apart, in ms: a read-back off by less than one of them is cut to it. */
const TICKS = [1, 10, 100, 1000, 2000];

/** Granularity (ms) by device, learned by {@linkcode probeMtimeTick}. */
const ticks = new Map<number, number>();

/**
 * Learns the mtime granularity of the filesystem holding `dir`, unless known:
 * creates a private file (a temporary name) there, sets its mtime through
 * the open file (never a path a link could redirect), reads it back, and
 * removes the file. A probe that cannot be made (a read-only folder) teaches
 * nothing: the next cycle tries again. Creating it changes the directory's
 * mtime: look at `dir` again afterwards.
 *
 * Needs `--allow-read` and `--allow-write` on `dir`.
 *
 * @example Usage
 * ```ts
 * import { mtimeTick, probeMtimeTick } from "./mtime_tick.ts";
 * import { toEntry } from "./list_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * const seen = toEntry("", Deno.statSync(dir));
 * probeMtimeTick({ abs: dir, seen });
 * mtimeTick(seen.dev); // 1 on ext4, tmpfs, XFS, btrfs; 1000 on ext4 with 128-byte inodes
 * ```
 *
 * @param dir A replica directory the process may write.
 * @returns Whether the granularity is known now.
 */
export function probeMtimeTick(dir: DirHandle): boolean {
  if (ticks.has(dir.seen.dev)) return true;
  const name = makeTempName();
  try {
    const kept = inDir(dir, () => {
      const file = Deno.openSync(name, { createNew: true, write: true, mode: 0o600 });
      let info: Deno.FileInfo;
      try {
        file.utimeSync(PROBE_MS / 1000, PROBE_MS / 1000);
        info = file.statSync();
      } finally {
        file.close();
      }
      recheck(name, { kind: "file", dev: info.dev, ino: info.ino ?? 0 });
      Deno.removeSync(name);
      return info.mtime?.getTime();
    });
    if (kept === undefined) return false;
    const off = Math.abs(PROBE_MS - kept);
    // Off by more than FAT's two seconds: the filesystem ignores the time set; nothing to learn.
    ticks.set(dir.seen.dev, TICKS.find((tick) => off < tick) ?? 1);
    return true;
  } catch {
    // Not writable, or the name changed meanwhile (a stale temporary name, removed by a later cycle).
    return false;
  }
}

/**
 * The mtime granularity learned for a filesystem, in ms: 1 when it keeps
 * milliseconds or finer, or when it is not known (no probe made yet).
 *
 * @example Usage
 * ```ts
 * import { mtimeTick } from "./mtime_tick.ts";
 * mtimeTick(undefined); // 1
 * ```
 *
 * @param dev The filesystem's device (undefined: none yet).
 * @returns The granularity.
 */
export function mtimeTick(dev: number | undefined): number {
  return (dev === undefined ? undefined : ticks.get(dev)) ?? 1;
}
