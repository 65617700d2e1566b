/**
 * `--backup_dir`: what a cycle removes or overwrites in the replica is moved
 * to `DIR/<cycle start>/<relative path>` instead of being lost, and
 * `--backup_keep` prunes the folders older than a given age.
 *
 * @module
 */

/** One cycle's backup folder. */
export interface Backup {
  /** The backup directory (absolute). */
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
 * Where the backup of a replica entry goes, its parent folders created.
 * An entry backed up twice in one cycle (an overwrite, then a removal) keeps
 * both: the later one gets a `~N` suffix.
 *
 * Needs `--allow-read` and `--allow-write` on the backup directory.
 *
 * @example Usage
 * ```ts
 * import { backupPath, cycleBackup } from "./backup.ts";
 * const backup = cycleBackup(Deno.makeTempDirSync(), new Date());
 * backupPath(backup, "a/b.txt"); // ".../2026-…Z/a/b.txt"
 * ```
 *
 * @param backup The cycle's backup.
 * @param rel The entry's path relative to the replica.
 * @returns The absolute path to move or copy it to (nothing there yet).
 */
export function backupPath(backup: Backup, rel: string): string {
  const path = `${backup.root}/${backup.stamp}/${rel}`;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  for (let n = 0;; n++) {
    const candidate = n === 0 ? path : `${path}~${n}`;
    try {
      Deno.lstatSync(candidate);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return candidate;
      throw error;
    }
  }
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
 * original is left alone: the caller removes it only once this succeeded.
 *
 * Needs `--allow-read` on the replica and backup directory, `--allow-write`
 * on the backup directory (unscoped, for links).
 *
 * @example Usage
 * ```ts
 * import { copyForBackup } from "./backup.ts";
 * const dir = Deno.makeTempDirSync();
 * copyForBackup("deno.json", `${dir}/deno.json`);
 * ```
 *
 * @param from The entry.
 * @param to Where the copy goes (nothing there yet; its parent exists).
 */
export function copyForBackup(from: string, to: string): void {
  const info = Deno.lstatSync(from);
  if (info.isSymlink) Deno.symlinkSync(Deno.readLinkSync(from), to);
  else if (info.isFile) {
    Deno.copyFileSync(from, to);
    Deno.utimeSync(to, info.atime ?? new Date(), info.mtime ?? new Date());
  } else if (info.isDirectory) {
    Deno.mkdirSync(to, { mode: 0o700 });
    for (const entry of Deno.readDirSync(from)) {
      copyForBackup(`${from}/${entry.name}`, `${to}/${entry.name}`);
    }
    Deno.chmodSync(to, (info.mode ?? 0o755) & 0o7777);
    Deno.utimeSync(to, info.atime ?? new Date(), info.mtime ?? new Date());
  }
  // FIFOs, sockets and devices are not kept.
}

/**
 * Removes the backup folders older than `keepSeconds` (by the time in their
 * names), telling `onRemoved` about each. Only names of our shape are
 * touched.
 *
 * Needs `--allow-read` and `--allow-write` on the backup directory.
 *
 * @example Usage
 * ```ts
 * import { pruneBackups } from "./backup.ts";
 * pruneBackups(Deno.makeTempDirSync(), 30 * 86400, Date.now(), false, () => {});
 * ```
 *
 * @param root The backup directory.
 * @param keepSeconds How long backups are kept.
 * @param now The current time, ms since the epoch.
 * @param dryRun Report only.
 * @param onRemoved Told each folder removed (or, in a dry run, that would be).
 */
export function pruneBackups(
  root: string,
  keepSeconds: number,
  now: number,
  dryRun: boolean,
  onRemoved: (name: string) => void,
): void {
  let names: string[];
  try {
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
    if (!dryRun) Deno.removeSync(`${root}/${name}`, { recursive: true });
    onRemoved(name);
  }
}

/**
 * Keeps the entry at `path` (about to be replaced by a rename) at `to`: a
 * hard link, so the replacement stays atomic and nothing is copied; on
 * another filesystem, a copy.
 *
 * Needs `--allow-read` and `--allow-write` on both.
 *
 * @example Usage
 * ```ts
 * import { keepOld } from "./backup.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a`, "old");
 * keepOld(`${dir}/a`, `${dir}/a.old`);
 * ```
 *
 * @param path The entry (never followed: a link is kept as a link).
 * @param to Where it is kept (nothing there yet; its parent exists).
 */
export function keepOld(path: string, to: string): void {
  try {
    Deno.linkSync(path, to);
  } catch (error) {
    if (!crossDevice(error)) throw error;
    copyForBackup(path, to);
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
