/**
 * `--hard-links`: files that share a source inode share one replica inode.
 * End to end through the CLI (a subprocess with exactly --allow-read
 * --allow-write) over real trees, plus two in-process cycles that need a
 * hook or a file written a moment before the scan.
 */
import assert from "node:assert/strict";
import {
  ROOT,
  runCli,
  snap,
  snapshot,
  syncOnce,
  tempDirs,
  tempFiles,
  writeTree,
} from "./helpers.ts";
import { syncTree } from "../lib/engine/sync_tree.ts";
import type { SyncEvent } from "../lib/engine/types.ts";

/** The files of a tree that share an inode, as sorted groups of paths: its link structure. */
function linkGroups(root: string): string[][] {
  const byInode = new Map<number, string[]>();
  for (const [rel, entry] of snapshot(root)) {
    if (entry.kind !== "file") continue;
    const ino = Deno.lstatSync(`${root}/${rel}`).ino!;
    byInode.set(ino, [...(byInode.get(ino) ?? []), rel]);
  }
  return [...byInode.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort();
}

const ino = (path: string) => Deno.lstatSync(path).ino!;
const nlink = (path: string) => Deno.lstatSync(path).nlink!;

/** The replica equals the source: content, modes, mtimes (directories' too), and links. */
function assertMirrored(src: string, dst: string) {
  assert.deepEqual(snap(dst), snap(src));
  assert.deepEqual(linkGroups(dst), linkGroups(src));
  assert.deepEqual(tempFiles(dst), []);
}

/** A source with a group of three links over three folders, and files around it. */
function writeGroup(src: string) {
  writeTree(src, {
    "a.txt": "shared content\n",
    "other.txt": "alone\n",
    sub: { deeper: {}, "z.txt": "z\n" },
  });
  Deno.chmodSync(`${src}/a.txt`, 0o640);
  Deno.utimeSync(`${src}/a.txt`, 1_600_000_000.25, 1_600_000_000.25);
  Deno.linkSync(`${src}/a.txt`, `${src}/sub/b.txt`);
  Deno.linkSync(`${src}/a.txt`, `${src}/sub/deeper/c.txt`);
  Deno.utimeSync(`${src}/sub/deeper`, 1_500_000_000, 1_500_000_000);
}

const GROUP = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"];

Deno.test("hard links: a group of three over three folders is one replica inode; a second run changes nothing", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  const first = await syncOnce(t, "--hard-links");
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [GROUP]);
  assert.equal(nlink(`${t.dst}/a.txt`), 3);
  assert.equal(Deno.readTextFileSync(`${t.dst}/sub/deeper/c.txt`), "shared content\n");
  assert.match(first.stdout, /copy +file +a\.txt \(15 B\)\n/);
  assert.match(first.stdout, /create +file +sub\/b\.txt: hard link to a\.txt/);
  assert.match(first.stdout, /create +file +sub\/deeper\/c\.txt: hard link to a\.txt/);
  assert.match(first.stdout, /5 created, 3 copied, 0 updated/, "., sub, deeper and two links");

  const inode = ino(`${t.dst}/a.txt`);
  const second = await syncOnce(t, "--hard-links");
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /0 created, 0 copied, 0 updated, 0 removed, 0 skipped, 0 errors/);
  assert.equal(ino(`${t.dst}/sub/b.txt`), inode, "left alone");
  assertMirrored(t.src, t.dst);
});

Deno.test("hard links: without --hard-links, each link is a separate copy (the default)", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(snap(t.dst), snap(t.src));
  assert.deepEqual(linkGroups(t.dst), []);
  for (const rel of GROUP) assert.equal(nlink(`${t.dst}/${rel}`), 1, rel);
  assert.doesNotMatch(result.stdout, /hard link/);
});

