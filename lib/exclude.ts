/**
 * Exclusion patterns (`--exclude GLOB`).
 *
 * A small glob compiler rather than an npm matcher: loading one (picomatch
 * goes through Deno's CommonJS layer) added about 40 ms to every start, a
 * fifth of a no-change cycle over 20,000 files.
 *
 * @module
 */

/** Tells whether a path relative to the root is excluded from the mirror. */
export type ExcludeMatcher = (relPath: string) => boolean;

/** A glob that cannot be compiled; `reason` says why. */
export class GlobError extends Error {
  /** What is wrong with the pattern, e.g. "'{' without a closing '}'". */
  readonly reason: string;
  /**
   * @param pattern The pattern.
   * @param reason What is wrong with it.
   */
  constructor(pattern: string, reason: string) {
    super(`pattern '${pattern}' cannot be compiled: ${reason}`);
    this.name = "GlobError";
    this.reason = reason;
  }
}

/**
 * Compiles one glob into a regular expression over `/`-separated paths:
 * `*` and `?` stay within a path segment, `**` spans segments (`a/**` also
 * matches `a` itself, `**\/b` matches `b` at any depth), `[abc]`, `[!a-z]`
 * and `{x,y}` work as in a shell, and a backslash escapes the next character.
 *
 * @example Usage
 * ```ts
 * import { globToRegExp } from "./exclude.ts";
 * globToRegExp("build/**").test("build/out/a.js"); // true
 * globToRegExp("*.tmp").test("dir/a.tmp"); // false: `*` stays in one segment
 * ```
 *
 * @param glob The pattern.
 * @returns An anchored regular expression.
 * @throws {GlobError} When the pattern cannot be compiled (`{a,b`, `[z-a]`).
 */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const atStart = i === 0 || glob[i - 1] === "/";
        const atEnd = i + 2 === glob.length || glob[i + 2] === "/";
        if (atStart && atEnd) {
          if (i + 2 === glob.length) out += atStart && i > 0 ? "?.*" : ".*"; // "a/**": a and below
          else {
            out += "(?:.*/)?"; // "**/": any number of segments
            i++;
          }
          i++;
          continue;
        }
        i++;
      }
      out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 2);
      if (close < 0) out += "\\[";
      else {
        let body = glob.slice(i + 1, close).replace(/\\/g, "\\\\");
        if (body[0] === "!") body = "^" + body.slice(1);
        out += `(?!/)[${body}]`;
        i = close;
      }
    } else if (c === "{") {
      braces++;
      out += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      out += ")";
    } else if (c === "," && braces > 0) out += "|";
    else if (c === "\\" && i + 1 < glob.length) out += escape(glob[++i]);
    else out += escape(c);
  }
  if (braces > 0) throw new GlobError(glob, "'{' without a closing '}'");
  if (out.endsWith("/?.*")) out = out.slice(0, -4) + "(?:/.*)?";
  try {
    return new RegExp(`^${out}$`);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // "Invalid regular expression: /…/: Range out of order in character class"
    const reason = error.message.slice(error.message.lastIndexOf(": ") + 2);
    throw new GlobError(glob, reason.charAt(0).toLowerCase() + reason.slice(1));
  }
}

function escape(c: string): string {
  return /[.+^$|()[\]{}\\*?]/.test(c) ? "\\" + c : c;
}

/**
 * Builds a matcher for glob patterns matched against the path relative to the
 * source root, with `/` separators. A pattern without a slash matches the
 * entry's name at any depth (like rsync and .gitignore); a leading `/`
 * anchors a pattern at the root; dotfiles match `*`. A trailing slash is
 * accepted and ignored. No patterns means nothing is excluded.
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
 * @throws {GlobError} When a pattern cannot be compiled.
 */
export function makeExcludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const cleaned = patterns.map((p) => p.replace(/^\.\//, "").replace(/\/+$/, "")).filter((p) =>
    p !== ""
  );
  if (cleaned.length === 0) return () => false;
  const byName = cleaned.filter((p) => !p.includes("/")).map(globToRegExp);
  const byPath = cleaned.filter((p) => p.includes("/")).map((p) =>
    globToRegExp(p.replace(/^\//, ""))
  );
  return (relPath: string) => {
    if (byName.length) {
      const name = relPath.slice(relPath.lastIndexOf("/") + 1);
      for (const re of byName) if (re.test(name)) return true;
    }
    for (const re of byPath) if (re.test(relPath)) return true;
    return false;
  };
}
