import assert from "node:assert/strict";
import { packEntries, Prefetcher, unpackEntries } from "../../lib/speed/prefetch.ts";
import { Pool } from "../../lib/speed/pool.ts";
import { tempDirs, writeTree } from "../helpers.ts";
import { type DirListing, listDir } from "../../lib/engine/list_dir.ts";

/** Listing the tree itself updates directory atimes; compare the rest. */
function noAtime(listing: DirListing) {
  return { ...listing, entries: listing.entries.map(({ atimeMs: _, ...rest }) => rest) };
}

Deno.test("prefetch: the worker's listings equal the local ones, in march order, skipping what the sync skips", async () => {
  using t = tempDirs();
  writeTree(t.src, {
    a: { x: "1", deep: { y: "2" } },
    b: { z: "3" },
    skipped: { inner: { w: "4" } },
    node_modules: { big: { v: "5" } },
    f: "6",
  });
  using prefetcher = new Prefetcher();
  const lister = prefetcher.source(t.src, [["", undefined]], ["node_modules"], 2)!;
  const local = (rel: string) => listDir(rel === "" ? t.src : `${t.src}/${rel}`);
  try {
    for (const rel of ["", "a", "a/deep", "b"]) {
      assert.deepEqual(noAtime((await lister.list(rel))!), noAtime(local(rel)), rel);
    }
    assert.equal(await lister.list("missing"), undefined, "the caller lists it (and says why)");
  } finally {
    lister.close();
  }
});

Deno.test("prefetch: the lister answers only for its starts and below; a folder it could not list is the caller's", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: { x: "1" }, b: { y: "2", c: { z: "3" } }, d: "a file now" });
  using prefetcher = new Prefetcher();
  const lister = prefetcher.source(t.src, [["b", undefined], ["d", undefined]], [])!;
  try {
    assert.equal(await lister.list("a"), undefined, "a is not the worker's: no wait, no skip");
    assert.deepEqual((await lister.list("b"))!.entries.map((e) => e.name), ["c", "y"]);
    assert.deepEqual((await lister.list("b/c"))!.entries.map((e) => e.name), ["z"]);
    assert.equal(await lister.list("d"), undefined, "not a folder: the caller's listing says so");
  } finally {
    lister.close();
  }
});

Deno.test("pool: runs up to its limit at once and hands back completion without waiting for it", async () => {
  const pool = new Pool(3);
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const dones: Promise<void>[] = [];
  for (let i = 0; i < 3; i++) {
    const { done } = await pool.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => releases.push(r));
      running--;
    });
    dones.push(done);
  }
  assert.equal(peak, 3, "three tasks started before any finished");
  const fourth = pool.run(() => Promise.resolve());
  let started = false;
  fourth.then(() => (started = true));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(started, false, "the fourth waits for a slot");
  releases.forEach((r) => r());
  await Promise.all(dones);
  await (await fourth).done;
  await pool.idle();
  assert.equal(running, 0);
});

Deno.test("prefetch: packed entries round-trip", () => {
  const entries = [
    {
      name: "a",
      kind: "file" as const,
      size: 12,
      mtimeMs: 1.5e12,
      atimeMs: 1.6e12,
      mode: 0o644,
      dev: 64,
      ino: 7,
      uid: 1000,
      gid: 100,
      blocks: 8,
      nlink: 3,
    },
    {
      name: "l",
      kind: "symlink" as const,
      size: 0,
      mtimeMs: 1,
      atimeMs: 2,
      mode: 0,
      dev: 64,
      ino: 8,
      uid: 1000,
      gid: 100,
      blocks: 8,
      nlink: 1,
      target: "../x",
    },
    {
      name: "p",
      kind: "other" as const,
      size: 0,
      mtimeMs: 1,
      atimeMs: 2,
      mode: 0o600,
      dev: 64,
      ino: 9,
      uid: 1000,
      gid: 100,
      blocks: 8,
      nlink: 1,
    },
    {
      name: "d",
      kind: "dir" as const,
      size: 0,
      mtimeMs: 1,
      atimeMs: 2,
      mode: 0o755,
      dev: 64,
      ino: 10,
      uid: 1000,
      gid: 100,
      blocks: 8,
      nlink: 2,
    },
    {
      name: "e",
      kind: "symlink" as const,
      size: 0,
      mtimeMs: 1,
      atimeMs: 2,
      mode: 0,
      dev: 64,
      ino: 11,
      uid: 1000,
      gid: 100,
      blocks: 8,
      nlink: 1,
      target: "",
    },
  ];
  assert.deepEqual(unpackEntries(packEntries(entries)), entries);
  assert.deepEqual(unpackEntries(packEntries([])), []);
});
