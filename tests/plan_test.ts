/**
 * The planner as a table (Mutagen's reconcile test is the model): each row is
 * one named case, {source entry, replica entry, options} -> the actions.
 */
import assert from "node:assert/strict";
import { planDir, planDirMeta, type PlanOptions } from "../lib/plan.ts";
import type { Action, Entry, EntryKind } from "../lib/types.ts";

function e(kind: EntryKind, extra: Partial<Entry> = {}): Entry {
  return {
    name: "x",
    kind,
    size: kind === "file" ? 10 : 0,
    mtimeMs: 1000,
    atimeMs: 1000,
    mode: kind === "dir" ? 0o755 : kind === "symlink" ? 0o777 : 0o644,
    target: kind === "symlink" ? "t" : undefined,
    dev: 1,
    ino: 1,
    uid: 1000,
    gid: 1000,
    blocks: 8,
    ...extra,
  };
}
const base: PlanOptions = { checksum: false, excluded: () => false, deletes: true };

/** One action as text: op, path, and the detail that matters. */
function show(a: Action): string {
  switch (a.op) {
    case "copy":
    case "symlink":
      return `${a.op} ${a.path} (${a.reason})`;
    case "remove":
      return `remove ${a.path} (${a.reason})`;
    case "compare":
      return `compare ${a.path}${a.attrs ? " +attrs" : ""}`;
    case "skip":
      return `skip ${a.path}`;
    default:
      return `${a.op} ${a.path}`;
  }
}

interface Row {
  name: string;
  src?: Entry;
  dst?: Entry;
  options?: Partial<PlanOptions>;
  want: string[];
}

