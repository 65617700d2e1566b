/**
 * `--itemize-changes` as tables: the code builder, what the planner finds different, the log
 * line, and the flag's spellings (the codes against rsync, end to end: ../itemize_test.ts).
 */
import assert from "node:assert/strict";
import { itemizeCode, itemizeName, type ItemUpdate } from "../../lib/engine/itemize.ts";
import { parseCommandLine } from "../../lib/config/cli.ts";
import { changesOf, planDir, planDirMeta } from "../../lib/engine/plan.ts";
import { itemizedText, logEvent, setupLogging } from "../../lib/report/logging.ts";
import type { Entry, EntryKind, SyncEvent } from "../../lib/engine/types.ts";
import { entry as e } from "../fixtures.ts";
import { tempDirs } from "../helpers.ts";
const codeRows: [ItemUpdate, EntryKind, string, string][] = [
  [">", "file", "+", ">f+++++++++"],
  [">", "file", "st", ">f.st......"],
  [">", "file", "t", ">f..t......"],
  [">", "file", "tp", ">f..tp....."],
  [">", "file", "c", ">fc........"],
  [">", "file", "cs", ">fcs......."],
  [">", "file", "stpog", ">f.stpog..."],
  [".", "file", "p", ".f...p....."],
  [".", "file", "og", ".f....og..."],
  [".", "dir", "t", ".d..t......"],
  [".", "dir", "p", ".d...p....."],
  [".", "dir", "o", ".d....o...."],
  ["c", "dir", "+", "cd+++++++++"],
  ["c", "symlink", "+", "cL+++++++++"],
  ["c", "symlink", "cT", "cLc.T......"],
  ["h", "file", "+", "hf+++++++++"],
  ["h", "file", "", "hf         "],
  ["*", "file", "", "*deleting  "],
  ["*", "dir", "", "*deleting  "],
];
for (const [update, kind, changes, want] of codeRows) {
  Deno.test(`itemizeCode: ${update} ${kind} '${changes}' -> '${want}'`, () => {
    const code = itemizeCode(update, kind, changes);
    assert.equal(code, want);
    assert.equal(code.length, 11);
  });
}

Deno.test("itemizeName: a folder ends in '/', the root is './'", () => {
  assert.equal(itemizeName(".", "dir"), "./");
  assert.equal(itemizeName("", "dir"), "./");
  assert.equal(itemizeName("a/b", "dir"), "a/b/");
  assert.equal(itemizeName("a/b", "file"), "a/b");
  assert.equal(itemizeName("l", "symlink"), "l");
});

const changeRows: {
  name: string;
  src: Entry;
  dst?: Entry;
  owners?: boolean;
  checksum?: boolean;
  want: string;
}[] = [
  { name: "nothing there", src: e("file"), want: "+" },
  { name: "another kind there", src: e("file"), dst: e("symlink"), want: "+" },
  { name: "same file", src: e("file"), dst: e("file"), want: "" },
  { name: "size and mtime", src: e("file", { size: 3, mtimeMs: 9 }), dst: e("file"), want: "st" },
  {
    name: "size, --checksum: content too",
    src: e("file", { size: 3 }),
    dst: e("file"),
    checksum: true,
    want: "cs",
  },
  { name: "mtime", src: e("file", { mtimeMs: 9 }), dst: e("file"), want: "t" },
  { name: "mode", src: e("file", { mode: 0o600 }), dst: e("file"), want: "p" },
  {
    name: "owner and group, not kept: nothing",
    src: e("file", { uid: 0, gid: 0 }),
    dst: e("file"),
    want: "",
  },
  {
    name: "owner and group, kept",
    src: e("file", { uid: 0, gid: 0 }),
    dst: e("file"),
    owners: true,
    want: "og",
  },
  {
    name: "set-uid not kept on another's file: the mode it gets is the same",
    src: e("file", { mode: 0o4644, uid: 0 }),
    dst: e("file"),
    want: "",
  },
  { name: "link target", src: e("symlink", { target: "u" }), dst: e("symlink"), want: "cT" },
  { name: "folder mtime", src: e("dir", { mtimeMs: 9 }), dst: e("dir"), want: "t" },
  { name: "folder mode", src: e("dir", { mode: 0o700 }), dst: e("dir"), want: "p" },
  { name: "folder owner", src: e("dir", { uid: 0 }), dst: e("dir"), owners: true, want: "o" },
];
for (const row of changeRows) {
  Deno.test(`changesOf: ${row.name}: '${row.want}'`, () => {
    assert.equal(changesOf(row.src, row.dst, row.owners ?? false, row.checksum), row.want);
  });
}

