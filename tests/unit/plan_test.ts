/**
 * The planner as a table (Mutagen's reconcile test is the model): each row is
 * one named case, {source entry, replica entry, options} -> the actions.
 */
import assert from "node:assert/strict";
import { planDir, planDirMeta, type PlanOptions } from "../../lib/engine/plan.ts";
import type { Action, Entry, EntryKind } from "../../lib/engine/types.ts";
import { entry as e } from "../fixtures.ts";

/** A file capability's value (`security.capability`), as read. */
const CAP = new Uint8Array([1, 2, 3]);

const base: PlanOptions = { checksum: false, excluded: () => false, deletes: true };

/** One action as text: op, path, and the detail that matters. */
function show(a: Action): string {
  switch (a.op) {
    case "copy":
      return `copy ${a.path} (${a.reason})${a.group ? " +group" : ""}`;
    case "symlink":
      return `${a.op} ${a.path} (${a.reason})`;
    case "link":
      return `link ${a.path} -> ${a.anchor} (${a.reason})`;
    case "remove":
      return `remove ${a.path} (${a.reason})`;
    case "compare":
      return `compare ${a.path}${a.attrs ? " +attrs" : ""}${a.group ? " +group" : ""}`;
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
    name: "--xattrs, a file capability not on the replica file: copied afresh, never set in place",
    src: e("file", { xattrs: new Map([["security.capability", CAP]]) }),
    dst: e("file", { xattrs: new Map() }),
    want: ["copy x (update)"],
  },
  {
    name: "--xattrs, another file capability on the replica file: copied afresh",
    src: e("file", { xattrs: new Map([["security.capability", CAP]]) }),
    dst: e("file", { xattrs: new Map([["security.capability", new Uint8Array([1, 2, 4])]]) }),
    want: ["copy x (update)"],
  },
  {
    name: "--xattrs, the same capability, owners kept, owner differs: copied, not chowned under it",
    src: e("file", { uid: 0, xattrs: new Map([["security.capability", CAP]]) }),
    dst: e("file", { xattrs: new Map([["security.capability", CAP]]) }),
    options: { owners: true },
    want: ["copy x (update)"],
  },
  {
    name: "--xattrs, the same capability, mode differs: attrs",
    src: e("file", { mode: 0o750, xattrs: new Map([["security.capability", CAP]]) }),
    dst: e("file", { xattrs: new Map([["security.capability", CAP]]) }),
    want: ["attrs x"],
  },
  {
    name: "--xattrs, a user attribute differs: attrs",
    src: e("file", { xattrs: new Map([["user.a", CAP]]) }),
    dst: e("file", { xattrs: new Map() }),
    want: ["attrs x"],
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
    name: "excluded folder on both sides: kept, not walked",
    src: e("dir"),
    dst: e("dir"),
    options: { excluded: () => true },
    want: [],
  },
  {
    name: "folders-only rule ('tmp/'): a replica file where the source has the folder goes",
    src: e("dir"),
    dst: e("file"),
    options: { excluded: (_path, isDir) => isDir === true },
    want: ["remove x (extra)"],
  },
  {
    name: "--delete-excluded: excluded extra replica file removed",
    dst: e("file"),
    options: { excluded: () => true, deleteExcluded: true },
    want: ["remove x (extra)"],
  },
  {
    name: "--delete-excluded: excluded folder on both sides removed, not walked",
    src: e("dir"),
    dst: e("dir"),
    options: { excluded: () => true, deleteExcluded: true },
    want: ["remove x (extra)"],
  },
  {
    name: "--delete-excluded with deletes off: kept",
    dst: e("file"),
    options: { excluded: () => true, deleteExcluded: true, deletes: false },
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
  // Mtimes compared within a window: the replica filesystem's granularity less 1 ms, or --modify-window.
  {
    name: "window: replica mtime cut to the whole second (ext4, 128-byte inodes): nothing",
    src: e("file", { mtimeMs: 1_600_000_001_625 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 999 },
    want: [],
  },
  {
    name: "window: replica mtime cut to the even second (FAT): nothing",
    src: e("file", { mtimeMs: 1_600_000_001_625 }),
    dst: e("file", { mtimeMs: 1_600_000_000_000 }),
    options: { mtimeWindowMs: 1999 },
    want: [],
  },
  {
    name: "window: same cut without a window: copy (what every cycle did on such a replica)",
    src: e("file", { mtimeMs: 1_600_000_001_625 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    want: ["copy x (update)"],
  },
  {
    name: "window: source mtime a millisecond past it: copy",
    src: e("file", { mtimeMs: 1_600_000_002_000 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 999 },
    want: ["copy x (update)"],
  },
  {
    name: "window: source older than the replica, within it: nothing",
    src: e("file", { mtimeMs: 1_600_000_001_000 }),
    dst: e("file", { mtimeMs: 1_600_000_001_999 }),
    options: { mtimeWindowMs: 999 },
    want: [],
  },
  {
    name: "window: source older than the replica, beyond it (restored): copy",
    src: e("file", { mtimeMs: 1_600_000_000_000 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 999 },
    want: ["copy x (update)"],
  },
  {
    name: "window: within it, mode differs: attrs only",
    src: e("file", { mtimeMs: 1_600_000_001_625, mode: 0o755 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 999 },
    want: ["attrs x"],
  },
  {
    name: "window: within it, size differs: copy",
    src: e("file", { mtimeMs: 1_600_000_001_625, size: 11 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 999 },
    want: ["copy x (update)"],
  },
  {
    name: "window: within it, --checksum: compare",
    src: e("file", { mtimeMs: 1_600_000_001_625 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 999, checksum: true },
    want: ["compare x"],
  },
  {
    name: "window: --modify-window 5 (5000 ms), 5 s apart: nothing",
    src: e("file", { mtimeMs: 1_600_000_006_000 }),
    dst: e("file", { mtimeMs: 1_600_000_001_000 }),
    options: { mtimeWindowMs: 5000 },
    want: [],
  },
  {
    name: "window: --hard-links, group file current within it: it stands for the group as it is",
    src: e("file", { nlink: 2, mtimeMs: 1_600_000_001_625 }),
    dst: e("file", { ino: 50, nlink: 2, mtimeMs: 1_600_000_001_000 }),
    options: { links: new Map(), mtimeWindowMs: 999 },
    want: ["anchor x"],
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
  // --hard-links: groups of files sharing a source inode (key "1:1": dev 1, ino 1).
  {
    name: "hard-linked file without --hard-links: copied as any file",
    src: e("file", { nlink: 2 }),
    want: ["copy x (new)"],
  },
  {
    name: "--hard-links, a file with one link: copied as any file",
    src: e("file"),
    options: { links: new Map() },
    want: ["copy x (new)"],
  },
  {
    name: "--hard-links, first of its group, new: its copy stands for the group",
    src: e("file", { nlink: 2 }),
    options: { links: new Map() },
    want: ["copy x (new) +group"],
  },
  {
    name: "--hard-links, first of its group, current: it stands for the group as it is",
    src: e("file", { nlink: 2 }),
    dst: e("file", { ino: 50, nlink: 2 }),
    options: { links: new Map() },
    want: ["anchor x"],
  },
  {
    name:
      "--hard-links, first of its group, mode differs, replica file's other link not a name of the group here (a cp -al snapshot): copied afresh",
    src: e("file", { nlink: 2, mode: 0o755 }),
    dst: e("file", { ino: 50, nlink: 2 }),
    options: { links: new Map() },
    want: ["copy x (update) +group"],
  },
  {
    name: "--hard-links, first of its group, changed: its copy stands for the group",
    src: e("file", { nlink: 2, size: 11 }),
    dst: e("file", { ino: 50, nlink: 2 }),
    options: { links: new Map() },
    want: ["copy x (update) +group"],
  },
  {
    name: "--hard-links, first of its group, --checksum: what the compare leaves stands for it",
    src: e("file", { nlink: 2 }),
    dst: e("file", { ino: 50, nlink: 2 }),
    options: { links: new Map(), checksum: true },
    want: ["compare x +group"],
  },
  {
    name:
      "--hard-links, first of its group, mode differs, replica file has more links: copied afresh",
    src: e("file", { nlink: 2, mode: 0o755 }),
    dst: e("file", { ino: 50, nlink: 3 }),
    options: { links: new Map() },
    want: ["copy x (update) +group"],
  },
  {
    name: "--hard-links, member, its replica file already is the group's: nothing",
    src: e("file", { nlink: 2 }),
    dst: e("file", { ino: 50, nlink: 2 }),
    options: { links: new Map([["1:1", { path: "a", found: { dev: 1, ino: 50 } }]]) },
    want: [],
  },
  {
    name: "--hard-links, member, its replica file is another inode: linked",
    src: e("file", { nlink: 2 }),
    dst: e("file", { ino: 51 }),
    options: { links: new Map([["1:1", { path: "a", found: { dev: 1, ino: 50 } }]]) },
    want: ["link x -> a (update)"],
  },
  {
    name: "--hard-links, member, new: linked",
    src: e("file", { nlink: 2 }),
    options: { links: new Map([["1:1", { path: "a", found: { dev: 1, ino: 50 } }]]) },
    want: ["link x -> a (new)"],
  },
  {
    name: "--hard-links, member, the group's file is copied this cycle: linked",
    src: e("file", { nlink: 2 }),
    dst: e("file", { ino: 50, nlink: 2 }),
    options: { links: new Map([["1:1", { path: "a" }]]) },
    want: ["link x -> a (update)"],
  },
  {
    name: "--hard-links, member, a symlink in its place: replaced by the link",
    src: e("file", { nlink: 2 }),
    dst: e("symlink"),
    options: { links: new Map([["1:1", { path: "a" }]]) },
    want: ["link x -> a (update)"],
  },
  {
    name: "--hard-links, member, a replica directory in its place: removed, then linked",
    src: e("file", { nlink: 2 }),
    dst: e("dir"),
    options: { links: new Map([["1:1", { path: "a" }]]) },
    want: ["remove x (type)", "link x -> a (update)"],
  },
  {
    name: "--hard-links, member, a replica directory in its place, deletes off: skipped",
    src: e("file", { nlink: 2 }),
    dst: e("dir"),
    options: { links: new Map([["1:1", { path: "a" }]]), deletes: false },
    want: ["skip x"],
  },
  {
    name: "--hard-links, member, replica file on another filesystem than the group's: kept apart",
    src: e("file", { nlink: 2 }),
    dst: e("file", { dev: 2, ino: 60 }),
    options: { links: new Map([["1:1", { path: "a", found: { dev: 1, ino: 50 } }]]) },
    want: [],
  },
  {
    name: "--hard-links, member, excluded: nothing",
    src: e("file", { nlink: 2 }),
    options: { links: new Map([["1:1", { path: "a" }]]), excluded: () => true },
    want: [],
  },
  {
    name:
      "one link in the source, the replica file has more, same otherwise: nothing (as rsync -aH)",
    src: e("file"),
    dst: e("file", { nlink: 3 }),
    options: { links: new Map() },
    want: [],
  },
  {
    name: "one link in the source, the replica file has more, mode differs: copied afresh",
    src: e("file", { mode: 0o755 }),
    dst: e("file", { nlink: 3 }),
    want: ["copy x (update)"],
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

Deno.test("plan: --hard-links: in a directory, the first by name stands for a new group; links follow the copies", () => {
  const f = (name: string, ino: number, nlink: number) => e("file", { name, ino, nlink });
  const actions = planDir(
    "d",
    [f("a", 7, 3), f("b", 7, 3), f("c", 8, 1), e("dir", { name: "s", ino: 9 })],
    [f("0", 20, 1)],
    { ...base, links: new Map() },
  );
  assert.deepEqual(actions.map(show), [
    "remove d/0 (extra)",
    "copy d/a (new) +group",
    "copy d/c (new)",
    "mkdir d/s",
    "link d/b -> d/a (new)",
    "descend d/s",
  ]);
  const copy = actions[1] as Extract<Action, { op: "copy" }>;
  const link = actions[4] as Extract<Action, { op: "link" }>;
  assert.equal(copy.group, "1:7");
  assert.equal(link.group, "1:7");
});

Deno.test("plan: --hard-links: a member whose replica file is current stands for a group before a new one", () => {
  const f = (name: string, ino: number, nlink: number) => e("file", { name, ino, nlink });
  const actions = planDir("", [f("a", 7, 2), f("b", 7, 2)], [f("b", 50, 1)], {
    ...base,
    links: new Map(),
  });
  assert.deepEqual(actions.map(show), ["anchor b", "link a -> b (new)"]);
});

Deno.test("plan: --hard-links: a mode change reaching only the group's names in this folder is one chmod", () => {
  const f = (name: string, ino: number, nlink: number, mode: number) =>
    e("file", { name, ino, nlink, mode });
  const actions = planDir("", [f("a", 7, 2, 0o600), f("b", 7, 2, 0o600)], [
    f("a", 50, 2, 0o644),
    f("b", 50, 2, 0o644),
  ], { ...base, links: new Map() });
  assert.deepEqual(actions.map(show), ["attrs a", "anchor a"]);
});

Deno.test("plan: --hard-links: a mode change whose replica file has a link besides the group's names here (a cp -al snapshot) is a fresh copy, relinked", () => {
  const f = (name: string, ino: number, nlink: number, mode: number) =>
    e("file", { name, ino, nlink, mode });
  const src = [f("a", 7, 3, 0o600), f("b", 7, 3, 0o600), f("c", 7, 3, 0o600)];
  const dst = [f("a", 50, 3, 0o644), f("b", 50, 3, 0o644)]; // c is new; the third link is outside.
  const actions = planDir("", src, dst, { ...base, links: new Map() });
  assert.deepEqual(actions.map(show), [
    "copy a (update) +group",
    "link b -> a (update)",
    "link c -> a (new)",
  ]);
});

Deno.test("plan: --hard-links: an excluded name sharing the replica file does not count as the group's", () => {
  const f = (name: string, ino: number, nlink: number, mode: number) =>
    e("file", { name, ino, nlink, mode });
  const actions = planDir("", [f("a", 7, 2, 0o600), f("b", 7, 2, 0o600)], [
    f("a", 50, 2, 0o644),
    f("b", 50, 2, 0o644),
  ], { ...base, links: new Map(), excluded: (path) => path === "b" });
  assert.deepEqual(actions.map(show), ["copy a (update) +group"]);
});

Deno.test("plan: --hard-links: a group met in an earlier directory keeps its file there", () => {
  const f = (name: string, ino: number, nlink: number) => e("file", { name, ino, nlink });
  const links = new Map([["1:7", { path: "x/a", found: { dev: 1, ino: 50 } }]]);
  const actions = planDir("y", [f("b", 7, 3), f("c", 7, 3)], [f("b", 50, 3), f("c", 51, 1)], {
    ...base,
    links,
  });
  assert.deepEqual(actions.map(show), ["link y/c -> x/a (update)"]);
});

const metaRows: {
  name: string;
  src: Entry;
  dst?: Entry;
  changed?: boolean;
  owners?: boolean;
  windowMs?: number;
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
    name: "mtime differs within the window (a replica keeping whole seconds): nothing",
    src: e("dir", { mtimeMs: 1625 }),
    dst: e("dir", { mtimeMs: 1000 }),
    windowMs: 999,
    want: undefined,
  },
  {
    name: "mtime differs beyond the window: set, no report",
    src: e("dir", { mtimeMs: 2000 }),
    dst: e("dir", { mtimeMs: 1000 }),
    windowMs: 999,
    want: "",
  },
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
    const action = planDirMeta(
      "x",
      row.src,
      row.dst,
      row.changed ?? false,
      row.owners ?? false,
      row.windowMs,
    );
    assert.equal(
      action === undefined ? undefined : (action as { report: string }).report,
      row.want,
    );
  });
}
