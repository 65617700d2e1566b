/**
 * A replica on a filesystem that keeps coarse mtimes: ext4 made with 128-byte
 * inodes (whole seconds) and FAT (two seconds), each a loop-mounted image.
 * The replica's mtimes are the source's cut to that tick; the runs after the
 * first over an unchanged source copy nothing (and so back nothing up), and a
 * real change is still copied.
 */
import { deepEqual, equal } from "node:assert/strict";
import {
  assertMirror,
  assertSameSnapshot,
  type CliResult,
  parseSummary,
  put,
  runCli,
  sh,
  snapshot,
} from "../helpers.ts";
import { canDropPrivileges, canMount, NOBODY, tempRoot } from "./helpers.ts";

const mountable = await canMount();

/** Whether this kernel mounts FAT (containers often lack the module). */
async function mountsVfat(): Promise<boolean> {
  if (!mountable) return false;
  const { dir, cleanup } = await tempRoot("vfatprobe");
  try {
    await sh(["truncate", "-s", "1M", `${dir}/img`]);
    await sh(["mkfs.vfat", `${dir}/img`]);
    Deno.mkdirSync(`${dir}/mnt`);
    return (await sh(["mount", "-o", "loop", `${dir}/img`, `${dir}/mnt`], true)).code === 0;
  } finally {
    await cleanup();
  }
}
const vfat = await mountsVfat();

/** The counts of a run's last summary. */
function summary(result: CliResult) {
  const all = result.lines.map(parseSummary).filter((s) => s !== undefined);
  equal(all.length, 1, result.text);
  return all[0]!;
}

/** Odd seconds and 625 ms: FAT keeps neither, ext4 with small inodes not the fraction. */
const T = 1_600_000_001.625;

/** 50 files over three folders (and on ext4 a symlink), mtimes with fractions and odd seconds. */
function writeSource(src: string, symlink: boolean) {
  for (let i = 0; i < 50; i++) {
    put(src, `${["", "a/", "a/b/"][i % 3]}f${i}.txt`, `file ${i}\n`, T + 2 * i);
  }
  if (symlink) Deno.symlinkSync("a/f1.txt", `${src}/link`);
  for (const d of ["a/b", "a", "."]) Deno.utimeSync(`${src}/${d}`, T + 200, T + 200);
}

/** The source as the replica must hold it: mtimes of files and folders cut to `tick` ms. */
function cut(src: string, tick: number) {
  const want = snapshot(src);
  for (const node of want.values()) {
    if (node.mtimeMs !== undefined) node.mtimeMs = Math.floor(node.mtimeMs / tick) * tick;
  }
  return want;
}

async function threeRuns(dir: string, rep: string, tick: number, symlink: boolean) {
  const src = `${dir}/source`;
  const backups = `${dir}/backups`;
  writeSource(src, symlink);
  const before = snapshot(src);
  const args = ["--source_path", src, "--replica_path", rep, "--backup_dir", backups, "--once"];
  const first = await runCli(args);
  equal(first.code, 0, first.text);
  equal(summary(first).copied, 50, first.text);
  assertMirror(cut(src, tick), rep);
  for (const run of ["second", "third"]) {
    const again = await runCli(args);
    equal(again.code, 0, again.text);
    const s = summary(again);
    deepEqual(
      [s.created, s.copied, s.updated, s.removed],
      [0, 0, 0, 0],
      `${run} run:\n${again.text}`,
    );
    assertMirror(cut(src, tick), rep);
  }
  let backedUp: string[] = [];
  try {
    backedUp = [...Deno.readDirSync(backups)].map((e) => e.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  deepEqual(backedUp, [], "nothing was backed up");
  assertSameSnapshot(before, snapshot(src), "source");

  // A real change, same size, mtime a tick later: still seen.
  put(src, "a/f1.txt", "FILE 1\n", T + 2 + tick / 1000);
  const changed = await runCli(args);
  equal(changed.code, 0, changed.text);
  equal(summary(changed).updated, 1, changed.text);
  assertMirror(cut(src, tick), rep);
}

Deno.test({
  name: "coarse mtimes: a replica on ext4 with 128-byte inodes (whole seconds) is not copied again",
  ignore: !mountable,
  async fn() {
    const { dir, cleanup } = await tempRoot("coarse-ext4");
    try {
      await sh(["truncate", "-s", "32M", `${dir}/img`]);
      await sh(["mkfs.ext4", "-q", "-F", "-I", "128", `${dir}/img`]);
      Deno.mkdirSync(`${dir}/mnt`);
      await sh(["mount", "-o", "loop", `${dir}/img`, `${dir}/mnt`]);
      await threeRuns(dir, `${dir}/mnt/replica`, 1000, true);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "coarse mtimes: a replica on FAT (two seconds) is not copied again",
  ignore: !vfat,
  async fn() {
    const { dir, cleanup } = await tempRoot("coarse-vfat");
    try {
      await sh(["truncate", "-s", "32M", `${dir}/img`]);
      await sh(["mkfs.vfat", `${dir}/img`]);
      Deno.mkdirSync(`${dir}/mnt`);
      // FAT holds no modes: these make its files 0644 and folders 0755, as the source's are.
      const options = "loop,tz=UTC,fmask=0133,dmask=0022";
      await sh(["mount", "-o", options, `${dir}/img`, `${dir}/mnt`]);
      await threeRuns(dir, `${dir}/mnt/replica`, 2000, false);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "coarse mtimes, as uid 65534 with a read-only source root: the replica root is 0555, still learned",
  ignore: !mountable || !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("coarse-readonly");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/mnt/replica`;
      await sh(["truncate", "-s", "16M", `${dir}/img`]);
      await sh(["mkfs.ext4", "-q", "-F", "-I", "128", `${dir}/img`]);
      Deno.mkdirSync(`${dir}/mnt`);
      await sh(["mount", "-o", "loop", `${dir}/img`, `${dir}/mnt`]);
      Deno.mkdirSync(rep);
      writeSource(src, false);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src, rep]);
      Deno.chmodSync(src, 0o555); // Mirrored: the replica root is read-only between cycles.
      const args = ["--source_path", src, "--replica_path", rep, "--once"];
      const first = await runCli(args, { asNobody: true });
      equal(first.code, 0, first.text);
      equal(Deno.statSync(rep).mode! & 0o777, 0o555);
      for (const run of ["second", "third"]) {
        const again = await runCli(args, { asNobody: true });
        equal(again.code, 0, again.text);
        const s = summary(again);
        deepEqual([s.copied, s.updated], [0, 0], `${run} run:\n${again.text}`);
      }
      assertMirror(cut(src, 1000), rep);
    } finally {
      await cleanup();
    }
  },
});
