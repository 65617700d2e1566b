/**
 * Filters end to end, with rsync as the oracle: for each named rule set, on a
 * stale replica and on an empty one, `rsync -a --delete RULES src/ dst/` and
 * `foldersync --once RULES` must leave the same replica (names, kinds,
 * content, link targets). Then the other places rules apply: `--watch`
 * events and the empty-source check.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { makeExcludeMatcher } from "../lib/engine/exclude.ts";
import { type EventSource, watchSource } from "../lib/loop/watch.ts";
import { hasCommand, syncOnce, tempDirs, type TreeSpec, waitFor, writeTree } from "./helpers.ts";

const hasRsync = hasCommand("rsync");

const SOURCE: TreeSpec = {
  "a.log": "src a.log",
  "keep.log": "src keep.log",
  "main.c": "src main.c",
  "notes.txt": "src notes",
  "ln.log": { link: "main.c" },
  "link": { link: "a.log" },
  "foo": "src foo",
  "sub": { "z.log": "src sub z", "y.txt": "src sub y" },
  "a": {
    "sub": { "z.log": "src a/sub z", "w.c": "src w.c" },
    "x.txt": "src a/x",
    "build": { "y.o": "src y.o" },
    "foo": "src a/foo",
  },
  "build": { "o.o": "src o.o", "out": { "a.js": "src a.js" } },
  "cache": { "c.bin": "src c.bin" },
  "x": { "cache": { "k.bin": "src k.bin" }, "y.txt": "src x/y" },
  "tmp": { "t.txt": "src tmp/t" },
  "b": { "tmp": "src b/tmp file" },
  "dir": { "in.txt": "src dir/in", "sub": { "deep.txt": "src deep" } },
  "src": { "main.c": "src src/main.c", "lib": { "util.c": "src util.c", "README": "src readme" } },
};

/** A replica from an earlier run, changed since: extra, changed and retyped entries. */
const STALE: TreeSpec = {
  "]notes": "replica only: ]notes",
  "old.txt": "replica only: old.txt",
  "stale.log": "replica only: stale.log",
  "main.c": "stale main.c, longer",
  "sub": { "old.log": "replica only: sub/old.log", "y.txt": "stale sub/y, longer" },
  "a": { "sub": { "old.log": "replica only: a/sub/old.log" }, "foo": "stale a/foo, longer" },
  "build": { "old.o": "replica only: old.o", "out": { "a.js": "stale a.js, longer" } },
  "cache": { "c.bin": "stale c.bin, longer", "extra.bin": "replica only: extra.bin" },
  "x": { "cache": { "old.bin": "replica only: x/cache/old.bin" } },
  "tmp": "a replica file where the source has a folder",
  "b": { "tmp": { "in.txt": "a replica folder where the source has a file" } },
  "junk": { "x.log": "replica only: junk/x.log", "y.txt": "replica only: junk/y.txt" },
  "dir": { "in.txt": "stale dir/in, longer", "old.txt": "replica only: dir/old.txt" },
  "foo": "stale foo, longer",
  "src": { "notes.txt": "replica only: src/notes.txt", "lib": { "README": "stale readme!" } },
};

/** Each rule set: a name, and its rules (`FILE:` + text makes a file and passes its path). */
const SETS: [string, string[]][] = [
  ["a pattern without '/' matches a name at any depth", ["--exclude", "*.log"]],
  ["a pattern with '/' matches the end of the path", ["--exclude", "sub/*.log"]],
  ["'build/**' leaves the build folders, empty", ["--exclude", "build/**"]],
  ["'**/cache/**' leaves the cache folders, empty", ["--exclude", "**/cache/**"]],
  ["a ']' first in a class is one of its characters", ["--exclude", "[]]*"]],
  ["'[a\\]]': an escaped ']' in a class", ["--exclude", "[a\\]]*"]],
  ["'[!]]': a negated class holding ']'", ["--include", "[!]]*", "--exclude", "*"]],
  ["include then exclude: folders are excluded too", ["--include", "*.c", "--exclude", "*"]],
  ["include then exclude, with '*/' to walk in", [
    "--include",
    "*/",
    "--include",
    "*.c",
    "--exclude",
    "*",
  ]],
  ["the first matching rule decides", ["--include", "keep.log", "--exclude", "*.log"]],
  ["a leading '/' anchors at the root", ["--exclude", "/foo"]],
  ["a trailing '/' matches folders only", ["--exclude", "tmp/"]],
  ["'dir/***' is the folder and all in it", ["--exclude", "dir/***"]],
  ["an include below an excluded folder does nothing", [
    "--include",
    "build/out/a.js",
    "--exclude",
    "build/",
  ]],
  ["--delete-excluded removes what is excluded", [
    "--exclude",
    "*.log",
    "--exclude",
    "cache/",
    "--delete-excluded",
  ]],
  ["--exclude-from, with comments and blank lines", [
    "--exclude-from",
    "FILE:# logs\n*.log\n\n; caches\ncache/\n+ keep.o\n",
  ]],
  ["--include-from, then an exclude", ["--include-from", "FILE:*/\n*.c\n", "--exclude", "*"]],
  ["'!' clears the rules before it", ["--exclude", "*.log", "--exclude", "!", "--exclude", "b"]],
];

