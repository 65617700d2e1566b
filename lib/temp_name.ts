/**
 * Names of the temporary files the engine writes before renaming into place.
 *
 * @module
 */

const TEMP_PREFIX = ".foldersync-tmp-";
const TEMP_PATTERN = /^\.foldersync-tmp-[0-9a-f]{16}$/;

/**
 * Makes a fresh temporary name: `.foldersync-tmp-` and 16 random hex digits.
 *
 * @example Usage
 * ```ts
 * import { makeTempName } from "./temp_name.ts";
 * makeTempName(); // ".foldersync-tmp-3f9c0a7d12e4b8c5"
 * ```
 *
 * @returns The name (no directory).
 */
export function makeTempName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return TEMP_PREFIX + hex;
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
