/**
 * Exclusion patterns (`--exclude GLOB`).
 *
 * @module
 */
import picomatch from "picomatch";

/** Tells whether a path relative to the root is excluded from the mirror. */
export type ExcludeMatcher = (relPath: string) => boolean;

/**
 * Builds a matcher for glob patterns matched against the path relative to the
 * source root, with `/` separators. A pattern without a slash matches the
 * entry's name at any depth (like rsync and .gitignore); dotfiles match `*`.
 * A trailing slash is accepted and ignored. No patterns means nothing is excluded.
 *
 * @example Usage
 * ```ts
 * import { makeExcludeMatcher } from "./exclude.ts";
 * const excluded = makeExcludeMatcher(["*.tmp", "build/**"]);
 * excluded("a/b.tmp"); // true
 * excluded("src/main.ts"); // false
 * ```
 *
 * @param patterns The glob patterns.
 * @returns The matcher.
 */
export function makeExcludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const cleaned = patterns.map((p) => p.replace(/^\.\//, "").replace(/\/+$/, "")).filter((p) =>
    p !== ""
  );
  if (cleaned.length === 0) return () => false;
  const bare = cleaned.filter((p) => !p.includes("/"));
  const rooted = cleaned.filter((p) => p.includes("/")).map((p) => p.replace(/^\//, ""));
  const byName = bare.length ? picomatch(bare, { dot: true }) : () => false;
  const byPath = rooted.length ? picomatch(rooted, { dot: true }) : () => false;
  return (relPath: string) => {
    const slash = relPath.lastIndexOf("/");
    const name = slash < 0 ? relPath : relPath.slice(slash + 1);
    return byName(name) || byPath(relPath);
  };
}