Deno.test("hard links: a group split in the source (one member replaced by a separate file)", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  assert.equal((await syncOnce(t, "--hard-links")).code, 0);
  const inode = ino(`${t.dst}/a.txt`);
  Deno.removeSync(`${t.src}/sub/b.txt`);
  Deno.writeTextFileSync(`${t.src}/sub/b.txt`, "now on its own\n");
  Deno.utimeSync(`${t.src}/sub/b.txt`, 1_600_000_100, 1_600_000_100);
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [["a.txt", "sub/deeper/c.txt"]]);
  assert.equal(ino(`${t.dst}/a.txt`), inode, "the rest of the group is left alone");
  assert.equal(nlink(`${t.dst}/a.txt`), 2);
  assert.equal(nlink(`${t.dst}/sub/b.txt`), 1);
  assert.equal(Deno.readTextFileSync(`${t.dst}/sub/b.txt`), "now on its own\n");
  assert.match(result.stdout, /update +file +sub\/b\.txt \(15 B\)\n/);
});

Deno.test("hard links: a member split off with the same content and times stays linked until it changes; a mode change then copies it afresh", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  assert.equal((await syncOnce(t, "--hard-links")).code, 0);
  // As `cp -p a.txt tmp && mv tmp sub/b.txt`: same bytes, mode and mtime, its own inode.
  Deno.writeTextFileSync(`${t.src}/tmp`, "shared content\n", { mode: 0o640 });
  Deno.chmodSync(`${t.src}/tmp`, 0o640);
  Deno.utimeSync(`${t.src}/tmp`, 1_600_000_000.25, 1_600_000_000.25);
  Deno.renameSync(`${t.src}/tmp`, `${t.src}/sub/b.txt`);
  Deno.utimeSync(`${t.src}/sub`, 1_500_000_000, 1_500_000_000);
  Deno.utimeSync(`${t.src}`, 1_500_000_000, 1_500_000_000);
  const same = await syncOnce(t, "--hard-links");
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.deepEqual(snap(t.dst), snap(t.src), "content, modes and mtimes equal");
  assert.equal(nlink(`${t.dst}/sub/b.txt`), 3, "as rsync -aH: nothing differs to copy");

  // Its mode changes: a chmod would reach a.txt and c.txt too, so it is copied afresh.
  Deno.chmodSync(`${t.src}/sub/b.txt`, 0o600);
  const changed = await syncOnce(t, "--hard-links");
  assert.equal(changed.code, 0, changed.stdout + changed.stderr);
  assertMirrored(t.src, t.dst);
  assert.equal(Deno.statSync(`${t.dst}/a.txt`).mode! & 0o777, 0o640, "the group keeps its mode");
  assert.equal(Deno.statSync(`${t.dst}/sub/b.txt`).mode! & 0o777, 0o600);
  assert.match(changed.stdout, /update +file +sub\/b\.txt \(15 B\)\n/);
  const again = await syncOnce(t, "--hard-links");
  assert.match(again.stdout, /0 created, 0 copied, 0 updated, 0 removed/, "no back and forth");
});

Deno.test("hard links: a mode change never reaches a cp -al snapshot of the replica, even where the replica file has as many links as the source's", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "one name outside the source\n", "b.txt": "a group\n", sub: {} });
  Deno.linkSync(`${t.src}/a.txt`, `${t.dir}/outside.txt`);
  Deno.linkSync(`${t.src}/b.txt`, `${t.src}/sub/b.txt`);
  for (const f of ["a.txt", "b.txt"]) Deno.chmodSync(`${t.src}/${f}`, 0o644);
  assert.equal((await syncOnce(t, "--hard-links")).code, 0);
  const snapshotDir = `${t.dir}/snapshot`;
  const cp = new Deno.Command("cp", { args: ["-al", t.dst, snapshotDir] }).outputSync();
  assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
  assert.equal(
    nlink(`${t.dst}/a.txt`),
    nlink(`${t.src}/a.txt`),
    "two links each: not the same two",
  );
  const kept = snap(snapshotDir);

  for (const f of ["a.txt", "b.txt"]) Deno.chmodSync(`${t.src}/${f}`, 0o600);
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.deepEqual(snap(snapshotDir), kept, "the snapshot keeps its modes and content");
  assertMirrored(t.src, t.dst);
  assert.equal(Deno.statSync(`${t.dst}/a.txt`).mode! & 0o777, 0o600);
  assert.match(result.stdout, /update +file +a\.txt \(\d+ B\)\n/, "copied afresh");
  const again = await syncOnce(t, "--hard-links");
  assert.match(again.stdout, /0 created, 0 copied, 0 updated, 0 removed/, "then left alone");
});

