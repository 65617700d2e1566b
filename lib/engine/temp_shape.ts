/**
 * The shape of the engine's temporary names and the test for it; pure (no permissions needed).
 *
 * @module
 */

/** What every temporary name begins with. */
export const TEMP_PREFIX = ".foldersync-tmp-";
const TEMP_PATTERN = /^\.foldersync-tmp-[0-9a-f]{16}$/;

/**
 * Tells whether a name has exactly the shape of our temporary files. The
 * planner only removes such a name when it is in the replica and not in the
 * source, so a mirrored file that merely looks temporary is never touched.
 *
 * @example Usage
 * ```ts
 * import { isTempName } from "./temp_shape.ts";
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
