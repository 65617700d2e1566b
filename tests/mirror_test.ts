/**
 * End-to-end: the CLI as a subprocess with exactly --allow-read --allow-write,
 * over real temporary trees.
 */
import assert from "node:assert/strict";
import {
  readOr,
  runCli,
  snap,
  syncOnce,
  tempDirs,
  tempFiles,
  treeArgs,
  writeTree,
} from "./helpers.ts";

function assertMirrored(src: string, dst: string) {
  assert.deepEqual(snap(dst, { skipRoot: false }), snap(src, { skipRoot: false }));
}

Deno.test("mirror: files, modes, mtimes, empty dirs and symlinks (dangling too) arrive as in the source", async () => {
  using t = tempDirs();
  writeTree(t.src, {
    "a.txt": "hello",
    sub: { "b.bin": new Uint8Array(70_000).map((_, i) => i % 251), deeper: { "c.txt": "c" } },
    empty: {},
    "link-to-a": { link: "a.txt" },
    dangling: { link: "/no/such/target" },
    "dir-link": { link: "sub" },
  });
  Deno.chmodSync(`${t.src}/a.txt`, 0o640);
  Deno.chmodSync(`${t.src}/sub/deeper`, 0o750);
  Deno.utimeSync(
    `${t.src}/a.txt`,
    new Date("2020-01-02T03:04:05.678Z"),
    new Date("2020-01-02T03:04:05.678Z"),
  );
  Deno.utimeSync(`${t.src}/empty`, 1_500_000_000.123, 1_500_000_000.123);
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  assertMirrored(t.src, t.dst);
  assert.equal(Deno.lstatSync(`${t.dst}/dir-link`).isSymlink, true, "links are copied as links");
  assert.equal(
    Deno.lstatSync(`${t.dst}/a.txt`).mtime?.getTime(),
    Date.parse("2020-01-02T03:04:05.678Z"),
  );
});

Deno.test("mirror: hard-linked source files arrive as separate files with the same content", async () => {
  using t = tempDirs();
  writeTree(t.src, { "one.txt": "shared" });
  Deno.linkSync(`${t.src}/one.txt`, `${t.src}/two.txt`);
  assert.equal((await syncOnce(t)).code, 0);
  assertMirrored(t.src, t.dst);
  assert.notEqual(Deno.statSync(`${t.dst}/one.txt`).ino, Deno.statSync(`${t.dst}/two.txt`).ino);
});

Deno.test("mirror: a source restored to an older version wins; unchanged files keep their inode", async () => {
  using t = tempDirs();
  writeTree(t.src, { "doc.txt": "version 2", "same.txt": "unchanged" });
  assert.equal((await syncOnce(t)).code, 0);
  const inode = Deno.statSync(`${t.dst}/same.txt`).ino;
  Deno.writeTextFileSync(`${t.src}/doc.txt`, "version 1"); // same size, older mtime
  Deno.utimeSync(`${t.src}/doc.txt`, 1_000_000_000, 1_000_000_000);
  const result = await syncOnce(t);
  assert.equal(result.code, 0);
  assert.equal(Deno.readTextFileSync(`${t.dst}/doc.txt`), "version 1");
  assert.equal(Deno.statSync(`${t.dst}/same.txt`).ino, inode, "unchanged file not rewritten");
  assert.match(result.stdout, /update +file +doc\.txt/);
  assert.doesNotMatch(result.stdout, /same\.txt/, "no per-file line for unchanged files");
  assertMirrored(t.src, t.dst);
});

Deno.test("mirror: mode-only changes are applied", async () => {
  using t = tempDirs();
  writeTree(t.src, { "run.sh": "#!/bin/sh\n" });
  assert.equal((await syncOnce(t)).code, 0);
  Deno.chmodSync(`${t.src}/run.sh`, 0o755);
  assert.equal((await syncOnce(t)).code, 0);
  assert.equal(Deno.statSync(`${t.dst}/run.sh`).mode! & 0o777, 0o755);
});

