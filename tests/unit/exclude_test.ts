/**
 * The filter compiler (lib/engine/exclude.ts): a table of rules, paths and verdicts; flags and
 * files as rules; patterns refused (rsync as the oracle: ../exclude_test.ts).
 */
import assert from "node:assert/strict";
import {
  checkRule,
  GlobError,
  makeExcludeMatcher,
  ruleFromFlag,
  rulesFromFile,
} from "../../lib/engine/exclude.ts";

/** [rules, path, is a folder, excluded?]: a bare pattern excludes; `+ `/`- ` as rsync reads them. */
const CASES: [string[], string, boolean, boolean][] = [
  // No "/" (and no "**"): the name, at any depth.
  [["*.log"], "a.log", false, true],
  [["*.log"], "x/y/a.log", false, true],
  [["*.log"], ".hidden.log", false, true],
  [["*.log"], "a.log/b", false, false],
  [["foo"], "x/foo", true, true],
  [["foo"], "x/foobar", false, false],
  // A "/" inside: the end of the path, at a component boundary.
  [["sub/*.log"], "sub/z.log", false, true],
  [["sub/*.log"], "a/sub/z.log", false, true],
  [["sub/*.log"], "a/xsub/z.log", false, false],
  [["sub/*.log"], "sub/d/z.log", false, false],
  [["a/b"], "x/a/b", false, true],
  [["a/b"], "xa/b", false, false],
  // A leading "/": from the root only.
  [["/top.txt"], "top.txt", false, true],
  [["/top.txt"], "sub/top.txt", false, false],
  [["/a/*.c"], "a/x.c", false, true],
  [["/a/*.c"], "b/a/x.c", false, false],
  // A trailing "/": folders only.
  [["tmp/"], "tmp", true, true],
  [["tmp/"], "tmp", false, false],
  [["tmp/"], "a/tmp", true, true],
  [["/tmp/"], "a/tmp", true, false],
  // "**" spans "/"; "build/**" is what is below build, not build itself.
  [["build/**"], "build", true, false],
  [["build/**"], "build/out/a.js", false, true],
  [["build/**"], "a/build/y.o", false, true],
  [["build/**"], "builder/a", false, false],
  [["**/cache/**"], "cache", true, false],
  [["**/cache/**"], "cache/x", false, true],
  [["**/cache/**"], "a/b/cache/x", false, true],
  [["**/cache"], "cache", true, true],
  [["**/cache"], "a/cache", true, true],
  [["a/**/z"], "a/b/c/z", false, true],
  [["a/**/z"], "a/z", false, false], // rsync's "**/" needs a folder in between.
  [["a/*/z"], "a/b/c/z", false, false],
  [["**.log"], "a/b.log", false, true],
  [["foo**"], "x/foo/bar", false, true],
  // "dir/***": the folder and everything in it.
  [["dir/***"], "dir", true, true],
  [["dir/***"], "dir", false, false],
  [["dir/***"], "dir/a/b", false, true],
  [["dir/***"], "x/dir", true, true],
  [["/dir/***"], "x/dir", true, false],
  // "?" and classes never match "/".
  [["a?c"], "abc", false, true],
  [["a?c"], "a/c", false, false],
  [["x/a?c"], "x/a/c", false, false],
  [["/[!a]/b"], "x/b", false, true],
  [["/a[!b]c"], "a/c", false, false],
  // Classes as the shell and rsync read them (issue 20, item 14).
  [["[]]*"], "]notes", false, true],
  [["[]]*"], "notes", false, false],
  [["[]x]"], "]", false, true],
  [["[]x]"], "x", false, true],
  [["[]x]"], "y", false, false],
  [["[!]]"], "]", false, false],
  [["[!]]"], "a", false, true],
  [["[^]]"], "a", false, true],
  [["[^]]"], "]", false, false],
  [["[a\\]]"], "]", false, true],
  [["[a\\]]"], "a", false, true],
  [["[a\\]]"], "\\", false, false],
  [["[ab].txt"], "b.txt", false, true],
  [["[!ab].txt"], "b.txt", false, false],
  [["[!ab].txt"], "c.txt", false, true],
  [["[^ab].txt"], "c.txt", false, true],
  [["[a-c]x"], "bx", false, true],
  [["[a-c]x"], "dx", false, false],
  [["[-a]x"], "-x", false, true],
  [["[a-]x"], "-x", false, true],
  [["[[:digit:]]*"], "7up", false, true],
  [["[[:digit:]]*"], "up", false, false],
  [["[[:upper:][:digit:]]"], "Q", false, true],
  [["[[]"], "[", false, true],
  [["[[:]"], ":", false, true],
  // Backslashes: an escape in a pattern with a wildcard, a plain character in one without.
  [["\\*star"], "*star", false, true],
  [["\\*star"], "xstar", false, false],
  [["a\\b"], "a\\b", false, true],
  [["a\\b*"], "ab", false, true],
  [["a\\\\b*"], "a\\b", false, true],
  // Nothing else is special: braces, parentheses, "+", dots.
  [["*.{jpg,png}"], "x.png", false, false],
  [["*.{jpg,png}"], "x.{jpg,png}", false, true],
  [["file(1).txt"], "file(1).txt", false, true],
  [["a+b"], "a+b", false, true],
  [["a.c"], "abc", false, false],
  // Rules in order, the first match decides.
  [["+ *.c", "- *"], "main.c", false, false],
  [["+ *.c", "- *"], "notes.txt", false, true],
  [["+ *.c", "- *"], "src", true, true],
  [["+ */", "+ *.c", "- *"], "src", true, false],
  [["- *.c", "+ *.c"], "main.c", false, true],
  [["+ keep.log", "- *.log"], "keep.log", false, false],
  [["+ keep.log", "- *.log"], "other.log", false, true],
  [["- *.log", "!", "- *.tmp"], "a.log", false, false],
  [["- *.log", "!", "- *.tmp"], "a.tmp", false, true],
  [["!foo"], "!foo", false, true],
  // The root itself never.
  [["*"], "", true, false],
];