Deno.test("hard links: new members are linked to the replica file already there, without copying", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  assert.equal((await syncOnce(t, "--hard-links")).code, 0);
  const inode = ino(`${t.dst}/a.txt`);
  Deno.linkSync(`${t.src}/a.txt`, `${t.src}/0-first.txt`); // Sorts before a.txt, in the same folder.
  Deno.mkdirSync(`${t.src}/new`);
  Deno.linkSync(`${t.src}/a.txt`, `${t.src}/new/d.txt`);
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [["0-first.txt", ...GROUP, "new/d.txt"].sort()]);
  assert.equal(ino(`${t.dst}/0-first.txt`), inode, "linked to the file already there");
  assert.equal(nlink(`${t.dst}/a.txt`), 5);
  assert.match(result.stdout, /create +file +0-first\.txt: hard link to a\.txt/);
  assert.match(result.stdout, /create +file +new\/d\.txt: hard link to a\.txt/);
  assert.match(result.stdout, /3 created, 0 copied, 0 updated/, "new/ and two links");
});

Deno.test("hard links: a linked file modified: every member gets the new content, still as one inode", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  assert.equal((await syncOnce(t, "--hard-links")).code, 0);
  const old = ino(`${t.dst}/a.txt`);
  Deno.writeTextFileSync(`${t.src}/sub/b.txt`, "new content, longer\n"); // In place: all three change.
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [GROUP]);
  assert.notEqual(ino(`${t.dst}/a.txt`), old, "a new copy, renamed into place");
  assert.equal(nlink(`${t.dst}/a.txt`), 3);
  for (const rel of GROUP) {
    assert.equal(Deno.readTextFileSync(`${t.dst}/${rel}`), "new content, longer\n", rel);
  }
  assert.match(result.stdout, /update +file +a\.txt \(20 B\)\n/);
  assert.match(result.stdout, /update +file +sub\/b\.txt: hard link to a\.txt/);
  assert.match(result.stdout, /0 created, 0 copied, 3 updated/);
});

Deno.test("hard links: a member removed in the source is removed; the others keep their inode", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  assert.equal((await syncOnce(t, "--hard-links")).code, 0);
  const inode = ino(`${t.dst}/a.txt`);
  Deno.removeSync(`${t.src}/sub/deeper/c.txt`);
  Deno.utimeSync(`${t.src}/sub/deeper`, 1_500_000_000, 1_500_000_000);
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.equal(ino(`${t.dst}/sub/b.txt`), inode);
  assert.equal(nlink(`${t.dst}/a.txt`), 2);
  assert.match(result.stdout, /0 created, 0 copied, 0 updated, 1 removed/);
});

Deno.test("hard links: a large group file (copied in the background) and members in other folders", async () => {
  using t = tempDirs();
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251);
  writeTree(t.src, { x: { "big.bin": big }, y: {}, z: { "w.txt": "w" } });
  Deno.linkSync(`${t.src}/x/big.bin`, `${t.src}/x/big-2.bin`);
  Deno.linkSync(`${t.src}/x/big.bin`, `${t.src}/y/big.bin`);
  Deno.linkSync(`${t.src}/x/big.bin`, `${t.src}/z/big.bin`);
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [["x/big-2.bin", "x/big.bin", "y/big.bin", "z/big.bin"]]);
  assert.match(
    result.stdout,
    /7 created, 2 copied, 0 updated/,
    "big.bin and w.txt; 4 dirs, 3 links",
  );
});

Deno.test("hard links: with --checksum, content changed under the same size and mtime is copied once and relinked", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  assert.equal((await syncOnce(t, "--hard-links", "--checksum")).code, 0);
  const same = await syncOnce(t, "--hard-links", "--checksum");
  assert.match(same.stdout, /0 created, 0 copied, 0 updated/, "a group compared equal stays");
  const old = ino(`${t.dst}/a.txt`);
  Deno.writeTextFileSync(`${t.src}/a.txt`, "SHARED CONTENT\n"); // Same size; the mtime put back.
  Deno.utimeSync(`${t.src}/a.txt`, 1_600_000_000.25, 1_600_000_000.25);
  const result = await syncOnce(t, "--hard-links", "--checksum");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [GROUP]);
  assert.notEqual(ino(`${t.dst}/a.txt`), old);
  assert.equal(Deno.readTextFileSync(`${t.dst}/sub/deeper/c.txt`), "SHARED CONTENT\n");
  assert.match(result.stdout, /0 created, 0 copied, 3 updated/);
});