/** A tree as names, kinds, content and link targets. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of [...Deno.readDirSync(rel === "" ? root : `${root}/${rel}`)]) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const abs = `${root}/${path}`;
      if (entry.isSymlink) out[path] = `link -> ${Deno.readLinkSync(abs)}`;
      else if (entry.isDirectory) {
        out[path] = "dir";
        walk(path);
      } else {
        out[path] = "file " + createHash("sha256").update(Deno.readFileSync(abs)).digest("hex")
          .slice(0, 12);
      }
    }
  };
  walk("");
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

Deno.test({
  name: "rsync filters: the same rules leave the same replica as rsync -a --delete",
  ignore: !hasRsync,
  async fn(t) {
    for (const [name, rules] of SETS) {
      for (const replica of ["stale", "empty"] as const) {
        await t.step(`${name} (${replica} replica)`, async () => {
          using dirs = tempDirs();
          const args = rules.map((arg, i) => {
            if (!arg.startsWith("FILE:")) return arg;
            const file = `${dirs.dir}/rules-${i}`;
            Deno.writeTextFileSync(file, arg.slice(5));
            return file;
          });
          const theirs = `${dirs.dir}/rsync`;
          writeTree(dirs.src, SOURCE);
          writeTree(dirs.dst, replica === "stale" ? STALE : {});
          writeTree(theirs, replica === "stale" ? STALE : {});
          const rsync = new Deno.Command("rsync", {
            args: ["-a", "--delete", ...args, dirs.src + "/", theirs + "/"],
            stdout: "piped",
            stderr: "piped",
          }).outputSync();
          const ours = await syncOnce(dirs, ...args);
          assert.deepEqual(tree(dirs.dst), tree(theirs), `rules: ${args.join(" ")}`);
          assert.equal(rsync.code, 0, new TextDecoder().decode(rsync.stderr));
          assert.equal(ours.code, 0, ours.stdout + ours.stderr);
        });
      }
    }
  },
});

/**
 * The folders a watcher over a hand-fed event source collects for these events (`create`, or
 * `modify` for a path ending in "*"), in a source holding the folders `tree` names.
 */
async function watchedDirs(
  rules: string[],
  paths: string[],
  tree: TreeSpec = {},
): Promise<string[]> {
  using t = tempDirs();
  writeTree(t.src, tree);
  const root = Deno.realPathSync(t.src);
  const events = paths.map((p): Deno.FsEvent =>
    p.endsWith("*")
      ? { kind: "modify", paths: [`${root}/${p.slice(0, -1)}`] }
      : { kind: "create", paths: [`${root}/${p}`] }
  );
  let closed = false;
  const source: EventSource = {
    close: () => (closed = true),
    async *[Symbol.asyncIterator]() {
      yield* events;
      while (!closed) await new Promise((r) => setTimeout(r, 10));
    },
  };
  const watch = watchSource({
    source: root,
    excluded: makeExcludeMatcher(rules),
    debounceMs: 10,
    open: () => source,
  });
  try {
    await waitFor(() => watch.ready, 5000, "the batch");
    return [...watch.take().dirs].sort();
  } finally {
    watch.close();
  }
}

Deno.test("filters: --watch ignores events below an excluded folder, by the folder's kind", async () => {
  // "tmp/" matches folders only: what is under a tmp folder is out, an event on "tmp" itself
  // (a file or a folder: the event does not say) is not.
  assert.deepEqual(await watchedDirs(["- tmp/"], ["tmp/x", "a/tmp/y/z", "tmp", "ok/z"]), [
    "",
    "ok",
  ]);
  // A change to an excluded folder's own mode or mtime does not make it a folder to sync.
  assert.deepEqual(
    await watchedDirs(["- tmp/"], ["tmp*", "a/tmp*", "ok*"], { tmp: {}, a: { tmp: {} }, ok: {} }),
    ["", "a", "ok"],
  );
  // A new folder is not taken for a file that "*" excludes.
  assert.deepEqual(await watchedDirs(["+ */", "+ *.c", "- *"], ["new"]), [""]);
});

Deno.test("filters: a source holding only excluded entries counts as empty, by their kind", async () => {
  using t = tempDirs();
  writeTree(t.src, { tmp: { "x.txt": "x" } });
  writeTree(t.dst, { "old.txt": "o" });
  const refused = await syncOnce(t, "--exclude", "tmp/");
  assert.equal(refused.code, 1);
  assert.match(refused.stdout + refused.stderr, /is empty but replica .* is not: refusing/);
  assert.equal(Deno.readTextFileSync(`${t.dst}/old.txt`), "o");
  // A file named tmp is no folder: the source is not empty, and the file is mirrored.
  Deno.removeSync(`${t.src}/tmp`, { recursive: true });
  Deno.writeTextFileSync(`${t.src}/tmp`, "a file");
  const synced = await syncOnce(t, "--exclude", "tmp/");
  assert.equal(synced.code, 0, synced.stdout);
  assert.deepEqual([...Deno.readDirSync(t.dst)].map((e) => e.name), ["tmp"]);
});