const rows: Row[] = [
  // Kinds: absent on one side.
  { name: "absent on both sides: nothing", want: [] },
  { name: "new file is copied", src: e("file"), want: ["copy x (new)"] },
  { name: "new directory is made, then walked", src: e("dir"), want: ["mkdir x", "descend x"] },
  { name: "new symlink is created", src: e("symlink"), want: ["symlink x (new)"] },
  { name: "new special file is skipped", src: e("other"), want: ["skip x"] },
  { name: "extra replica file is removed", dst: e("file"), want: ["remove x (extra)"] },
  { name: "extra replica directory is removed", dst: e("dir"), want: ["remove x (extra)"] },
  { name: "extra replica symlink is removed", dst: e("symlink"), want: ["remove x (extra)"] },
  { name: "extra replica special file is removed", dst: e("other"), want: ["remove x (extra)"] },
  // Kinds: same on both sides.
  { name: "same file: nothing", src: e("file"), dst: e("file"), want: [] },
  { name: "same directory: walked", src: e("dir"), dst: e("dir"), want: ["descend x"] },
  { name: "same symlink: nothing", src: e("symlink"), dst: e("symlink"), want: [] },
  {
    name: "special file on both sides: skipped",
    src: e("other"),
    dst: e("other"),
    want: ["skip x"],
  },
  // Kinds: type changes.
  {
    name: "file replaces directory",
    src: e("file"),
    dst: e("dir"),
    want: ["remove x (type)", "copy x (update)"],
  },
  {
    name: "file replaces symlink in place",
    src: e("file"),
    dst: e("symlink"),
    want: ["copy x (update)"],
  },
  {
    name: "file replaces special file in place",
    src: e("file"),
    dst: e("other"),
    want: ["copy x (update)"],
  },
  {
    name: "symlink replaces file in place",
    src: e("symlink"),
    dst: e("file"),
    want: ["symlink x (update)"],
  },
  {
    name: "symlink replaces directory",
    src: e("symlink"),
    dst: e("dir"),
    want: ["remove x (type)", "symlink x (update)"],
  },
  {
    name: "directory replaces file",
    src: e("dir"),
    dst: e("file"),
    want: ["remove x (type)", "mkdir x", "descend x"],
  },
  {
    name: "directory replaces symlink",
    src: e("dir"),
    dst: e("symlink"),
    want: ["remove x (type)", "mkdir x", "descend x"],
  },
  {
    name: "directory replaces special file",
    src: e("dir"),
    dst: e("other"),
    want: ["remove x (type)", "mkdir x", "descend x"],
  },
  {
    name: "special file in source over a replica file: skipped, file kept",
    src: e("other"),
    dst: e("file"),
    want: ["skip x"],
  },
  // Attributes.
  {
    name: "size differs: copy",
    src: e("file", { size: 11 }),
    dst: e("file"),
    want: ["copy x (update)"],
  },
  {
    name: "source mtime newer: copy",
    src: e("file", { mtimeMs: 2000 }),
    dst: e("file"),
    want: ["copy x (update)"],
  },
  {
    name: "source mtime older (restored): copy",
    src: e("file", { mtimeMs: 500 }),
    dst: e("file"),
    want: ["copy x (update)"],
  },
  { name: "mode only: attrs", src: e("file", { mode: 0o755 }), dst: e("file"), want: ["attrs x"] },
  {
    name: "size and mode: one copy sets both",
    src: e("file", { size: 3, mode: 0o755 }),
    dst: e("file"),
    want: ["copy x (update)"],
  },
  {
    name: "content only (same size and mtime): not seen without --checksum",
    src: e("file"),
    dst: e("file"),
    want: [],
  },
  {
    name: "link target differs: symlink update",
    src: e("symlink", { target: "u" }),
    dst: e("symlink"),
    want: ["symlink x (update)"],
  },
  {
    name: "directory mode only: walked (its mode is planned after its contents)",
    src: e("dir", { mode: 0o700 }),
    dst: e("dir"),
    want: ["descend x"],
  },
  {
    name: "owner differs, owners not kept: nothing",
    src: e("file", { uid: 0 }),
    dst: e("file"),
    want: [],
  },
  {
    name: "owner differs, owners kept (root): attrs",
    src: e("file", { uid: 0 }),
    dst: e("file"),
    options: { owners: true },
    want: ["attrs x"],
  },
  {
    name: "set-uid source, owner not kept: replica without the bit is current",
    src: e("file", { mode: 0o4755, uid: 0 }),
    dst: e("file", { mode: 0o755 }),
    want: [],
  },
  {
    name: "set-uid source, owner not kept: replica with the bit is fixed",
    src: e("file", { mode: 0o4755, uid: 0 }),
    dst: e("file", { mode: 0o4755 }),
    want: ["attrs x"],
  },
  {
    name: "set-uid source, same owner: the bit is never added in place, the file is copied afresh",
    src: e("file", { mode: 0o4755 }),
    dst: e("file", { mode: 0o755 }),
    want: ["copy x (update)"],
  },
  {
    name:
      "set-uid source, owners kept (root), owner differs: copied afresh, never chowned under it",
    src: e("file", { mode: 0o4755, uid: 0 }),
    dst: e("file", { mode: 0o4755 }),
    options: { owners: true },
    want: ["copy x (update)"],
  },
  {
    name: "set-gid source, --checksum: copied afresh, not compared then chmodded",
    src: e("file", { mode: 0o2755 }),
    dst: e("file", { mode: 0o755 }),
    options: { checksum: true },
    want: ["copy x (update)"],
  },
  {
    name: "set-uid on both sides, same owner, other bits differ: attrs",
    src: e("file", { mode: 0o4750 }),
    dst: e("file", { mode: 0o4755 }),
    want: ["attrs x"],
  },
  // --checksum.
  {
    name: "--checksum, all equal: compare",
    src: e("file"),
    dst: e("file"),
    options: { checksum: true },
    want: ["compare x"],
  },
  {
    name: "--checksum, mode only: compare then attrs",
    src: e("file", { mode: 0o755 }),
    dst: e("file"),
    options: { checksum: true },
    want: ["compare x +attrs"],
  },
  {
    name: "--checksum, size differs: copy without compare",
    src: e("file", { size: 1 }),
    dst: e("file"),
    options: { checksum: true },
    want: ["copy x (update)"],
  },
  // --exclude.
  {
    name: "excluded new file: nothing",
    src: e("file"),
    options: { excluded: () => true },
    want: [],
  },
  {
    name: "excluded extra replica file: kept",
    dst: e("file"),
    options: { excluded: () => true },
    want: [],
  },
  {
    name: "excluded changed file: nothing",
    src: e("file", { size: 1 }),
    dst: e("file"),
    options: { excluded: () => true },
    want: [],
  },
  {
    name: "our stale temporary file is removed even when excluded",
    dst: e("file", { name: ".foldersync-tmp-0123456789abcdef" }),
    options: { excluded: () => true },
    want: ["remove .foldersync-tmp-0123456789abcdef (extra)"],
  },
  {
    name: "a source file named like our temporary files is mirrored",
    src: e("file", { name: ".foldersync-tmp-0123456789abcdef" }),
    want: ["copy .foldersync-tmp-0123456789abcdef (new)"],
  },
  // Deletes off (--max-delete tripped).
  {
    name: "deletes off: extra replica file kept",
    dst: e("file"),
    options: { deletes: false },
    want: [],
  },
  {
    name: "deletes off: type change needing a removal is skipped",
    src: e("file"),
    dst: e("dir"),
    options: { deletes: false },
    want: ["skip x"],
  },
  {
    name: "deletes off: in-place replacement still happens",
    src: e("file"),
    dst: e("symlink"),
    options: { deletes: false },
    want: ["copy x (update)"],
  },
  // Protected names (unreadable, or two names decoding alike).
  {
    name: "protected name: replica entry left alone",
    dst: e("file"),
    options: { protect: new Set(["x"]) },
    want: [],
  },
  {
    name: "protected name: source entry not copied over it",
    src: e("file"),
    dst: e("file", { size: 1 }),
    options: { protect: new Set(["x"]) },
    want: [],
  },
];

