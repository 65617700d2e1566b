/**
 * What a portable copy is given: the path-based job (for copy_file_atomic.ts and the copy
 * workers) and whether a file is copied with synchronous calls. Pure, no permissions needed;
 * free of `node:fs`, so the native engine's runs never load it.
 *
 * @module
 */
import type { Entry } from "./types.ts";
import type { CopyIn } from "./fs/types.ts";
import type { CopyJob } from "./copy_file_atomic.ts";

/** Files up to this size are copied with sync calls (see copyFileAtomicSync). */
const INLINE_MAX = 256 * 1024;

/**
 * Tells whether a file should be copied with `copyFileAtomicSync` (copy_file_atomic.ts):
 * small enough that the thread's wait for it is shorter than an async call's
 * overhead.
 *
 * @example Usage
 * ```ts
 * import { copiesInline } from "./copy_job.ts";
 * import { toEntry } from "./list_dir.ts";
 * copiesInline(toEntry("deno.json", Deno.lstatSync("deno.json"))); // true
 * ```
 *
 * @param src The source file's entry.
 * @returns True to copy it synchronously.
 */
export function copiesInline(src: Entry): boolean {
  return src.size <= INLINE_MAX;
}

/**
 * The path-based job the copy functions (and the copy workers) take.
 *
 * @example Usage
 * ```ts
 * import { copyJob } from "./copy_job.ts";
 * // const job = copyJob({ from, to, owners });
 * ```
 *
 * @param job A copy through the seam.
 * @returns The same copy, by paths.
 */
export function copyJob(job: CopyIn): CopyJob {
  const { from, to } = job;
  return {
    src: from.dir.abs + "/" + from.name,
    dst: to.dir.abs + "/" + to.name,
    entry: from.entry,
    seen: to.seen,
    dir: to.dir.abs,
    dirSeen: to.dir.seen,
    dirIsRoot: to.dir.root,
    backup: job.backup,
  };
}
