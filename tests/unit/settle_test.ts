/** The settle rule as numbers, and the copies the planner marks with it (end to end: ../settle_test.ts). */
import assert from "node:assert/strict";
import { settleDelay } from "../../lib/engine/settle.ts";
import { planDir } from "../../lib/engine/plan.ts";
import { entry } from "../fixtures.ts";

Deno.test("settle rule: settled, fresh, slightly ahead, and far in the future", () => {
  const now = 1_000_000;
  assert.equal(settleDelay(now - 500, now), 0, "settled");
  assert.equal(settleDelay(now - 30, now), 70, "fresh: waits until 100 ms old");
  assert.equal(
    settleDelay(now + 500, now),
    600,
    "within the margin: until it is 100 ms old (a rewrite could land in its millisecond)",
  );
  assert.equal(settleDelay(now + 5000, now), 0, "beyond the margin: clock skew, copied at once");
  assert.equal(
    settleDelay(now - 1000, now),
    1100,
    "whole seconds: perhaps a filesystem that keeps no more, so two seconds more",
  );
  assert.equal(settleDelay(now - 3000, now), 0, "whole seconds, long settled");
  assert.equal(
    settleDelay(now - 30, now, 999),
    1069,
    "a replica keeping whole seconds (window 999 ms): a rewrite within it would look unchanged",
  );
  assert.equal(settleDelay(now - 30, now, 60_000), 2070, "a wide --modify-window: 2 s at most");
  assert.equal(settleDelay(now - 1000, now, 999), 1100, "whole seconds: the longer of the two");
});

Deno.test("plan: a fresh file's copy carries when it may be made; a future one is flagged", () => {
  const now = 1_000_000;
  const file = (name: string, mtimeMs: number) =>
    entry("file", { name, size: 1, mtimeMs, atimeMs: mtimeMs, uid: 0, gid: 0 });
  const entries = [file("a", now - 10), file("b", now + 9000), file("c", 5), file("d", now + 500)];
  const actions = planDir("", entries, [], {
    checksum: false,
    excluded: () => false,
    deletes: true,
    now,
  });
  assert.deepEqual(
    actions.map((a) => a.op === "copy" && [a.path, a.settleAt, a.future]),
    [
      ["a", now + 90, undefined],
      ["b", undefined, true],
      ["c", undefined, undefined],
      ["d", now + 600, undefined], // Half a second ahead: until it is 100 ms old.
    ],
  );
});

Deno.test("plan: an emptied file waits as a fresh file does (a truncate half done)", () => {
  const now = 1_000_000;
  const file = (name: string, size: number, mtimeMs: number) =>
    entry("file", { name, size, mtimeMs, atimeMs: mtimeMs, uid: 0, gid: 0 });
  const old = now - 60_000;
  const source = [
    file("a", 0, old),
    file("b", 0, old + 1),
    file("c", 2, old + 1),
    file("d", 0, old),
  ];
  const replica = [file("a", 2900, old), file("b", 2900, old), file("c", 2900, old)];
  const actions = planDir("", source, replica, {
    checksum: false,
    excluded: () => false,
    deletes: true,
    now,
  });
  assert.deepEqual(
    actions.map((a) => a.op === "copy" && [a.path, a.settleAt]),
    [
      ["a", now + 100], // The kernel may not have set the new mtime yet.
      ["b", now + 100], // Nor here, the replica having missed a change before it.
      ["c", undefined], // Shrunk, not emptied: a truncate to a size, not a rewrite.
      ["d", undefined], // New and empty: nothing to compare with (the README's window).
    ],
  );
});