Deno.test("mirror: type changes in every direction, and extra replica entries removed", async () => {
  using t = tempDirs();
  writeTree(t.src, {
    f2d: "was a file",
    d2f: { inner: { "x.txt": "x" } },
    l2f: { link: "f2d" },
    f2l: "file",
    d2l: { "y.txt": "y" },
    l2d: { link: "nowhere" },
  });
  writeTree(t.dst, { extra: { deep: { "z.txt": "z" } }, "extra.txt": "bye" });
  assert.equal((await syncOnce(t)).code, 0);
  assertMirrored(t.src, t.dst);
  Deno.removeSync(t.src, { recursive: true });
  writeTree(t.src, {
    f2d: { "now-a-dir.txt": "d" },
    d2f: "now a file",
    l2f: "now a file",
    f2l: { link: "d2f" },
    d2l: { link: "d2f" },
    l2d: { "inside.txt": "i" },
  });
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  assertMirrored(t.src, t.dst);
  assert.match(
    result.stdout,
    /remove +file +d2f\/inner\/x\.txt[\s\S]*remove +dir +d2f\/inner/,
    "deepest first",
  );
});

Deno.test("mirror: a replica symlink is replaced, never written through", async () => {
  using t = tempDirs();
  const elsewhere = `${t.dir}/elsewhere`;
  writeTree(elsewhere, { "keep.txt": "outside" });
  writeTree(t.src, { d: { "new.txt": "inside" }, f: "file content" });
  writeTree(t.dst, { d: { link: elsewhere }, f: { link: `${elsewhere}/keep.txt` } });
  const before = snap(elsewhere);
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(snap(elsewhere), before, "nothing written under the link's target");
  assert.equal(Deno.lstatSync(`${t.dst}/d`).isDirectory, true);
  assertMirrored(t.src, t.dst);
});

Deno.test("mirror: a source link to a directory outside the source is not followed", async () => {
  using t = tempDirs();
  const outside = `${t.dir}/outside`;
  writeTree(outside, { "secret.txt": "not for the replica" });
  writeTree(t.src, { out: { link: outside } });
  assert.equal((await syncOnce(t)).code, 0);
  assert.equal(Deno.readLinkSync(`${t.dst}/out`), outside);
  assert.deepEqual(Object.keys(snap(t.dst)).sort(), ["", "out"]);
});

Deno.test("mirror: FIFOs are skipped with a warning and the run does not hang", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const fifo = new Deno.Command("mkfifo", { args: [`${t.src}/pipe`] }).outputSync();
  assert.equal(fifo.code, 0);
  const result = await syncOnce(t);
  assert.equal(result.code, 0);
  assert.match(result.stderr, /skip +other +pipe: not a regular file/);
  assert.equal(Deno.readTextFileSync(`${t.dst}/a.txt`), "a");
  assert.throws(() => Deno.lstatSync(`${t.dst}/pipe`), Deno.errors.NotFound);
});

Deno.test("mirror: a name that is not valid UTF-8 is reported and skipped by the portable engine; the rest syncs", async () => {
  using t = tempDirs();
  writeTree(t.src, { "ok.txt": "fine" });
  const made = new Deno.Command("bash", {
    args: ["-c", `printf bad > "$1"/$'\\xff\\xfe.txt'`, "_", t.src],
  }).outputSync();
  assert.equal(made.code, 0);
  const result = await runCli(treeArgs(t, "--once"), { portable: true });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /not valid UTF-8/);
  assert.equal(Deno.readTextFileSync(`${t.dst}/ok.txt`), "fine");
});

