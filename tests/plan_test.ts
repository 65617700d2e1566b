import assert from "node:assert/strict";
import { planDir, type PlanOptions } from "../lib/plan.ts";
import type { Entry, EntryKind } from "../lib/types.ts";

function e(name: string, kind: EntryKind, extra: Partial<Entry> = {}): Entry {
  return { name, kind, size: 10, mtimeMs: 1000, atimeMs: 1000, mode: 0o644, ino: 1, ...extra };
}
const opts: PlanOptions = { checksum: false, excluded: () => false, deletes: true };
const ops = (actions: { op: string; path: string }[]) => actions.map((a) => `${a.op} ${a.path}`);

Deno.test("plan: source-only entries are created, directories before their contents", () => {
  const actions = planDir(
    "d",
    [e("a", "file"), e("b", "dir"), e("c", "symlink", { target: "a" })],
    [],
    opts,
  );
  assert.deepEqual(ops(actions), ["copy d/a", "mkdir d/b", "symlink d/c", "descend d/b"]);
  assert.equal((actions[0] as { reason: string }).reason, "new");
});

Deno.test("plan: replica-only entries are removed first", () => {
  const actions = planDir(
    "",
    [e("b", "file")],
    [e("a", "file"), e("b", "file"), e("c", "dir")],
    opts,
  );
  assert.deepEqual(ops(actions), ["remove a", "remove c"]);
});

Deno.test("plan: size or mtime different means copy, in either direction of time", () => {
  const older = planDir("", [e("f", "file", { mtimeMs: 500 })], [e("f", "file")], opts);
  assert.deepEqual(ops(older), ["copy f"]);
  const bigger = planDir("", [e("f", "file", { size: 11 })], [e("f", "file")], opts);
  assert.deepEqual(ops(bigger), ["copy f"]);
  assert.deepEqual(planDir("", [e("f", "file")], [e("f", "file")], opts), []);
});

Deno.test("plan: mode-only change is a chmod; --checksum compares equal-looking files", () => {
  assert.deepEqual(ops(planDir("", [e("f", "file", { mode: 0o600 })], [e("f", "file")], opts)), [
    "chmod f",
  ]);
  const withChecksum = planDir("", [e("f", "file")], [e("f", "file")], { ...opts, checksum: true });
  assert.deepEqual(ops(withChecksum), ["compare f"]);
});

Deno.test("plan: type changes in every direction", () => {
  const cases: [EntryKind, EntryKind, string[]][] = [
    ["file", "dir", ["remove x", "copy x"]],
    ["file", "symlink", ["copy x"]],
    ["symlink", "file", ["symlink x"]],
    ["symlink", "dir", ["remove x", "symlink x"]],
    ["dir", "file", ["remove x", "mkdir x", "descend x"]],
    ["dir", "symlink", ["remove x", "mkdir x", "descend x"]],
  ];
  for (const [from, to, expected] of cases) {
    const actions = planDir(
      "",
      [e("x", from, { target: "t" })],
      [e("x", to, { target: "u" })],
      opts,
    );
    assert.deepEqual(ops(actions), expected, `${to} in replica, ${from} in source`);
  }
});

Deno.test("plan: symlinks compare by target text", () => {
  const same = planDir("", [e("l", "symlink", { target: "a" })], [
    e("l", "symlink", { target: "a" }),
  ], opts);
  assert.deepEqual(same, []);
  const moved = planDir("", [e("l", "symlink", { target: "a" })], [
    e("l", "symlink", { target: "b" }),
  ], opts);
  assert.deepEqual(ops(moved), ["symlink l"]);
});

Deno.test("plan: excluded paths are neither copied nor removed", () => {
  const excluded = (p: string) => p.endsWith(".tmp");
  const actions = planDir("d", [e("new.tmp", "file")], [e("old.tmp", "file")], {
    ...opts,
    excluded,
  });
  assert.deepEqual(actions, []);
});

Deno.test("plan: stale temporary files of ours go, look-alikes in the source stay", () => {
  const stale = ".foldersync-tmp-0123456789abcdef";
  const lookAlike = ".foldersync-tmp-fedcba9876543210";
  const actions = planDir("", [e(lookAlike, "file")], [e(stale, "file"), e(lookAlike, "file")], {
    ...opts,
    excluded: () => true,
  });
  assert.deepEqual(ops(actions), [`remove ${stale}`]);
});

Deno.test("plan: FIFOs and other special files are skipped", () => {
  const actions = planDir("", [e("p", "other")], [e("p", "file")], opts);
  assert.deepEqual(ops(actions), ["skip p"]);
});

Deno.test("plan: with deletes off nothing is removed and type changes needing a delete are skipped", () => {
  const actions = planDir("", [e("x", "dir")], [e("x", "file"), e("y", "file")], {
    ...opts,
    deletes: false,
  });
  assert.deepEqual(ops(actions), ["skip x"]);
});

Deno.test("plan: both-directory entries are walked into, after the copies", () => {
  const actions = planDir("", [e("d", "dir"), e("f", "file")], [e("d", "dir")], opts);
  assert.deepEqual(ops(actions), ["copy f", "descend d"]);
});