Deno.test("exclude: the compiler, as a table of rules, paths and verdicts", () => {
  const failures: string[] = [];
  for (const [rules, path, isDir, expected] of CASES) {
    const got = makeExcludeMatcher(rules)(path, isDir);
    if (got !== expected) {
      failures.push(`${JSON.stringify(rules)} on ${isDir ? "folder" : "file"} '${path}': ${got}`);
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("exclude: an entry of unknown kind is excluded only when it would be either way", () => {
  const m = makeExcludeMatcher(["+ */", "- *"]);
  assert.equal(m("x", true), false);
  assert.equal(m("x", false), true);
  assert.equal(m("x"), false);
  assert.equal(makeExcludeMatcher(["*.tmp"])("a.tmp"), true);
  assert.equal(makeExcludeMatcher([])("anything"), false);
});

Deno.test("exclude: flags and files become rules as rsync reads them", () => {
  assert.equal(ruleFromFlag("*.c", true), "+ *.c");
  assert.equal(ruleFromFlag("*.c", false), "- *.c");
  assert.equal(ruleFromFlag("+ *.c", false), "+ *.c");
  assert.equal(ruleFromFlag("- *.c", true), "- *.c");
  assert.equal(ruleFromFlag("!", true), "!");
  assert.equal(ruleFromFlag("!x", false), "- !x");
  assert.equal(ruleFromFlag("", false), undefined);
  assert.deepEqual(
    rulesFromFile("# comment\n; also\n\n*.o\r\n+ keep.o\rtrailing \n#x\n", false),
    [
      { line: 4, rule: "- *.o" },
      { line: 5, rule: "+ keep.o" },
      { line: 6, rule: "- trailing " },
    ],
  );
  assert.deepEqual(rulesFromFile("a\n- b", true), [
    { line: 1, rule: "+ a" },
    { line: 2, rule: "- b" },
  ]);
});

Deno.test("exclude: patterns that can never match are refused, with why", () => {
  for (
    const [rule, reason] of [
      ["- [a-", "'[' without a closing ']'"],
      ["- []", "'[' without a closing ']'"],
      ["- [!]", "'[' without a closing ']'"],
      ["- x[a\\", "'[' without a closing ']'"],
      ["- [z-a]", "range out of order in character class"],
      ["- [[:bogus:]]", "unknown character class '[:bogus:]'"],
      ["- [[::]]", "unknown character class '[::]'"],
      ["- *\\", "it ends in a lone '\\'"],
      ["+ ", "the pattern after the prefix is empty"],
    ]
  ) {
    assert.throws(
      () => checkRule(rule),
      (error) => error instanceof GlobError && error.reason === reason,
      rule,
    );
  }
  checkRule("- {a,b"); // A brace is a plain character, as in rsync.
  checkRule("- a\\"); // No wildcard: the backslash is a plain character.
});