Deno.test("hard links: groups met after the copy workers have taken over small copies", async () => {
  using t = tempDirs();
  const many: Record<string, string> = {};
  for (let i = 0; i < 2600; i++) many[`f${i}.txt`] = `file ${i}`;
  writeTree(t.src, { many, zz: { "a.txt": "linked late" }, zzz: {} });
  Deno.linkSync(`${t.src}/zz/a.txt`, `${t.src}/zz/b.txt`);
  Deno.linkSync(`${t.src}/zz/a.txt`, `${t.src}/zzz/c.txt`);
  const result = await syncOnce(t, "--hard-links");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [["zz/a.txt", "zz/b.txt", "zzz/c.txt"]]);
});

Deno.test("hard links: --help names the flag", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--hard-links +files hard-linked together in the source/);
});

Deno.test("hard links: --dry-run shows the links and changes nothing", async () => {
  using t = tempDirs();
  writeGroup(t.src);
  const result = await syncOnce(t, "--hard-links", "--dry-run");
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /create +file +sub\/b\.txt: hard link to a\.txt \(dry run\)/);
  assert.throws(() => Deno.lstatSync(t.dst), Deno.errors.NotFound);
});

/** Runs one cycle in this process (the engine changes into replica folders; changed back after). */
async function cycle(
  t: { src: string; dst: string },
  onEvent?: (event: SyncEvent) => void,
): Promise<SyncEvent[]> {
  const events: SyncEvent[] = [];
  try {
    await syncTree({
      source: t.src,
      replica: t.dst,
      hardLinks: true,
      onEvent: (event) => {
        events.push(event);
        onEvent?.(event);
      },
    });
  } finally {
    Deno.chdir(ROOT);
  }
  return events;
}

Deno.test("hard links: a group file written just before the scan is set aside to settle; its members wait for it", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: { "f.txt": "fresh" }, b: {} });
  Deno.linkSync(`${t.src}/a/f.txt`, `${t.src}/a/g.txt`);
  Deno.linkSync(`${t.src}/a/f.txt`, `${t.src}/b/f.txt`);
  const soon = new Date(Date.now() + 300); // Within the settle window when scanned.
  Deno.utimeSync(`${t.src}/a/f.txt`, soon, soon);
  const events = await cycle(t);
  assert.deepEqual(events.filter((e) => e.action === "error" || e.action === "skip"), []);
  assertMirrored(t.src, t.dst);
  assert.deepEqual(linkGroups(t.dst), [["a/f.txt", "a/g.txt", "b/f.txt"]]);
});

Deno.test("hard links: a file put in place of the group's replica file is never linked; the member is copied on its own", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "the real content", sub: {} });
  Deno.linkSync(`${t.src}/a.txt`, `${t.src}/sub/b.txt`);
  let intruder = 0;
  const events = await cycle(t, (event) => {
    if (event.path !== "a.txt" || event.action !== "copy") return;
    // Someone swaps the copy just made for a file of their own.
    Deno.writeTextFileSync(`${t.dir}/evil`, "someone else's");
    Deno.renameSync(`${t.dir}/evil`, `${t.dst}/a.txt`);
    intruder = ino(`${t.dst}/a.txt`);
  });
  assert.notEqual(intruder, 0);
  assert.equal(nlink(`${t.dst}/a.txt`), 1, "the intruder was not linked");
  assert.notEqual(ino(`${t.dst}/sub/b.txt`), intruder);
  assert.equal(Deno.readTextFileSync(`${t.dst}/sub/b.txt`), "the real content");
  const member = events.find((e) => e.path === "sub/b.txt");
  assert.equal(member?.action, "copy");
  assert.match(
    member?.detail ?? "",
    /not hard-linked to a\.txt: another file was put in its place/,
  );
  assert.deepEqual(tempFiles(t.dst), []);
  // The next cycle repairs the replica.
  await cycle(t);
  assertMirrored(t.src, t.dst);
});
