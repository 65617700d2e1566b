/**
 * Owners: kept where the process may (root), and set-uid/set-gid never kept
 * on a copy whose owner differs from the source's.
 *
 * Deno tells a process its uid only with `--allow-sys`, so without it this
 * thread learns that it is root from a probe at the start of the first cycle
 * ({@linkcode probeChown}), or whether `chown` works from its first attempt.
 *
 * @module
 */
import { type DirHandle, inDir } from "./in_dir.ts";
import { toEntry } from "./list_dir.ts";
import { recheck } from "./recheck.ts";
import { makeTempName } from "./temp_name.ts";

let chownWorks: boolean | undefined = fromUid();

function fromUid(): boolean | undefined {
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "uid" }).state !== "granted") {
      return undefined;
    }
    return Deno.uid() === 0;
  } catch {
    return undefined;
  }
}

/**
 * Whether this thread is known to be able to give files away (root), so that
 * owners of existing replica entries are compared and corrected.
 *
 * @example Usage
 * ```ts
 * import { ownersKept } from "./owner.ts";
 * ownersKept(); // false until a chown has worked (or Deno.uid() said 0)
 * ```
 *
 * @returns True once known.
 */
export function ownersKept(): boolean {
  return chownWorks === true;
}

/**
 * Records what another thread learned about `chown` (see {@linkcode keepOwner}).
 *
 * @example Usage
 * ```ts
 * import { noteChown } from "./owner.ts";
 * noteChown(false);
 * ```
 *
 * @param works Whether a chown to another owner worked.
 */
export function noteChown(works: boolean | undefined): void {
  if (works !== undefined && chownWorks === undefined) chownWorks = works;
}

/**
 * What this thread has learned about `chown`, to pass on to the main thread.
 *
 * @example Usage
 * ```ts
 * import { chownLearned } from "./owner.ts";
 * chownLearned(); // undefined, true or false
 * ```
 *
 * @returns True, false, or undefined before any attempt.
 */
export function chownLearned(): boolean | undefined {
  return chownWorks;
}

/**
 * Learns whether this process is root, when it does not know yet, so that
 * the owners of entries already in the replica are mirrored from the first
 * directory on (a `--once` run may copy nothing): makes a private probe
 * directory (a temporary name) in `dir`, reads its owner and removes it. No
 * `chown` is tried (it would follow a link swapped in). Owner 0 means root;
 * any other leaves the answer to the first `chown` of a copy, as before (a
 * process may be granted `CAP_CHOWN`), and so does a probe that cannot be
 * made (a read-only directory). Creating it changes the directory's mtime:
 * look at `dir` again afterwards.
 *
 * Needs `--allow-read` and `--allow-write` on `dir`.
 *
 * @example Usage
 * ```ts
 * import { probeChown } from "./owner.ts";
 * import { toEntry } from "./list_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * probeChown({ abs: dir, seen: toEntry("", Deno.statSync(dir)) });
 * ```
 *
 * @param dir A replica directory the process may write.
 */
export function probeChown(dir: DirHandle): void {
  if (chownWorks !== undefined) return;
  const name = makeTempName();
  try {
    inDir(dir, () => {
      Deno.mkdirSync(name, { mode: 0o700 });
      const made = toEntry(name, Deno.lstatSync(name));
      if (made.kind === "dir" && made.uid === 0) chownWorks = true;
      recheck(name, made);
      Deno.removeSync(name);
    });
  } catch {
    // Not writable, or changed meanwhile (a stale temporary name, removed by a later cycle).
  }
}

/**
 * Gives a file just created by us (and just checked to be no link) the
 * source's owner and group, as `rsync -a` and `cp -a` do as root. Once a
 * chown has been refused, no more are tried by this thread.
 *
 * Needs `--allow-write` on the path.
 *
 * @example Usage
 * ```ts
 * import { keepOwner } from "./owner.ts";
 * keepOwner("/tmp/file", { uid: 0, gid: 0 });
 * ```
 *
 * @param path The file (never a link: chown follows links).
 * @param owner The owner and group to give it.
 * @returns True when the file now has that owner and group.
 */
export function keepOwner(path: string, owner: { uid: number; gid: number }): boolean {
  if (chownWorks === false) return false;
  try {
    Deno.chownSync(path, owner.uid, owner.gid);
    chownWorks = true;
    return true;
  } catch (error) {
    if (
      !(error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable)
    ) {
      throw error;
    }
    chownWorks = false;
    return false;
  }
}
