/**
 * Replica entries that may be the source itself (a bind mount of the source's
 * filesystem, a second path to a source folder): found and reported, so that
 * they are never entered, changed or removed; needs no permissions.
 *
 * @module
 */
import type { Entry } from "./types.ts";
import type { DirListing } from "./fs/types.ts";
import type { WalkContext } from "./context.ts";
import { skip } from "./report.ts";

/** What the log says of such an entry. */
const SOURCE_ALIAS = "a bind mount of the source's filesystem, or a second path to a source " +
  "folder, in the replica: left alone, with its contents, so the source is never written " +
  "(unmount it, or --exclude it)";

/**
 * Tells whether a replica entry may be the source itself: the root of a
 * mount on the source root's filesystem (a bind mount: only the native
 * engine sees mount roots), or a folder that is one of `sourceDirs` (the
 * same folder: folders have no hard links). Reports nothing.
 *
 * @example Usage
 * ```ts
 * import { isSourceAlias } from "./alias.ts";
 * // if (isSourceAlias(ctx, entry)) break;
 * ```
 *
 * @param ctx The cycle.
 * @param entry The replica entry, as scanned.
 * @param sourceDirs `dev:ino` of source folders seen in the same step.
 * @returns True when it must be left alone.
 */
export function isSourceAlias(
  ctx: { sourceFs?: number },
  entry: Entry,
  sourceDirs?: ReadonlySet<string>,
): boolean {
  if (entry.mountRoot === true && entry.dev === ctx.sourceFs) return true;
  return entry.kind === "dir" && sourceDirs?.has(`${entry.dev}:${entry.ino}`) === true;
}

/**
 * Tells whether a replica entry may be the source itself (see
 * {@linkcode isSourceAlias}), reporting it when so (a warning once per
 * process, as every skip).
 *
 * @example Usage
 * ```ts
 * import { aliasedSource } from "./alias.ts";
 * // if (aliasedSource(ctx, "x", entry)) return false;
 * ```
 *
 * @param ctx The cycle.
 * @param rel The entry.
 * @param entry It, as scanned.
 * @param sourceDirs `dev:ino` of source folders seen in the same step.
 * @returns True when it must be left alone.
 */
export function aliasedSource(
  ctx: Parameters<typeof skip>[0] & { sourceFs?: number },
  rel: string,
  entry: Entry,
  sourceDirs?: ReadonlySet<string>,
): boolean {
  if (!isSourceAlias(ctx, entry, sourceDirs)) return false;
  skip(ctx, rel, entry.kind, SOURCE_ALIAS);
  return true;
}

/**
 * Adds to `protect` (names left alone on both sides) the replica entries of
 * one folder that may be the source itself, reporting each. A root or an
 * ancestor of one is left to `refusedDir` (an error, as before); an excluded
 * entry is kept anyway, unreported.
 *
 * @example Usage
 * ```ts
 * import { protectAliases } from "./alias.ts";
 * // protectAliases(ctx, "a/", src, dst, protect);
 * ```
 *
 * @param ctx The cycle.
 * @param prefix The folder's path with a trailing `/` ("" for the root).
 * @param src The source folder's listing.
 * @param dst The replica folder's listing.
 * @param protect Names left alone; added to.
 */
export function protectAliases(
  ctx: WalkContext,
  prefix: string,
  src: DirListing,
  dst: DirListing,
  protect: Set<string>,
): void {
  let sourceDirs: Set<string> | undefined;
  for (const entry of dst.entries) {
    if (entry.kind !== "dir" && entry.mountRoot !== true) continue;
    if (ctx.forbidden.has(`${entry.dev}:${entry.ino}`)) continue;
    const path = prefix + entry.name;
    if (!ctx.deleteExcluded && ctx.excluded(path, entry.kind === "dir")) continue;
    sourceDirs ??= new Set(
      src.entries.filter((e) => e.kind === "dir").map((e) => `${e.dev}:${e.ino}`),
    );
    if (aliasedSource(ctx, path, entry, sourceDirs)) protect.add(entry.name);
  }
}
