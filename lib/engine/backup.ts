/**
 * `--backup_dir`: what a cycle removes or overwrites in the replica is moved
 * to `DIR/<cycle start>/<relative path>` instead of being lost, and
 * `--backup_keep` prunes the folders older than a given age.
 *
 * @module
 */
import type { Entry } from "./types.ts";
import type { FileSystem, Folder } from "./fs/types.ts";
import { type DirHandle, inDir, onDir } from "./in_dir.ts";
import { type DirListing, listDir, toEntry } from "./list_dir.ts";
import { recheck } from "./recheck.ts";

/** One cycle's backup folder. */
export interface Backup {
  /** The backup directory (absolute, its links resolved by the cycle's checks). */
  root: string;
  /** The cycle's folder name, e.g. `2026-12-02T083000Z`. */
  stamp: string;
}

/** Backup folder names: a UTC time to the second, and a counter when one second held two cycles. */
const STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:~\d+)?$/;

/**
 * The backup folder of a cycle that started at `time`: its UTC time to the
 * second, with `~N` added when a folder of that name exists already (two
 * cycles in one second).
 *
 * @example Usage
 * ```ts
 * import { cycleBackup } from "./backup.ts";
 * cycleBackup("/tmp/backups", new Date("2026-12-02T08:30:00Z")).stamp; // "2026-12-02T083000Z"
 * ```
 *
 * @param root The backup directory.
 * @param time When the cycle started.
 * @returns The cycle's backup.
 */
export function cycleBackup(root: string, time: Date): Backup {
  const base = time.toISOString().replace(/\.\d{3}Z$/, "Z").replaceAll(":", "");
  for (let n = 0;; n++) {
    const stamp = n === 0 ? base : `${base}~${n}`;
    try {
      Deno.lstatSync(`${root}/${stamp}`);
    } catch {
      return { root, stamp };
    }
  }
}

/**
 * Where the backup of a replica entry goes: the path, and the folder it goes
 * in as made or found ({@linkcode checkBackupTarget} compares it again right
 * before the move).
 */
export interface BackupTarget {
  /** The absolute path to move, link or copy the entry to (nothing there yet). */
  path: string;
  /** The folder holding it: device and inode. */
  dir: { dev: number; ino: number };
}

/** A backup folder is no longer the one made or found: nothing was moved there. */
export class BackupChangedError extends Error {
  /**
   * @param path The folder or path.
   * @param what What was found.
   */
  constructor(path: string, what: string) {
    super(`backup folder '${path}' ${what}: nothing was moved there; retried next cycle`);
    this.name = "BackupChangedError";
  }
}

/**
 * Where the backup of a replica entry goes, its parent folders created one
 * at a time below the backup directory, none of them a link (a folder met
 * as a link is refused, so a link planted in the backup tree cannot send an
 * entry elsewhere). An entry backed up twice in one cycle (an overwrite,
 * then a removal) keeps both: the later one gets a `~N` suffix.
 *
 * Needs `--allow-read` and `--allow-write` on the backup directory.
 *
 * @example Usage
 * ```ts
 * import { backupPath, cycleBackup } from "./backup.ts";
 * const backup = cycleBackup(Deno.makeTempDirSync(), new Date());
 * backupPath(backup, "a/b.txt").path; // ".../2026-…Z/a/b.txt"
 * ```
 *
 * @param backup The cycle's backup.
 * @param rel The entry's path relative to the replica.
 * @returns Where to move or copy it, and its folder as made.
 * @throws {BackupChangedError} When a folder on the way is a link or not a folder.
 */
export function backupPath(backup: Backup, rel: string): BackupTarget {
  let dir = backup.root;
  let info = folder(dir, true);
  for (const part of [backup.stamp, ...rel.split("/").slice(0, -1)]) {
    dir += "/" + part;
    info = folder(dir, false);
  }
  const path = `${dir}/${rel.slice(rel.lastIndexOf("/") + 1)}`;
  for (let n = 0;; n++) {
    const candidate = n === 0 ? path : `${path}~${n}`;
    try {
      Deno.lstatSync(candidate);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { path: candidate, dir: { dev: info.dev, ino: info.ino ?? 0 } };
      }
      throw error;
    }
  }
}

/** Makes a backup folder when missing (the backup directory with its parents); it must not be a link. */
function folder(path: string, top: boolean): Deno.FileInfo {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    try {
      Deno.mkdirSync(path, { recursive: top });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    info = Deno.lstatSync(path);
  }
  if (info.isSymlink) throw new BackupChangedError(path, "is a symlink now");
  if (!info.isDirectory) throw new BackupChangedError(path, "is not a directory");
  return info;
}

