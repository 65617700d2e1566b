/**
 * Owners: whether this run may give files away (root, or `CAP_CHOWN`), learned
 * once and kept for the run; no permissions of its own.
 *
 * Deno tells a process its uid only with `--allow-sys`, so without it a run
 * learns that it is root from a probe at the start of its first cycle
 * ({@linkcode Owners.probe}), or whether `chown` works from its first attempt.
 *
 * @module
 */
import type { FileSystem, Folder } from "./fs/types.ts";
import { makeTempName } from "./temp_name.ts";

/**
 * What a run knows about `chown`: one per run (and one per copy worker, which
 * reports what it learned back).
 *
 * @example Usage
 * ```ts
 * import { Owners } from "./owner.ts";
 * const owners = new Owners();
 * owners.kept(); // false until a chown has worked (or Deno.uid() said 0)
 * ```
 */
export class Owners {
  #works: boolean | undefined = fromUid();

  /** True once this run knows it may give files away: owners already in the replica are compared. */
  kept(): boolean {
    return this.#works === true;
  }

  /** Whether a `chown` is worth trying (not refused before). */
  mayTry(): boolean {
    return this.#works !== false;
  }

  /** What was learned: true, false, or undefined before any attempt. */
  learned(): boolean | undefined {
    return this.#works;
  }

  /** Records an outcome (a first answer sticks). */
  note(works: boolean | undefined): void {
    if (works !== undefined && this.#works === undefined) this.#works = works;
  }

  /**
   * Runs a `chown` and learns from it: true when it worked, false when the
   * process may not give files away (and no more are tried); other errors are thrown.
   */
  try(chown: () => void): boolean {
    if (this.#works === false) return false;
    try {
      chown();
      this.#works = true;
      return true;
    } catch (error) {
      if (!refused(error)) throw error;
      this.#works = false;
      return false;
    }
  }

  /**
   * Learns whether this process is root, when it does not know yet, so that
   * the owners of entries already in the replica are mirrored from the first
   * folder on (a `--once` run may copy nothing): makes a private probe folder
   * (a temporary name) in `dir`, reads its owner and removes it. No `chown` is
   * tried. Owner 0 means root; any other leaves the answer to the first `chown`
   * of a copy (a process may be granted `CAP_CHOWN`), and so does a probe that
   * cannot be made (a read-only folder). Changes the folder's mtime.
   */
  probe(fs: FileSystem, dir: Folder): void {
    if (this.#works !== undefined) return;
    const name = makeTempName();
    try {
      const made = fs.mkdir({ dir, name, seen: undefined });
      if (made.kind === "dir" && made.uid === 0) this.#works = true;
      fs.remove({ dir, name, seen: made });
    } catch {
      // Not writable, or changed meanwhile (a stale temporary name, removed by a later cycle).
    }
  }
}

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

function refused(error: unknown): boolean {
  return error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable ||
    (error as { code?: string }).code === "EPERM";
}