for (const row of rows) {
  Deno.test(`plan: ${row.name}`, () => {
    const src = row.src ? [row.src] : [];
    const dst = row.dst ? [row.dst] : [];
    const actions = planDir("", src, dst, { ...base, ...row.options });
    assert.deepEqual(actions.map(show), row.want);
    // Every change to an existing replica entry carries what the scan saw there, for the re-check.
    const removed = actions.some((a) => a.op === "remove");
    for (const action of actions) {
      if (action.op === "remove" || (!removed && "dst" in action && action.op !== "descend")) {
        assert.equal(action.dst, row.dst, `${action.op} carries the replica entry`);
      }
    }
  });
}

Deno.test("plan: order is removals, then creations in name order, then directories to walk", () => {
  const f = (name: string, kind: EntryKind) => e(kind, { name });
  const actions = planDir(
    "d",
    [f("a", "file"), f("b", "dir"), f("c", "symlink")],
    [f("0", "file"), f("b", "file")],
    base,
  );
  assert.deepEqual(actions.map(show), [
    "remove d/0 (extra)",
    "remove d/b (type)",
    "copy d/a (new)",
    "mkdir d/b",
    "symlink d/c (new)",
    "descend d/b",
  ]);
});

const metaRows: {
  name: string;
  src: Entry;
  dst?: Entry;
  changed?: boolean;
  owners?: boolean;
  want: string | undefined;
}[] = [
  {
    name: "same directory, nothing changed inside: nothing",
    src: e("dir"),
    dst: e("dir"),
    want: undefined,
  },
  {
    name: "contents changed: mtime set again, no report",
    src: e("dir"),
    dst: e("dir"),
    changed: true,
    want: "",
  },
  { name: "mtime differs: set, no report", src: e("dir", { mtimeMs: 5 }), dst: e("dir"), want: "" },
  {
    name: "mode differs: reported",
    src: e("dir", { mode: 0o700 }),
    dst: e("dir"),
    want: "mode 0700",
  },
  { name: "new directory: set, no report", src: e("dir", { mode: 0o555 }), want: "" },
  {
    name: "owner differs, not kept: nothing",
    src: e("dir", { uid: 0 }),
    dst: e("dir"),
    want: undefined,
  },
  {
    name: "owner differs, kept: reported",
    src: e("dir", { uid: 0 }),
    dst: e("dir"),
    owners: true,
    want: "owner 0:1000",
  },
];
for (const row of metaRows) {
  Deno.test(`plan: directory metadata: ${row.name}`, () => {
    const action = planDirMeta("x", row.src, row.dst, row.changed ?? false, row.owners ?? false);
    assert.equal(
      action === undefined ? undefined : (action as { report: string }).report,
      row.want,
    );
  });
}
