/**
 * `--max-delete` in one walk (lib/engine/held.ts), in process: the removals a
 * walk finds are held and made after it only if all fit; a type change (a
 * folder where a file was, and the reverse) still ends as the source is, its
 * folders' mtimes included, and over the limit nothing is removed.
 */
import assert from "node:assert/strict";
import { snap, tempDirs, writeTree } from "../helpers.ts";
import { syncTree } from "../../lib/engine/sync_tree.ts";
import { NO_DELETES } from "../../lib/engine/plan.ts";
import type { SyncEvent } from "../../lib/engine/types.ts";

const T = 1_600_000_000;

/** Sets every mtime under `root` to `T` (folders after their contents), so nothing waits to settle. */
function age(root: string, rel = ""): void {
  const path = rel === "" ? root : `${root}/${rel}`;
  if (Deno.lstatSync(path).isDirectory) {
    for (const e of Deno.readDirSync(path)) age(root, rel === "" ? e.name : `${rel}/${e.name}`);
  }
  Deno.utimeSync(path, T, T);
}

/**
 * A mirrored tree, then a source where `flip` turned from a folder (3 entries
 * in it) into a file, `flop` from a file into a folder with 2 entries, `keep`
 * lost a file and `gone.txt` went: 4 + 1 + 1 + 1 = 7 removals. `new.txt` is new.
 */
async function changed(src: string, dst: string): Promise<void> {
  writeTree(src, {
    flip: { "x.txt": "x", y: { "z.txt": "z" } },
    "flop": "a file",
    keep: { "old.txt": "old", "stay.txt": "stay" },
    "gone.txt": "gone",
  });
  age(src);
  const first = await syncTree({ source: src, replica: dst });
  assert.equal(first.error, 0);
  Deno.removeSync(`${src}/flip`, { recursive: true });
  Deno.removeSync(`${src}/flop`);
  Deno.removeSync(`${src}/keep/old.txt`);
  Deno.removeSync(`${src}/gone.txt`);
  writeTree(src, { flip: "now a file", flop: { "in.txt": "in", sub: { "deep.txt": "deep" } } });
  writeTree(src, { "new.txt": "new" });
  age(src);
}

/** One cycle with `--max-delete limit`: its events, counts, and what it refused. */
async function cycle(src: string, dst: string, limit: number) {
  const events: SyncEvent[] = [];
  const refused: number[] = [];
  const stats = await syncTree({
    source: src,
    replica: dst,
    maxDelete: limit,
    onEvent: (e) => events.push(e),
    onOverBudget: (n) => refused.push(n),
  });
  return { events, stats, refused };
}

Deno.test("--max-delete: type changes both ways within the limit end as the source is, folder mtimes too", async () => {
  using t = tempDirs();
  await changed(t.src, t.dst);
  const { events, stats, refused } = await cycle(t.src, t.dst, 7);
  assert.deepEqual(refused, []);
  assert.deepEqual(events.filter((e) => e.action === "error" || e.action === "skip"), []);
  assert.equal(stats.remove, 7);
  assert.deepEqual(snap(t.dst), snap(t.src));
  // Nothing left to do: a second cycle finds the replica as it left it.
  const again = await cycle(t.src, t.dst, 0);
  assert.deepEqual(again.events, []);
});

Deno.test("--max-delete: over the limit nothing is removed, type changes included; copies still go", async () => {
  using t = tempDirs();
  await changed(t.src, t.dst);
  const before = snap(t.dst);
  const { events, stats, refused } = await cycle(t.src, t.dst, 6);
  assert.deepEqual(refused, [7]); // Counted as the dry pass did: a folder with its entries.
  assert.equal(stats.remove, 0);
  assert.deepEqual(events.filter((e) => e.action === "remove"), []);
  const skipped = events.filter((e) => e.action === "skip").map((e) => [e.path, e.kind, e.detail]);
  assert.deepEqual(skipped, [["flip", "file", NO_DELETES], ["flop", "dir", NO_DELETES]]);
  const now = snap(t.dst);
  for (const [path, entry] of Object.entries(before)) {
    if (entry.kind !== "dir") assert.deepEqual(now[path], entry, `${path} was removed or changed`);
  }
  assert.equal(Deno.readTextFileSync(`${t.dst}/new.txt`), "new");
});
