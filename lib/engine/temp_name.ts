/**
 * Names of the temporary files the engine writes before renaming into place.
 *
 * @module
 */

import { TEMP_PREFIX } from "./temp_shape.ts";

/** Random bytes drawn in batches: one `getRandomValues` per file cost ~5 µs. */
const pool = new Uint8Array(4096);
let used = pool.length;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * Makes a fresh temporary name: `.foldersync-tmp-` and 16 random hex digits,
 * drawn anew for every file. The name must not be guessable: `Deno.copyFile`
 * opens its destination without `O_EXCL` or `O_NOFOLLOW`, so a link (or FIFO)
 * planted at the next name by someone who can write the replica would be
 * written through (or block the run). The random bytes come from a batch,
 * refilled every 512 names.
 *
 * @example Usage
 * ```ts
 * import { makeTempName } from "./temp_name.ts";
 * makeTempName(); // ".foldersync-tmp-3f9c0a7d51e2b846"
 * ```
 *
 * @returns The name (no directory).
 */
export function makeTempName(): string {
  if (used + 8 > pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  let name = TEMP_PREFIX;
  for (let i = 0; i < 8; i++) name += HEX[pool[used + i]];
  used += 8;
  return name;
}