/**
 * Checks, right before an entry is moved, linked or copied to `target`, that
 * the path still leads to the folder {@linkcode backupPath} made (a folder
 * above it swapped for a link since would lead elsewhere) and that the name
 * is still free. What remains is the moment between this check and the call.
 *
 * @example Usage
 * ```ts
 * import { backupPath, checkBackupTarget, cycleBackup } from "./backup.ts";
 * const target = backupPath(cycleBackup(Deno.makeTempDirSync(), new Date()), "a.txt");
 * checkBackupTarget(target);
 * ```
 *
 * @param target Where the entry goes.
 * @throws {BackupChangedError} When it no longer leads there.
 */
export function checkBackupTarget(target: BackupTarget): void {
  const dir = target.path.slice(0, target.path.lastIndexOf("/"));
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new BackupChangedError(dir, "is gone");
    throw error;
  }
  if (!info.isDirectory || info.dev !== target.dir.dev || info.ino !== target.dir.ino) {
    throw new BackupChangedError(dir, "was replaced");
  }
  try {
    Deno.lstatSync(target.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  throw new BackupChangedError(target.path, "is taken");
}

/**
 * The relative form of a backup path, as the log shows it (`STAMP/a/b.txt`).
 *
 * @example Usage
 * ```ts
 * import { shownBackup } from "./backup.ts";
 * shownBackup({ root: "/b", stamp: "S" }, "/b/S/a.txt"); // "S/a.txt"
 * ```
 *
 * @param backup The cycle's backup.
 * @param path An absolute path inside it.
 * @returns The path relative to the backup directory.
 */
export function shownBackup(backup: Backup, path: string): string {
  return path.slice(backup.root.length + 1);
}

/**
 * Copies a replica entry (a file, link or whole directory, never following
 * links) to `to`, keeping modes and mtimes: the fallback when the backup
 * directory is on another filesystem and a rename cannot move it. The
 * replica side is listed and read through the engine (`fs`), each folder
 * checked to be the one seen (the native engine from its handle; the portable
 * one re-checks, README: threat model). The original is left alone: the
 * caller removes it only once this succeeded.
 *
 * Needs `--allow-read` on the replica and backup directory, `--allow-write`
 * on the backup directory (unscoped, for links).
 *
 * @example Usage
 * ```ts
 * import { copyForBackup } from "./backup.ts";
 * import { toEntry } from "./list_dir.ts";
 * import { PortableFileSystem } from "./fs/portable.ts";
 * const dir = Deno.makeTempDirSync();
 * const abs = Deno.cwd();
 * const here = { side: "replica" as const, rel: "", abs, seen: toEntry("", Deno.statSync(".")), root: true };
 * const seen = toEntry("deno.json", Deno.lstatSync("deno.json"));
 * copyForBackup(new PortableFileSystem(), here, "deno.json", seen, `${dir}/deno.json`);
 * ```
 *
 * @param fs The engine.
 * @param dir The replica directory holding it.
 * @param name Its name there.
 * @param seen What the scan saw there.
 * @param to Where the copy goes (nothing there yet; its parent exists).
 */
export function copyForBackup(
  fs: FileSystem,
  dir: Folder,
  name: string,
  seen: Entry,
  to: string,
): void {
  if (seen.kind !== "dir") {
    fs.copyOut({ dir, name, seen }, to);
    return;
  }
  const rel = dir.rel === "" ? name : `${dir.rel}/${name}`;
  const self: Folder = {
    side: "replica",
    rel,
    abs: `${dir.abs}/${name}`,
    seen,
    root: false,
    parent: dir,
  };
  const listing = fs.list(self);
  if (listing.problems.length > 0) {
    const problem = listing.problems[0];
    throw problem.error ?? new Error(`'${self.abs}/${problem.name}': ${problem.message}`);
  }
  Deno.mkdirSync(to, { mode: 0o700 });
  for (const child of listing.entries) {
    copyForBackup(fs, self, child.name, child, `${to}/${child.name}`);
  }
  Deno.chmodSync(to, seen.mode);
  Deno.utimeSync(to, seen.atimeMs / 1000, seen.mtimeMs / 1000);
}

/**
 * Copies a file or link (not followed) to `to`, with its mtime; FIFOs, sockets and devices are
 * not kept. By path: the portable engine's.
 *
 * @example Usage
 * ```ts
 * import { copyOne } from "./backup.ts";
 * // copyOne("a.txt", "/backups/stamp/a.txt");
 * ```
 *
 * @param from The entry.
 * @param to Where the copy goes (nothing there yet).
 */
export function copyOne(from: string, to: string): void {
  const info = Deno.lstatSync(from);
  if (info.isSymlink) Deno.symlinkSync(Deno.readLinkSync(from), to);
  else if (info.isFile) {
    Deno.copyFileSync(from, to);
    Deno.utimeSync(to, info.atime ?? new Date(), info.mtime ?? new Date());
  }
}

/** What {@linkcode pruneBackups} tells about each folder past its age. */
export interface PruneReport {
  /** It was removed (or, in a dry run, would be). */
  removed: (name: string) => void;
  /** It could not be removed whole (what could be was); the next folder is tried. */
  failed: (name: string, error: unknown) => void;
}

/** An entry inside a backup folder that could not be removed. */
export class PruneError extends Error {
  /**
   * @param path The entry (absolute).
   * @param cause What was thrown.
   */
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`cannot remove '${path}': ${(cause as Error)?.message ?? cause}`);
    this.name = "PruneError";
  }
}

