/**
 * Checking Deno's permissions up front, so a missing grant is one clear line
 * instead of a prompt or a stack trace halfway through a cycle.
 *
 * @module
 */
import { dirname } from "node:path";
import type { Config } from "./cli.ts";

/**
 * Finds the first permission the run needs and Deno has not granted: read on
 * the source, replica and log file; write on the replica and log file (and
 * the health file and backup folder when set); read on each `--require_mount`
 * folder and its parent. Never prompts.
 *
 * @example Usage
 * ```ts
 * import { missingPermission } from "./permissions.ts";
 * const problem = missingPermission({ source: "a", replica: "b" });
 * if (problem) console.error(problem);
 * ```
 *
 * @param config The paths the run touches.
 * @returns One line naming the flag to add, or undefined when all is granted.
 */
export function missingPermission(
  config:
    & Pick<Config, "source" | "replica" | "logFile" | "healthFile" | "backupDir" | "metricsFile">
    & Partial<Pick<Config, "requireMount">>,
): string | undefined {
  const reads = [
    config.source,
    config.replica,
    config.logFile,
    config.healthFile,
    config.backupDir,
    // A mount point is told by comparing it with its parent folder.
    ...(config.requireMount ?? []).flatMap((path) => [path, dirname(path)]),
    config.metricsFile,
  ];
  const writes = [
    config.replica,
    config.logFile,
    config.healthFile,
    config.backupDir,
    config.metricsFile,
  ];
  const readList = reads.filter((p): p is string => p !== undefined);
  const writeList = writes.filter((p): p is string => p !== undefined);
  const hint = `run with --allow-read --allow-write, or narrowed: --allow-read=${
    readList.join(",")
  } --allow-write=${writeList.join(",")}`;
  for (const path of readList) {
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
      return `Deno has not granted read access to '${path}': ${hint}`;
    }
  }
  for (const path of writeList) {
    if (Deno.permissions.querySync({ name: "write", path }).state !== "granted") {
      return `Deno has not granted write access to '${path}': ${hint}`;
    }
  }
  return undefined;
}

/**
 * Tells whether Deno lets this process create symlinks: only with unscoped
 * `--allow-read` and `--allow-write` (a link's target is resolved only when
 * the link is followed, so path-scoped grants cannot cover it).
 *
 * @example Usage
 * ```ts
 * import { canCreateSymlinks } from "./permissions.ts";
 * if (!canCreateSymlinks()) console.warn("links will not be mirrored");
 * ```
 *
 * @returns True when links can be created.
 */
export function canCreateSymlinks(): boolean {
  return Deno.permissions.querySync({ name: "read" }).state === "granted" &&
    Deno.permissions.querySync({ name: "write" }).state === "granted";
}