Deno.test("plan: each change carries what differs; a folder's metadata too", () => {
  const base = { checksum: false, excluded: () => false, deletes: true };
  const changes = (src: Entry[], dst: Entry[]) =>
    planDir("", src, dst, base).map((a) => `${a.op} ${"changes" in a ? a.changes : "-"}`);
  assert.deepEqual(changes([e("file")], []), ["copy +"]);
  assert.deepEqual(changes([e("file", { size: 1, mtimeMs: 5 })], [e("file")]), ["copy st"]);
  assert.deepEqual(changes([e("file", { mode: 0o600 })], [e("file")]), ["attrs p"]);
  assert.deepEqual(changes([e("symlink", { target: "u" })], [e("symlink")]), ["symlink cT"]);
  assert.deepEqual(changes([e("symlink")], [e("file")]), ["symlink +"]);
  assert.deepEqual(changes([e("file")], [e("dir")]), ["remove -", "copy +"]);
  const meta = planDirMeta("x", e("dir", { mtimeMs: 5 }), e("dir"), false);
  assert.equal(meta?.op === "dirmeta" && meta.changes, "t");
  const made = planDirMeta("x", e("dir"), undefined, true);
  assert.equal(made?.op === "dirmeta" && made.changes, "", "a new folder's line is its mkdir's");
});

const textRows: { name: string; event: SyncEvent; want: string }[] = [
  {
    name: "a copy: code and path, no size",
    event: { action: "update", path: "a/b.txt", kind: "file", bytes: 12, itemize: ">f.st......" },
    want: ">f.st...... a/b.txt",
  },
  {
    name: "a folder ends in '/'",
    event: { action: "create", path: "a/new", kind: "dir", itemize: "cd+++++++++" },
    want: "cd+++++++++ a/new/",
  },
  {
    name: "the root is './'",
    event: { action: "update", path: ".", kind: "dir", itemize: ".d..t......", uncounted: true },
    want: ".d..t...... ./",
  },
  {
    name: "a link shows its target",
    event: {
      action: "update",
      path: "l",
      kind: "symlink",
      detail: "-> c.txt",
      itemize: "cLc.T......",
    },
    want: "cLc.T...... l -> c.txt",
  },
  {
    name: "a hard link shows its first name",
    event: {
      action: "create",
      path: "a3",
      kind: "file",
      detail: "hard link to a",
      itemize: "hf+++++++++",
    },
    want: "hf+++++++++ a3 => a",
  },
  {
    name: "attributes: the code says which",
    event: {
      action: "update",
      path: "c",
      kind: "file",
      detail: "mode 0600",
      itemize: ".f...p.....",
    },
    want: ".f...p..... c",
  },
  {
    name: "a removal",
    event: { action: "remove", path: "old", kind: "dir", itemize: "*deleting  " },
    want: "*deleting   old/",
  },
  {
    name: "a removal into the backup folder says where",
    event: {
      action: "backup",
      path: "old.txt",
      kind: "file",
      detail: "-> b/2026-01-01T000000Z/old.txt",
      count: 1,
      itemize: "*deleting  ",
    },
    want: "*deleting   old.txt (moved to b/2026-01-01T000000Z/old.txt)",
  },
  {
    name: "anything else follows in parentheses",
    event: {
      action: "copy",
      path: "b2",
      kind: "file",
      bytes: 1,
      detail: "not hard-linked to b: it was not copied",
      itemize: ">f+++++++++",
    },
    want: ">f+++++++++ b2 (not hard-linked to b: it was not copied)",
  },
];
for (const row of textRows) {
  Deno.test(`itemizedText: ${row.name}`, () => {
    assert.equal(itemizedText(row.event), row.want);
  });
}

Deno.test("logEvent: an itemized line at info with the code in JSON; none where rsync has none", async () => {
  using t = tempDirs();
  const textLog = await setupLogging({
    logFile: t.log,
    level: "debug",
    format: "text",
    console: false,
  });
  logEvent({ action: "copy", path: "a", kind: "file", bytes: 1, itemize: ">f+++++++++" });
  logEvent({ action: "remove", path: "typ", kind: "file", itemize: "" });
  logEvent({ action: "copy", path: "b", kind: "file", bytes: 1 });
  await textLog.close();
  const lines = Deno.readTextFileSync(t.log).trim().split("\n").map((l) => l.slice(25));
  assert.deepEqual(lines, [
    "INFO  >f+++++++++ a",
    "DEBUG remove file    typ",
    "INFO  copy   file    b (1 B)",
  ]);

  const json = `${t.dir}/logs/json.log`;
  const jsonLog = await setupLogging({
    logFile: json,
    level: "info",
    format: "json",
    console: false,
  });
  logEvent({ action: "update", path: "a", kind: "file", bytes: 1, itemize: ">f..t......" });
  await jsonLog.close();
  const object = JSON.parse(Deno.readTextFileSync(json));
  assert.equal(object.itemize, ">f..t......");
  assert.equal(object.path, "a");
  assert.equal(object.bytes, 1);
});

Deno.test("cli: -i, --itemize-changes and --itemize_changes turn it on; off by default", () => {
  const base = ["--source_path", "s", "--replica_path", "r"];
  const itemize = (...args: string[]) => {
    const command = parseCommandLine([...base, ...args]);
    return command.kind === "run" && command.config.itemizeChanges;
  };
  assert.equal(itemize(), false);
  assert.equal(itemize("-i"), true);
  assert.equal(itemize("--itemize-changes"), true);
  assert.equal(itemize("--itemize_changes"), true);
  assert.throws(() => parseCommandLine([...base, "--log_file", "-i"]), /--log_file needs a value/);
});
