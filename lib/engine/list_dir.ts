/**
 * The scan phase: one directory's entries, read with lstat.
 *
 * @module
 */
import type { Entry, EntryKind } from "./types.ts";
import type { DirListing, ScanProblem } from "./fs/types.ts";

export type { DirListing, ScanProblem };

/** Why two entries with the same decoded name are left alone. */
export const TWINS =
  "two entries have this name once decoded (one is not valid UTF-8): both left alone";

/**
 * The kind of entry an `lstat` (or `stat`) result describes.
 *
 * @param info What lstat returned.
 * @returns File, dir, symlink, or other (a FIFO, socket or device).
 */
export function kindOf(info: Deno.FileInfo): EntryKind {
  return info.isFile ? "file" : info.isDirectory ? "dir" : info.isSymlink ? "symlink" : "other";
}

/**
 * Converts a `Deno.FileInfo` from `lstat` into an {@linkcode Entry}.
 *
 * @example Usage
 * ```ts
 * import { toEntry } from "./list_dir.ts";
 * const entry = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * entry.kind; // "file"
 * ```
 *
 * @param name The entry's name.
 * @param info What lstat returned for it.
 * @returns The entry (a symlink's target is left unset).
 */
export function toEntry(name: string, info: Deno.FileInfo): Entry {
  const kind = kindOf(info);
  return {
    name,
    kind,
    size: kind === "file" ? info.size : 0,
    mtimeMs: info.mtime?.getTime() ?? 0,
    atimeMs: info.atime?.getTime() ?? 0,
    mode: (info.mode ?? 0) & 0o7777,
    dev: info.dev,
    ino: info.ino ?? 0,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
    blocks: info.blocks ?? 0,
    nlink: info.nlink ?? 1,
  };
}

/**
 * Lists one directory without following links: every entry is `lstat`ed and
 * every symlink's target text is read. Entries that vanish between the listing
 * and the `lstat` are left out; names that cannot be represented (invalid
 * UTF-8, which Deno decodes lossily so the name no longer opens) and entries
 * that cannot be `lstat`ed are reported as problems. Two names that decode to
 * the same text (one of them not valid UTF-8) are both reported and left out:
 * the path would reach only one of them, so neither may be copied over or
 * removed because of the other. Synchronous on purpose:
 * on a warm cache a sync `lstat` costs a fraction of an async op.
 *
 * Throws when the directory itself cannot be read.
 *
 * @example Usage
 * ```ts
 * import { listDir } from "./list_dir.ts";
 * const { entries } = listDir(".");
 * entries.map((e) => e.name);
 * ```
 *
 * @param dir The directory's path.
 * @returns Its entries sorted by name, and the problems met.
 */
export function listDir(dir: string): DirListing {
  const entries: Entry[] = [];
  const problems: ScanProblem[] = [];
  for (const item of Deno.readDirSync(dir)) {
    const name = item.name;
    const path = dir + "/" + name;
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        if (name.includes("\uFFFD")) {
          problems.push({ name, message: "name is not valid UTF-8" });
        }
        continue; // vanished since the listing
      }
      problems.push({ name, message: "cannot read its metadata", error });
      continue;
    }
    const entry = toEntry(name, info);
    if (entry.kind === "symlink") {
      try {
        entry.target = Deno.readLinkSync(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        problems.push({ name, message: "cannot read the link's target", error });
        continue;
      }
    }
    entries.push(entry);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].name !== entries[i - 1].name) continue;
    const name = entries[i].name;
    let end = i + 1;
    while (end < entries.length && entries[end].name === name) end++;
    entries.splice(i - 1, end - i + 1);
    problems.push({ name, message: TWINS });
    i--;
  }
  return { entries, problems };
}
