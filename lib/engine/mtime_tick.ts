/**
 * The replica filesystem's mtime granularity, learned once per filesystem and
 * kept for the run; no permissions of its own.
 *
 * ext4 with 128-byte inodes keeps whole seconds, FAT two, exFAT 10 ms. A
 * copy's mtime is cut to it, so comparing it with the source's to the
 * millisecond would copy the file again every cycle. Learned by setting an
 * mtime on a file of ours and reading it back.
 *
 * @module
 */
import type { FileSystem, Folder } from "./fs/types.ts";
import { makeTempName } from "./temp_name.ts";

/** An odd second and 625 ms (exact in binary), in 2020: within what 128-byte ext4 inodes and FAT hold. */
const PROBE_MS = 1_600_000_001_625;

/** The granularities told apart, in ms: a read-back off by less than one of them is cut to it. */
const TICKS = [1, 10, 100, 1000, 2000];

/**
 * Granularity (ms) by device, for one run.
 *
 * @example Usage
 * ```ts
 * import { MtimeTicks } from "./mtime_tick.ts";
 * new MtimeTicks().of(undefined); // 1
 * ```
 */
export class MtimeTicks {
  #ticks = new Map<number, number>();

  /**
   * Learns the granularity of the filesystem holding `dir`, unless known:
   * creates a private file (a temporary name) there with an mtime set,
   * reads it back, and removes it. A probe that cannot be made (a read-only
   * folder) teaches nothing: the next cycle tries again. Changes the folder's mtime.
   *
   * @returns Whether the granularity is known now.
   */
  probe(fs: FileSystem, dir: Folder): boolean {
    if (this.#ticks.has(dir.seen.dev)) return true;
    const name = makeTempName();
    try {
      const made = fs.touch({ dir, name, seen: undefined }, {
        atimeMs: PROBE_MS,
        mtimeMs: PROBE_MS,
      });
      fs.remove({ dir, name, seen: made });
      const off = Math.abs(PROBE_MS - made.mtimeMs);
      // Off by more than FAT's two seconds: the filesystem ignores the time set; nothing to learn.
      this.#ticks.set(dir.seen.dev, TICKS.find((tick) => off < tick) ?? 1);
      return true;
    } catch {
      // Not writable, or the name changed meanwhile (a stale temporary name, removed by a later cycle).
      return false;
    }
  }

  /** The granularity learned for a filesystem, in ms: 1 when it keeps ms or finer, or is not known. */
  of(dev: number | undefined): number {
    return (dev === undefined ? undefined : this.#ticks.get(dev)) ?? 1;
  }
}
