/**
 * Is the replica's volume mounted? A backup disk that is not mounted leaves
 * its mount point as an empty folder of the filesystem below (the system
 * disk), where a cycle would copy the whole source. Two checks, made before
 * every cycle: `--require_mount PATH` demands that PATH is a mount point, and
 * the folder where the replica's filesystem is mounted is remembered from the
 * cycles that ran: a cycle that finds the replica on a filesystem mounted
 * higher up (the one below, its own unmounted) is refused.
 *
 * A mount point is told by its device differing from its parent folder's.
 * `/proc/self/mountinfo` would need `--allow-all` under Deno, and lists a
 * folder bound onto itself (as systemd's `ReadWritePaths=` makes) as a mount
 * although nothing else is mounted there. Device numbers alone cannot tell
 * "not mounted" from "mounted again": a new tmpfs, or a USB disk that came
 * back under another name, gets a new one at the same place.
 *
 * @module
 */
import { dirname } from "node:path";
import { inside, realish } from "./check_roots.ts";
import { SafetyError } from "../engine/errors.ts";

/**
 * Tells whether `path` is a mount point: `/`, or a directory on another
 * device than its parent folder. Links in it are resolved first.
 *
 * @example Usage
 * ```ts
 * import { isMountPoint } from "./volume.ts";
 * isMountPoint("/"); // true
 * ```
 *
 * @param path The folder.
 * @returns True when another filesystem is mounted there.
 * @throws {Deno.errors.NotFound} When it does not exist.
 */
export function isMountPoint(path: string): boolean {
  const real = realish(path);
  if (real === "/") return true;
  return Deno.statSync(real).dev !== Deno.statSync(dirname(real)).dev;
}

/**
 * `--require_mount`: refuses the cycle unless `path` is a mount point.
 *
 * @example Usage
 * ```ts
 * import { requireMountPoint } from "./volume.ts";
 * requireMountPoint("/");
 * ```
 *
 * @param path The folder that must be a mount point.
 * @throws {SafetyError} When it is not one, or does not exist.
 */
export function requireMountPoint(path: string): void {
  let mounted: boolean;
  try {
    mounted = isMountPoint(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SafetyError(
        `--require_mount '${path}' does not exist (is its volume mounted?): nothing written`,
      );
    }
    throw new SafetyError(
      `--require_mount '${path}' cannot be looked at: ${(error as Error).message}`,
    );
  }
  if (!mounted) {
    throw new SafetyError(
      `--require_mount '${path}' is not a mount point (is its volume mounted?): nothing written`,
    );
  }
}

/**
 * Where the filesystem holding `path` is mounted: the highest folder above
 * it (or itself) on the same device. A path that does not exist yet is
 * looked at through its nearest existing folder, where it would be created.
 *
 * @example Usage
 * ```ts
 * import { mountOf } from "./volume.ts";
 * mountOf("/tmp/new/replica"); // "/" or "/tmp"
 * ```
 *
 * @param path The path (absolute).
 * @returns The mount point, or undefined when the folders above cannot be
 *   looked at (Deno's grants narrowed to the paths, a folder closed to us).
 */
export function mountOf(path: string): string | undefined {
  let at = realish(path);
  let dev: number;
  try {
    for (;;) {
      try {
        dev = Deno.statSync(at).dev;
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound) || at === "/") throw error;
        at = dirname(at);
      }
    }
    while (at !== "/") {
      const parent = dirname(at);
      if (Deno.statSync(parent).dev !== dev) return at;
      at = parent;
    }
    return "/";
  } catch {
    return undefined; // Cannot be told: nothing to compare.
  }
}

/**
 * Refuses a cycle whose replica is now on a filesystem mounted higher up
 * than at the last cycle that ran: its own volume is not mounted, and the
 * cycle would fill the filesystem below (`/mnt/disk/replica`, or the bare
 * mount point `/mnt/disk`, on the system disk). A filesystem mounted at the
 * same place again (a new device number) is accepted, and so is one mounted
 * further down (a disk mounted since): neither writes to the one below.
 *
 * @example Usage
 * ```ts
 * import { checkReplicaMount } from "./volume.ts";
 * checkReplicaMount("/tmp/replica", undefined, "restart foldersync"); // "/" or "/tmp"
 * ```
 *
 * @param replica The replica path.
 * @param remembered Where its filesystem was mounted at the last cycle that ran.
 * @param onPurpose What to do when it moved on purpose (ends the refusal).
 * @returns Where it is mounted now (undefined when that cannot be told).
 * @throws {SafetyError} When the replica's volume is no longer mounted where it was.
 */
export function checkReplicaMount(
  replica: string,
  remembered: string | undefined,
  onPurpose: string,
): string | undefined {
  const now = mountOf(replica);
  if (now !== undefined && remembered !== undefined && inside(remembered, now)) {
    throw new SafetyError(
      `replica '${replica}' was on the filesystem mounted at '${remembered}' and is now on the ` +
        `one at '${now}' (is its volume mounted?): nothing written; if it moved on purpose, ${onPurpose}`,
    );
  }
  return now;
}
