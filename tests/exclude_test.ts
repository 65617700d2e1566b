/**
 * rsync as the oracle for which paths a walk leaves out, rule set by rule set (the filter
 * compiler's table: unit/exclude_test.ts).
 */
import assert from "node:assert/strict";
import { makeExcludeMatcher, ruleFromFlag } from "../lib/engine/exclude.ts";
import { hasCommand, tempDirs, type TreeSpec, writeTree } from "./helpers.ts";

// rsync as the oracle: which paths a walk with these rules leaves out.

const hasRsync = hasCommand("rsync");

/** A tree with the names the rules below are about. */
const TREE: TreeSpec = {
  "a.log": "",
  "keep.log": "",
  ".hidden": "",
  ".hidden.log": "",
  "]notes": "",
  "notes]": "",
  "[x]": "",
  "x": "",
  "-x": "",
  "7up": "",
  "*star": "",
  "xstar": "",
  "a\\b": "",
  "{a,b}": "",
  "file(1).txt": "",
  "main.c": "",
  "top.txt": "",
  "tmp": { "t.txt": "" },
  "dir": { "a": { "b": "" }, "c.c": "" },
  "build": { "o.o": "", "out": { "a.js": "" } },
  "builder": { "a": "" },
  "cache": { "x": "", "cache": { "y": "" } },
  "sub": { "z.log": "", "d": { "z.log": "" }, "top.txt": "" },
  "a": {
    "sub": { "z.log": "", "w.c": "" },
    "xsub": { "z.log": "" },
    "build": { "y.o": "" },
    "b": { "c": { "z": "" }, "x.c": "" },
    "z": "",
    "tmp": "",
    "dir": { "in": "" },
    "cache": { "k": "" },
  },
  "src": { "main.c": "", "notes.txt": "", "lib": { "util.c": "", "README": "" } },
  "foo": { "bar": "" },
  "foobar": "",
  "Q": { "q": "" },
};

/** Rule sets, each as rsync's arguments. */
const SETS: string[][] = [
  ...[
    "*.log",
    "sub/*.log",
    "/sub/*.log",
    "*/z.log",
    "a/sub/z.log",
    "sub/z.log",
    "/z.log",
    "z.log",
    "**.log",
    "**/z.log",
    "build/**",
    "build/",
    "build",
    "/build",
    "build***",
    "**/cache/**",
    "**/cache",
    "cache/**",
    "cache/",
    "/cache/***",
    "dir/***",
    "/dir/***",
    "a/**/z",
    "a/**",
    "a/*/z",
    "**",
    "*",
    "?",
    "??",
    "*/",
    "**/",
    "tmp/",
    "tmp",
    "/tmp/",
    "[]]*",
    "[!]]*",
    "[^]]*",
    "[a\\]]*",
    "[]x]*",
    "*[]]",
    "[a-c]*",
    "[!a-c]*",
    "[-a]*",
    "[[:digit:]]*",
    "[[:upper:]]",
    "[[]*",
    "\\[x\\]",
    "\\*star",
    "*star",
    "a\\b",
    "a\\\\b*",
    "{a,b}",
    "file(1).txt",
    ".*",
    ".hidden",
    "foo*",
    "foo***",
    "*o*o*",
    "a/b",
    "b/c",
    "/a/b/",
    "!x",
  ].map((p) => ["--exclude", p]),
  ["--include", "*.c", "--exclude", "*"],
  ["--include", "*/", "--include", "*.c", "--exclude", "*"],
  ["--exclude", "*.c", "--include", "*.c"],
  ["--include", "keep.log", "--exclude", "*.log"],
  ["--include", "a/sub/", "--exclude", "sub/"],
  ["--include", "sub/z.log", "--exclude", "sub/"],
  ["--include", "src/lib/", "--exclude", "src/*"],
  ["--include", "/src/***", "--exclude", "*"],
  ["--exclude", "*.log", "--exclude", "!", "--exclude", "tmp"],
  ["--exclude", "+ *.c", "--exclude", "*.c", "--exclude", "b"],
  ["--include", "- *.log", "--include", "*.log"],
];

/** What rsync would send of `root` under these rules: paths, folders with a trailing "/". */
function rsyncSends(root: string, args: string[]): string[] {
  const out = new Deno.Command("rsync", {
    args: ["-a", "--dry-run", "--out-format=%n", ...args, root + "/", root + "-none/"],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return text.split("\n").filter((l) => l !== "" && l !== "./").sort();
}

/** What a walk with our matcher keeps: the same form. */
function weSend(root: string, rules: string[]): string[] {
  const excluded = makeExcludeMatcher(rules);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of Deno.readDirSync(rel === "" ? root : `${root}/${rel}`)) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (excluded(path, entry.isDirectory)) continue;
      out.push(entry.isDirectory ? path + "/" : path);
      if (entry.isDirectory) walk(path);
    }
  };
  walk("");
  return out.sort();
}

/** The rules of an rsync argument list, as foldersync's command line makes them. */
function rulesOf(args: string[]): string[] {
  const rules: string[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const rule = ruleFromFlag(args[i + 1], args[i] === "--include");
    if (rule !== undefined) rules.push(rule);
  }
  return rules;
}

Deno.test({
  name: "exclude: rsync leaves out the same paths, for every rule set",
  ignore: !hasRsync,
  fn() {
    using t = tempDirs();
    writeTree(t.src, TREE);
    const differ: string[] = [];
    for (const args of SETS) {
      const theirs = rsyncSends(t.src, args);
      const ours = weSend(t.src, rulesOf(args));
      const onlyTheirs = theirs.filter((p) => !ours.includes(p));
      const onlyOurs = ours.filter((p) => !theirs.includes(p));
      if (onlyTheirs.length || onlyOurs.length) {
        differ.push(
          `${args.join(" ")}: rsync only ${JSON.stringify(onlyTheirs)}, ` +
            `we only ${JSON.stringify(onlyOurs)}`,
        );
      }
    }
    assert.deepEqual(differ, []);
  },
});