/**
 * Removes the backup folders older than `keepSeconds` (by the time in their
 * names), telling `report` about each. Only names of our shape are touched.
 * A folder that cannot be removed whole is reported and the next one is
 * tried.
 *
 * Needs `--allow-read` and `--allow-write` on the backup directory.
 *
 * @example Usage
 * ```ts
 * import { pruneBackups } from "./backup.ts";
 * pruneBackups(Deno.makeTempDirSync(), 30 * 86400, Date.now(), false, {
 *   removed: () => {},
 *   failed: () => {},
 * });
 * ```
 *
 * @param root The backup directory.
 * @param keepSeconds How long backups are kept.
 * @param now The current time, ms since the epoch.
 * @param dryRun Report only.
 * @param report Told what became of each folder past its age.
 */
export function pruneBackups(
  root: string,
  keepSeconds: number,
  now: number,
  dryRun: boolean,
  report: PruneReport,
): void {
  let top: DirHandle;
  let names: string[];
  try {
    top = { abs: root, seen: toEntry("", Deno.statSync(root)) };
    names = [...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const name of names.sort()) {
    const m = name.match(STAMP);
    if (!m) continue;
    const time = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    if (now - time <= keepSeconds * 1000) continue;
    try {
      if (!dryRun) {
        const entry = inDir(top, () => toEntry(name, Deno.lstatSync(name)));
        if (entry.kind !== "dir") continue; // Replaced since the listing: not ours to remove.
        removeAll(top, name, entry);
      }
      report.removed(name);
    } catch (error) {
      report.failed(name, error);
    }
  }
}

/**
 * Removes an entry of a backup folder, a directory deepest first: each
 * directory is given owner read, write and search permission first when it
 * lacks them (backups keep the replica's modes, read-only folders too), and
 * every entry is re-checked right before its removal, from inside its
 * directory, as the replica's are (see in_dir.ts). Links are removed, never
 * followed. Goes on past an entry it cannot remove, then throws the first
 * failure.
 */
function removeAll(dir: DirHandle, name: string, entry: Entry): void {
  const path = `${dir.abs}/${name}`;
  if (entry.kind === "dir") {
    const self: DirHandle = { abs: path, seen: entry, parent: dir };
    let listing: DirListing;
    try {
      if ((entry.mode & 0o700) !== 0o700) {
        onDir(self, (p) => Deno.chmodSync(p, entry.mode | 0o700));
      }
      listing = inDir(self, () => listDir("."));
    } catch (error) {
      throw new PruneError(path, error);
    }
    let first: PruneError | undefined;
    for (const problem of listing.problems) {
      first ??= new PruneError(`${path}/${problem.name}`, problem.error ?? problem.message);
    }
    for (const child of listing.entries) {
      try {
        removeAll(self, child.name, child);
      } catch (error) {
        first ??= error instanceof PruneError ? error : new PruneError(path, error);
      }
    }
    if (first) throw first;
  }
  try {
    inDir(dir, () => {
      recheck(name, entry);
      Deno.removeSync(name);
    });
  } catch (error) {
    throw new PruneError(path, error);
  }
}

/**
 * Keeps the entry at `path` (about to be replaced by a rename) at `to`: a
 * hard link, so the replacement stays atomic and nothing is copied; on
 * another filesystem, a copy. `to` is checked first (see
 * {@linkcode checkBackupTarget}).
 *
 * Needs `--allow-read` and `--allow-write` on both.
 *
 * @example Usage
 * ```ts
 * import { backupPath, cycleBackup, keepOld } from "./backup.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a`, "old");
 * keepOld(`${dir}/a`, backupPath(cycleBackup(`${dir}/backups`, new Date()), "a"));
 * ```
 *
 * @param path The entry (never followed: a link is kept as a link).
 * @param to Where it is kept.
 */
export function keepOld(path: string, to: BackupTarget): void {
  checkBackupTarget(to);
  try {
    Deno.linkSync(path, to.path);
  } catch (error) {
    if (!crossDevice(error)) throw error;
    copyOne(path, to.path);
  }
}

/**
 * Tells whether an error is a rename or link across filesystems.
 *
 * @example Usage
 * ```ts
 * import { crossDevice } from "./backup.ts";
 * crossDevice(new Error("Invalid cross-device link (os error 18)")); // true
 * ```
 *
 * @param error What was thrown.
 * @returns True for EXDEV.
 */
export function crossDevice(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  return e?.code === "EXDEV" || /cross-device|os error 18\b/i.test(e?.message ?? "");
}
