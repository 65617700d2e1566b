/**
 * `--itemize-changes`: rsync's itemized change codes (`rsync -i`, its `%i`),
 * built from what the planner found different. Pure.
 *
 * A code is 11 characters, `YXcstpoguax`: Y what is done (`>` a file copied
 * in, `c` a folder or link made, `h` a hard link made, `.` attributes only),
 * X the kind (`f`, `d`, `L`, `S`), then one column per attribute: its letter
 * when it changes, `.` when not, `+` everywhere for a new entry, spaces
 * everywhere when nothing but the entry itself changes. A removal is
 * `*deleting  `.
 *
 * @module
 */
import type { EntryKind } from "./types.ts";

/**
 * What rsync's first column says is done: copied in, made locally,
 * hard-linked, attributes only, or removed (`*`).
 */
export type ItemUpdate = ">" | "c" | "h" | "." | "*";

/**
 * What differs, in rsync's letters: `+` for an entry new to the replica (or
 * of another kind than the one there), else any of `c` (content, or a link's
 * target), `s` (size), `t` (mtime set to the source's), `T` (mtime set to
 * the time of the change: a link made anew), `p` (permissions), `o` (owner),
 * `g` (group); "" for none.
 */
export type Changes = string;

const KIND: Record<EntryKind, string> = { file: "f", dir: "d", symlink: "L", other: "S" };

/** The attribute columns after YX, each with the letters it can show. */
const COLUMNS = ["c", "s", "tT", "p", "o", "g", "u", "a", "x"];

/**
 * Builds the 11-character code of one change.
 *
 * @example Usage
 * ```ts
 * import { itemizeCode } from "./itemize.ts";
 * itemizeCode(">", "file", "+"); // ">f+++++++++"
 * itemizeCode(">", "file", "st"); // ">f.st......"
 * itemizeCode(".", "dir", "t"); // ".d..t......"
 * itemizeCode("h", "file", ""); // "hf         "
 * itemizeCode("*", "dir", ""); // "*deleting  "
 * ```
 *
 * @param update What is done.
 * @param kind The entry's kind.
 * @param changes What differs (see {@linkcode Changes}); not shown for a removal.
 * @returns The code.
 */
export function itemizeCode(update: ItemUpdate, kind: EntryKind, changes: Changes): string {
  if (update === "*") return "*deleting  ";
  const head = update + KIND[kind];
  if (changes === "+") return head + "+++++++++";
  if (changes === "") return head + "         ";
  let columns = "";
  for (const letters of COLUMNS) {
    let shown = ".";
    for (const letter of letters) if (changes.includes(letter)) shown = letter;
    columns += shown;
  }
  return head + columns;
}

/**
 * A path as rsync's itemized lines name it (its `%n`): a folder ends in `/`,
 * and the root is `./`.
 *
 * @example Usage
 * ```ts
 * import { itemizeName } from "./itemize.ts";
 * itemizeName(".", "dir"); // "./"
 * itemizeName("a/b", "dir"); // "a/b/"
 * itemizeName("a/c.txt", "file"); // "a/c.txt"
 * ```
 *
 * @param path The path relative to the roots ("." or "" for the root).
 * @param kind Its kind.
 * @returns The name.
 */
export function itemizeName(path: string, kind: EntryKind): string {
  if (path === "." || path === "") return "./";
  return kind === "dir" ? path + "/" : path;
}