Deno.test("mirror: a name that is not valid UTF-8 is mirrored byte for byte by the native engine, logged as \\xNN", async () => {
  using t = tempDirs();
  writeTree(t.src, { "ok.txt": "fine" });
  const bash = (script: string, dir: string) =>
    new Deno.Command("bash", { args: ["-c", script, "_", dir] }).outputSync();
  assert.equal(bash(`printf bad > "$1"/$'\\xff\\xfe.txt'`, t.src).code, 0);
  const result = await runCli(treeArgs(t, "--once"), {
    perms: ["--allow-read", "--allow-write", "--allow-ffi"],
    portable: true,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /copy +file +\\xff\\xfe\.txt \(3 B\)/);
  // The replica holds the same bytes under the same byte name.
  const listed = bash(`cat "$1"/$'\\xff\\xfe.txt'`, t.dst);
  assert.equal(new TextDecoder().decode(listed.stdout), "bad");
  const again = await runCli(treeArgs(t, "--once"), {
    perms: ["--allow-read", "--allow-write", "--allow-ffi"],
    portable: true,
  });
  assert.match(again.stdout, /0 created, 0 copied, 0 updated, 0 removed/);
});

Deno.test("mirror: the native engine keeps mtimes to the nanosecond, a symlink's own and a folder's too", async () => {
  using t = tempDirs();
  writeTree(t.src, { "f.txt": "f", d: { "g.txt": "g" }, link: { link: "f.txt" } });
  // Odd nanoseconds on each, set with touch (Deno's utime takes milliseconds).
  const touch = (stamp: string, path: string) =>
    new Deno.Command("touch", { args: ["-h", "-d", stamp, path] }).outputSync().code;
  assert.equal(touch("2021-03-04 05:06:07.123456789", `${t.src}/f.txt`), 0);
  assert.equal(touch("2021-03-04 05:06:08.987654321", `${t.src}/link`), 0);
  assert.equal(touch("2021-03-04 05:06:09.000000007", `${t.src}/d`), 0);
  const result = await runCli(treeArgs(t, "--once"), {
    perms: ["--allow-read", "--allow-write", "--allow-ffi"],
    portable: true,
  });
  assert.equal(result.code, 0, result.stderr);
  const ns = (path: string) =>
    new TextDecoder().decode(
      new Deno.Command("stat", { args: ["-c", "%y", path] }).outputSync().stdout,
    ).trim();
  for (const name of ["f.txt", "link", "d"]) {
    assert.equal(ns(`${t.dst}/${name}`), ns(`${t.src}/${name}`), name);
  }
});

Deno.test("mirror: --checksum catches content changes that keep size and mtime", async () => {
  using t = tempDirs();
  writeTree(t.src, { "f.txt": "aaaa" });
  assert.equal((await syncOnce(t)).code, 0);
  const mtime = Deno.statSync(`${t.src}/f.txt`).mtime!;
  Deno.writeTextFileSync(`${t.src}/f.txt`, "bbbb");
  Deno.utimeSync(`${t.src}/f.txt`, mtime, mtime);
  assert.equal((await syncOnce(t)).code, 0);
  assert.equal(Deno.readTextFileSync(`${t.dst}/f.txt`), "aaaa", "quick check cannot see it");
  const result = await syncOnce(t, "--checksum");
  assert.equal(result.code, 0);
  assert.equal(Deno.readTextFileSync(`${t.dst}/f.txt`), "bbbb");
  assertMirrored(t.src, t.dst);
});

Deno.test("mirror: --modify-window: mtimes that close are the same; beyond it the file is copied", async () => {
  using t = tempDirs();
  writeTree(t.src, { "f.txt": "aaaa" });
  Deno.utimeSync(`${t.src}/f.txt`, 1_600_000_000, 1_600_000_000);
  assert.equal((await syncOnce(t)).code, 0);
  // As a replica filesystem keeping only whole seconds (or FAT's two) leaves it: 1.5 s off.
  Deno.utimeSync(`${t.dst}/f.txt`, 1_600_000_001.5, 1_600_000_001.5);
  const within = await syncOnce(t, "--modify-window", "2");
  assert.equal(within.code, 0, within.stderr);
  assert.match(within.stdout, /0 copied, 0 updated/);
  assert.equal(Deno.statSync(`${t.dst}/f.txt`).mtime!.getTime(), 1_600_000_001_500, "left alone");
  const narrower = await syncOnce(t, "--modify_window", "1");
  assert.equal(narrower.code, 0, narrower.stderr);
  assert.match(narrower.stdout, /update +file +f\.txt/);
  assertMirrored(t.src, t.dst);
});

Deno.test("mirror: --dry-run logs the plan and changes nothing", async () => {
  using t = tempDirs();
  writeTree(t.src, { "new.txt": "n", dir: { "x.txt": "x" } });
  writeTree(t.dst, { "old.txt": "o" });
  const before = snap(t.dst);
  const result = await syncOnce(t, "--dry-run");
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(snap(t.dst), before);
  for (
    const line of [
      /copy +file +new\.txt.*dry run/,
      /create dir +dir .*dry run/,
      /copy +file +dir\/x\.txt/,
      /remove file +old\.txt/,
    ]
  ) {
    assert.match(result.stdout, line);
    assert.match(readOr(t.log), line);
  }
});

Deno.test("mirror: --exclude paths are neither copied nor deleted", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", "skip.tmp": "s", cache: { "c.bin": "c" } });
  writeTree(t.dst, { "kept.tmp": "replica's own", "gone.txt": "g" });
  const result = await syncOnce(t, "--exclude", "*.tmp", "--exclude", "cache");
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(Object.keys(snap(t.dst)).sort(), ["", "a.txt", "kept.tmp"]);
});

