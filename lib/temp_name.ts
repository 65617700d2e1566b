/**
 * Names of the temporary files the engine writes before renaming into place.
 *
 * @module
 */

const TEMP_PREFIX = ".foldersync-tmp-";
const TEMP_PATTERN = /^\.foldersync-tmp-[0-9a-f]{16}$/;

const PROCESS_PART = Array.from(
  crypto.getRandomValues(new Uint8Array(4)),
  (b) => b.toString(16).padStart(2, "0"),
).join("");
let counter = 0;

/**
 * Makes a fresh temporary name: `.foldersync-tmp-` and 16 hex digits, 8 random
 * per process and an 8-digit counter (a random draw per file cost ~5 µs, a
 * noticeable share of copying a small file).
 *
 * @example Usage
 * ```ts
 * import { makeTempName } from "./temp_name.ts";
 * makeTempName(); // ".foldersync-tmp-3f9c0a7d00000000"
 * ```
 *
 * @returns The name (no directory).
 */
export function makeTempName(): string {
  counter = (counter + 1) >>> 0;
  return TEMP_PREFIX + PROCESS_PART + counter.toString(16).padStart(8, "0");
}

/**
 * Tells whether a name has exactly the shape of our temporary files. The
 * planner only removes such a name when it is in the replica and not in the
 * source, so a mirrored file that merely looks temporary is never touched.
 *
 * @example Usage
 * ```ts
 * import { isTempName } from "./temp_name.ts";
 * isTempName(".foldersync-tmp-0123456789abcdef"); // true
 * isTempName(".foldersync-tmp-notes.txt"); // false
 * ```
 *
 * @param name A directory entry's name.
 * @returns True for names of our shape.
 */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) && TEMP_PATTERN.test(name);
}
