/**
 * The floor of a no-change rescan in Deno: walk the source and the replica
 * with `Deno.readDirSync` and `Deno.lstatSync` on one thread and do nothing
 * else (no comparison, no logging, no worker). Timed as a whole process next
 * to `rsync -a --delete`, it shows how much of foldersync's rescan time is
 * Deno's own per-call cost:
 *
 * ```sh
 * deno run --allow-read bench/scan_floor.ts SRC REPLICA
 * ```
 *
 * @module
 */

/**
 * Walks `dir` depth first without following links; returns how many entries it saw.
 *
 * @example Usage
 * ```ts
 * import { walk } from "./scan_floor.ts";
 * walk("lib") > 0; // true
 * ```
 *
 * @param dir The directory.
 * @returns The number of entries under it.
 */
export function walk(dir: string): number {
  let n = 0;
  for (const item of Deno.readDirSync(dir)) {
    const path = dir + "/" + item.name;
    const info = Deno.lstatSync(path);
    n++;
    if (info.isDirectory) n += walk(path);
  }
  return n;
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: deno run --allow-read bench/scan_floor.ts DIR [DIR ...]");
    Deno.exit(2);
  }
  let total = 0;
  for (const dir of Deno.args) total += walk(dir);
  console.log(`${total} entries`);
}
