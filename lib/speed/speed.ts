/**
 * A run's worker threads: the source prefetch and the small-file copier, started on first use,
 * kept across cycles and stopped together by whoever made them. Needs `--allow-read` on lib/ to
 * start the workers (without it everything runs on the calling thread).
 *
 * @module
 */
import { Prefetcher, type SourceLister } from "./prefetch.ts";
import type { Entry } from "../engine/types.ts";
import { type Copier, startCopier } from "./copier.ts";
import { startNativeCopier } from "./native_ring.ts";

/** Worker threads of the native engine's copier. */
const NATIVE_THREADS = 2;

/**
 * The two speed mechanisms of a whole-tree cycle: the source listed ahead on a worker
 * (prefetch.ts), and small files copied on two workers (copier.ts). Both are on unless a caller
 * says otherwise: `bench/variant.ts` switches one off to measure what it earns (bench/README.md).
 */
export interface SpeedMechanisms {
  /** List the source ahead on a worker. */
  prefetch: boolean;
  /** Copy small files on workers. */
  copyWorkers: boolean;
}

/**
 * The worker threads of one run, handed to each whole-tree cycle (`SyncOptions.speed`); one
 * {@linkcode Speed.close} stops them all.
 *
 * @example Usage
 * ```ts
 * import { Speed } from "./speed.ts";
 * using speed = new Speed({ prefetch: true, copyWorkers: false });
 * const lister = speed.lister("lib", [["", undefined]], []);
 * await lister?.list("");
 * lister?.close();
 * ```
 */
export class Speed implements Disposable {
  readonly #mechanisms: SpeedMechanisms;
  readonly #prefetcher = new Prefetcher();
  /** Null until first asked for; undefined when the workers cannot be started. */
  #copier: Copier | undefined | null = null;
  #nativeCopier: Copier | undefined | null = null;
  #closed = false;

  /** @param mechanisms Which mechanisms are on (default: both). */
  constructor(mechanisms: SpeedMechanisms = { prefetch: true, copyWorkers: true }) {
    this.#mechanisms = { ...mechanisms };
  }

  /**
   * A lister of the source from `start` on the prefetch worker (see `Prefetcher.source`);
   * undefined when prefetch is off, this is closed, or the worker cannot start.
   *
   * @param root The source root.
   * @param starts The folders to walk (see `Prefetcher.source`).
   * @param exclude The filter rules (see exclude.ts).
   * @param dev `--one-file-system`: the source root's device.
   * @param native List through the native engine.
   * @returns The lister, or undefined.
   */
  lister(
    root: string,
    starts: [string, Entry | undefined][],
    exclude: string[],
    dev?: number,
    native = false,
  ): SourceLister | undefined {
    if (!this.#mechanisms.prefetch || this.#closed) return undefined;
    return this.#prefetcher.source(root, starts, exclude, undefined, dev, native);
  }

  /**
   * The copier (two worker threads), started on first use; undefined when copy workers are
   * off, cannot be started, one failed, or this is closed. The native engine's has its own
   * workers, which take jobs from shared memory (native_ring.ts).
   *
   * @param native For the native engine's jobs.
   * @returns The copier, or undefined.
   */
  copier(native = false): Copier | undefined {
    if (!this.#mechanisms.copyWorkers || this.#closed) return undefined;
    if (native) {
      if (this.#nativeCopier === null) this.#nativeCopier = startNativeCopier(NATIVE_THREADS);
      return this.#nativeCopier?.broken ? undefined : this.#nativeCopier;
    }
    if (this.#copier === null) this.#copier = startCopier(2);
    return this.#copier?.broken ? undefined : this.#copier;
  }

  /** Stops the workers that were started; later cycles run on the calling thread. */
  close(): void {
    this.#closed = true;
    this.#prefetcher.close();
    this.#copier?.close();
    this.#copier = undefined;
    this.#nativeCopier?.close();
    this.#nativeCopier = undefined;
  }

  /** Same as {@linkcode Speed.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
