/**
 * The settle rule: files written just before the scan are set aside while
 * the walk goes on and copied once they have settled; files dated in the future
 * (clock skew) are copied at once, with one warning per cycle.
 */
import assert from "node:assert/strict";
import { snap, syncOnce, tempDirs, writeTree } from "./helpers.ts";
import { settleDelay } from "../lib/engine/plan.ts";
import { planDir } from "../lib/engine/plan.ts";
import type { Entry } from "../lib/engine/types.ts";

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
  const file = (name: string, mtimeMs: number): Entry => ({
    name,
    kind: "file",
    size: 1,
    mtimeMs,
    atimeMs: mtimeMs,
    mode: 0o644,
    dev: 1,
    ino: 1,
    uid: 0,
    gid: 0,
    blocks: 8,
    nlink: 1,
  });
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

Deno.test("cli: files written just before the run and files dated in the future are all copied", async () => {
  using t = tempDirs();
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`f${i}.txt`] = `fresh ${i}`;
  const ahead: Record<string, string> = {};
  for (let i = 0; i < 50; i++) ahead[`a${i}.txt`] = `ahead ${i}`;
  writeTree(t.src, { fresh: files, future: ahead, "big.bin": new Uint8Array(300 * 1024) });
  const later = new Date(Date.now() + 3600_000);
  for (const name of Object.keys(ahead)) Deno.utimeSync(`${t.src}/future/${name}`, later, later);
  // Dated just ahead (within the margin), so still unsettled when the CLI has started; at the
  // root, so the walk meets them first: their copies must wait until they are 100 ms old.
  const soon = Date.now() + 950;
  const soonMs = soon % 1000 === 0 ? soon + 1 : soon; // Not whole seconds: no two-second wait.
  for (let i = 0; i < 5; i++) {
    Deno.writeTextFileSync(`${t.src}/soon${i}`, `${i}`);
    Deno.utimeSync(`${t.src}/soon${i}`, new Date(soonMs), new Date(soonMs));
  }
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(snap(t.dst), snap(t.src));
  assert.match(result.stderr, /WARN +50 source files have mtimes in the future \(clock skew\?\)/);
  assert.equal(result.stdout.match(/copy +file/g)?.length, 356);
  // The log line's time (after the copy): not before the file was 100 ms old.
  const lines = result.stdout.split("\n").filter((line) => / copy +file +soon\d /.test(line));
  assert.equal(lines.length, 5);
  for (const line of lines) {
    const copied = Date.parse(line.split(" ")[0]);
    assert.ok(copied >= soonMs + 100, `copied ${soonMs + 100 - copied} ms early: ${line}`);
  }
});
