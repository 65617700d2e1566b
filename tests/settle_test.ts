/**
 * The settle rule end to end: files written just before the scan are set aside while the walk
 * goes on and copied once they have settled; files dated in the future (clock skew) are copied
 * at once, with one warning per cycle (the rule itself: unit/settle_test.ts).
 */
import assert from "node:assert/strict";
import { snap, syncOnce, tempDirs, writeTree } from "./helpers.ts";

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
