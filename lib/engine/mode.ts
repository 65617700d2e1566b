/**
 * The mode a replica entry gets, and modes as the log shows them; pure (no permissions needed).
 *
 * @module
 */

/**
 * Mode bits as four octal digits.
 *
 * @example Usage
 * ```ts
 * import { octal } from "./mode.ts";
 * octal(0o755); // "0755"
 * ```
 *
 * @param mode The bits.
 * @returns The text.
 */
export function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/**
 * The mode a replica file gets: the source's, less set-uid and set-gid when
 * the replica file's owner or group is not the source's (what `cp -p` does
 * when it cannot keep the owner): a copy is never set-uid to someone the
 * source was not.
 *
 * @example Usage
 * ```ts
 * import { targetMode } from "./mode.ts";
 * targetMode({ mode: 0o4755, uid: 65534, gid: 65534 }, { uid: 0, gid: 0 }); // 0o755
 * ```
 *
 * @param src The source file's mode and owner.
 * @param owner The replica file's owner.
 * @returns The mode bits to set.
 */
export function targetMode(
  src: { mode: number; uid: number; gid: number },
  owner: { uid: number; gid: number },
): number {
  return src.uid === owner.uid && src.gid === owner.gid ? src.mode : src.mode & ~0o6000;
}
