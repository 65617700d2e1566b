/**
 * `--xattrs`: what differs between two entries' extended attributes, as the
 * planner and apply phase need it. Pure, no permissions.
 *
 * @module
 */
import type { Entry } from "./types.ts";

/** The ACLs, as Linux keeps them: `rsync -A` shows their changes as `a`, the others as `x`. */
const ACL = /^system\.posix_acl_(access|default)$/;

/**
 * rsync's letters for what differs between the attributes of a source entry
 * and of its replica: `a` for an ACL, `x` for any other attribute; "" when
 * they agree, or when either side's were not read (no `--xattrs`, or not
 * readable: then they are left alone).
 *
 * @example Usage
 * ```ts
 * import { xattrChanges } from "./xattrs.ts";
 * const bytes = new Uint8Array([1]);
 * xattrChanges({ xattrs: new Map([["user.a", bytes]]) }, { xattrs: new Map() }); // "x"
 * ```
 *
 * @param src The source entry.
 * @param dst The replica entry.
 * @returns "", "a", "x" or "ax".
 */
export function xattrChanges(src: Pick<Entry, "xattrs">, dst: Pick<Entry, "xattrs">): string {
  const a = src.xattrs, b = dst.xattrs;
  if (a === undefined || b === undefined) return "";
  let acl = false, other = false;
  const note = (name: string) => ACL.test(name) ? (acl = true) : (other = true);
  for (const [name, value] of a) if (!sameBytes(value, b.get(name))) note(name);
  for (const name of b.keys()) if (!a.has(name)) note(name);
  return (acl ? "a" : "") + (other ? "x" : "");
}

/**
 * The words an update event uses for those letters.
 *
 * @example Usage
 * ```ts
 * import { xattrWords } from "./xattrs.ts";
 * xattrWords("ax"); // "ACL, xattrs"
 * ```
 *
 * @param letters What {@linkcode xattrChanges} returned.
 * @returns The words ("" for none).
 */
export function xattrWords(letters: string): string {
  const words: string[] = [];
  if (letters.includes("a")) words.push("ACL");
  if (letters.includes("x")) words.push("xattrs");
  return words.join(", ");
}

function sameBytes(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