Deno.test("mirror: every change is logged to console and file; each cycle ends with one summary line", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", d: {} });
  writeTree(t.dst, { "old.txt": "o" });
  const result = await syncOnce(t);
  assert.equal(result.code, 0);
  const log = readOr(t.log);
  for (const line of [/remove file +old\.txt/, /copy +file +a\.txt \(1 B\)/, /create dir +d$/m]) {
    assert.match(result.stdout, line);
    assert.match(log, line);
  }
  assert.match(
    log,
    /^\S+Z INFO {2}cycle 1 done in \d+\.\d\d s: 1 created, 1 copied, 0 updated, 1 removed, 0 skipped, 0 errors, 1 B copied, 2 scanned$/m,
  );
  const again = await syncOnce(t);
  const lines = again.stdout.trim().split("\n");
  assert.equal(lines.length, 2, "start line and summary only when nothing changed");
});

Deno.test("mirror: --log_format json writes one object per event", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  assert.equal((await syncOnce(t, "--log_format", "json")).code, 0);
  const objects = readOr(t.log).trim().split("\n").map((l) => JSON.parse(l));
  const copy = objects.find((o) => o.action === "copy");
  assert.deepEqual(
    { action: copy.action, path: copy.path, kind: copy.kind, bytes: copy.bytes, level: copy.level },
    { action: "copy", path: "a.txt", kind: "file", bytes: 1, level: "info" },
  );
  assert.ok(objects.some((o) => o.action === "summary" && o.copy === 1 && o.error === 0));
});

Deno.test("mirror: stale temporary files are removed; a source file that only looks temporary is mirrored", async () => {
  using t = tempDirs();
  const lookAlike = ".foldersync-tmp-00112233445566aa";
  writeTree(t.src, { [lookAlike]: "a real file", sub: { "x.txt": "x" } });
  writeTree(t.dst, {
    ".foldersync-tmp-ffeeddccbbaa9988": "half",
    sub: { ".foldersync-tmp-0000000000000001": "h" },
  });
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(tempFiles(t.dst), [lookAlike]);
  assert.equal(Deno.readTextFileSync(`${t.dst}/${lookAlike}`), "a real file");
  assertMirrored(t.src, t.dst);
});
