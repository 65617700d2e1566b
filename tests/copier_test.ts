import assert from "node:assert/strict";
import { AbandonedError, startCopier } from "../lib/speed/copier.ts";
import { startNativeCopier } from "../lib/speed/native_ring.ts";
import { toEntry } from "../lib/engine/list_dir.ts";
import { denoArgs, hasCommand, ROOT, snap, tempDirs, treeArgs, writeTree } from "./helpers.ts";
import type { Entry } from "../lib/engine/types.ts";
import type { CopyJob } from "../lib/engine/copy_file_atomic.ts";
import { NativeFileSystem } from "../lib/engine/fs/native/native_fs.ts";
import type { Folder } from "../lib/engine/fs/types.ts";
import { Owners } from "../lib/engine/owner.ts";
import { ChangedError } from "../lib/engine/recheck.ts";
import { NotARegularFileError } from "../lib/engine/errors.ts";

function job(src: string, dst: string, name: string, entry: Entry): CopyJob {
  return {
    src: `${src}/${name}`,
    dst: `${dst}/${name}`,
    entry,
    dir: dst,
    dirSeen: toEntry("", Deno.lstatSync(dst)),
    dirIsRoot: true,
  };
}

Deno.test("copier: copies on workers with mode and mtime; errors come back as the same class", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "alpha", "b.bin": new Uint8Array([1, 2, 3]) });
  Deno.mkdirSync(t.dst);
  Deno.chmodSync(`${t.src}/b.bin`, 0o600);
  Deno.utimeSync(`${t.src}/a.txt`, 1_600_000_000, 1_600_000_000);
  const copier = startCopier(2);
  assert.ok(copier, "workers start with read access to lib/");
  try {
    const jobs = [];
    for (const name of ["a.txt", "b.bin"]) {
      const entry = toEntry(name, Deno.lstatSync(`${t.src}/${name}`));
      jobs.push((await copier.submit(job(t.src, t.dst, name, entry))).done);
    }
    await Promise.all(jobs);
    assert.deepEqual(snap(t.dst, { skipRoot: true }), snap(t.src, { skipRoot: true }));
    const ghost = { ...toEntry("a.txt", Deno.lstatSync(`${t.src}/a.txt`)), name: "ghost" };
    const { done } = await copier.submit(job(t.src, t.dst, "ghost", ghost));
    await assert.rejects(done, Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(t.dst)].map((e) => e.name).sort(), ["a.txt", "b.bin"]);
  } finally {
    copier.close();
  }
});

const hasStrace = hasCommand("strace", ["-V"]);

Deno.test({
  name: "copier: a first copy of many small files (past the inline threshold) mirrors exactly, " +
    "those past it made on the worker threads",
  ignore: !hasStrace,
  async fn() {
    using t = tempDirs();
    const files: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) files[`f${i}.txt`] = `file ${i}\n`.repeat(i % 7 + 1);
    writeTree(t.src, { many: files, other: { ...files } });
    const old = new Date("2024-05-06T07:08:09.123Z");
    for (const dir of ["many", "other"]) {
      for (const name of Object.keys(files)) Deno.utimeSync(`${t.src}/${dir}/${name}`, old, old);
    }
    // This test is the portable engine's copy workers (the native engine's have their own).
    const { stdout, lines } = await tracedOpens(t, ["--once"], undefined);
    assert.deepEqual(snap(t.dst), snap(t.src));
    assert.equal(stdout.match(/copy +file/g)?.length, 3000);
    const main = lines[0].split(" ")[0];
    const created = lines.filter((line) => line.includes(`"${t.dst}/`) && line.includes("O_CREAT"));
    const onWorkers = created.filter((line) => line.split(" ")[0] !== main).length;
    assert.ok(created.length >= 3000, `${created.length} files created`);
    assert.ok(onWorkers >= 100, `only ${onWorkers} of ${created.length} made off the main thread`);
  },
});

const linux = Deno.build.os === "linux";

/** `find`'s view of a tree: every entry's name, mtime to the nanosecond, mode and size. */
/**
 * Runs the CLI on the tree under `strace -e openat`, which says which thread opened each file
 * (the main thread's id is the pid, on the trace's first line); it must exit 0.
 */
async function tracedOpens(
  t: { dir: string; src: string; dst: string; log: string },
  args: string[],
  perms: string[] | undefined,
): Promise<{ stdout: string; lines: string[] }> {
  const trace = `${t.dir}/trace`;
  const out = await new Deno.Command("strace", {
    args: [
      ...["-f", "-qq", "--seccomp-bpf", "-o", trace, "-e", "trace=openat"],
      Deno.execPath(),
      ...denoArgs(treeArgs(t, ...args), perms, { portable: true }),
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = Deno.readTextFileSync(trace).split("\n");
  return { stdout: new TextDecoder().decode(out.stdout), lines };
}

/** The native engine on a source and a replica, and both roots as the walk holds them. */
function nativeRoots(t: { src: string; dst: string }) {
  const root = (side: "source" | "replica", abs: string): Folder => ({
    side,
    rel: "",
    abs,
    seen: toEntry("", Deno.statSync(abs)),
    root: true,
  });
  const fs = new NativeFileSystem({ source: t.src, replica: t.dst });
  return { fs, src: root("source", t.src), dst: root("replica", t.dst) };
}

function listing(root: string): string[] {
  const args = [root, "-mindepth", "1", "-printf", "%P %T@ %m %s\n"];
  const out = new Deno.Command("find", { args }).outputSync();
  return new TextDecoder().decode(out.stdout).trim().split("\n").sort();
}

Deno.test({
  name: "copier: the native engine's copies on the ring's workers, by its folder handles " +
    "(nanosecond mtimes, modes); their errors come back as the same classes",
  ignore: !linux,
  async fn() {
    using t = tempDirs();
    const files: Record<string, string> = {};
    for (let i = 0; i < 600; i++) files[`f${i}.txt`] = `file ${i}\n`.repeat(i % 5 + 1);
    writeTree(t.src, { ...files, "c.txt": "gamma", "d.txt": "delta" });
    Deno.mkdirSync(t.dst);
    for (const name of Object.keys(files).filter((_, i) => i % 3 === 0)) {
      Deno.chmodSync(`${t.src}/${name}`, 0o640);
    }
    const names = Object.keys(files).map((n) => `${t.src}/${n}`);
    const touch = ["-d", "2024-05-06 07:08:09.123456789", ...names];
    assert.ok(new Deno.Command("touch", { args: touch }).outputSync().success);
    const { fs, src, dst } = nativeRoots(t);
    const copier = startNativeCopier(2);
    assert.ok(copier, "workers start with read access to lib/");
    // What the scan saw, taken before anything below changes it.
    const seen = (name: string) => ({ entry: fs.lstat(src, name)!, at: fs.lstat(dst, name) });
    const submit = async (name: string, scan = seen(name)) => {
      const to = { dir: dst, name, seen: scan.at };
      const from = { dir: src, name, entry: scan.entry };
      const handoff = fs.handOff({ from, to, owners: new Owners() });
      assert.ok(handoff && "native" in handoff.job);
      const { done } = await copier.submit(handoff.job);
      return done.finally(handoff.release);
    };
    try {
      await Promise.all(Object.keys(files).map((name) => submit(name)));
      assert.deepEqual(listing(t.dst), listing(t.src).filter((l) => /^f\d/.test(l)));
      // Replaced after the scan: not the file seen.
      const c = seen("c.txt");
      Deno.writeTextFileSync(`${t.src}/c.new`, "other");
      Deno.renameSync(`${t.src}/c.new`, `${t.src}/c.txt`);
      await assert.rejects(submit("c.txt", c), NotARegularFileError);
      // A file appeared at the replica's name after the scan saw none there.
      const d = seen("d.txt");
      Deno.writeTextFileSync(`${t.dst}/d.txt`, "theirs");
      await assert.rejects(submit("d.txt", d), ChangedError);
      assert.equal(Deno.readTextFileSync(`${t.dst}/d.txt`), "theirs");
      const left = [...Deno.readDirSync(t.dst)].map((e) => e.name).filter((n) => !/^f\d/.test(n));
      assert.deepEqual(left, ["d.txt"], "no temporary file left behind");
    } finally {
      copier.close();
      fs.close();
    }
  },
});

Deno.test({
  name: "copier: closing the native ring with copies queued settles each: made, or given up " +
    "as abandoned (its handles stay pinned); none is left hanging",
  ignore: !linux,
  async fn() {
    using t = tempDirs();
    const files: Record<string, string> = {};
    for (let i = 0; i < 400; i++) files[`f${i}`] = "x".repeat(i);
    writeTree(t.src, files);
    Deno.mkdirSync(t.dst);
    const { fs, src, dst } = nativeRoots(t);
    const copier = startNativeCopier(2)!;
    const outcomes: Promise<string>[] = [];
    try {
      for (const name of Object.keys(files)) {
        const entry = fs.lstat(src, name)!;
        const to = { dir: dst, name, seen: undefined };
        const handoff = fs.handOff({ from: { dir: src, name, entry }, to, owners: new Owners() })!;
        const { done } = await copier.submit(handoff.job);
        outcomes.push(
          done.then(() => "made", (e) => e instanceof AbandonedError ? "abandoned" : `${e}`),
        );
      }
      copier.close();
      const settled = await Promise.all(outcomes);
      assert.deepEqual(new Set(settled).difference(new Set(["made", "abandoned"])), new Set());
      await assert.rejects(
        copier.submit(outcomes as never),
        Error,
        "a closed copier takes nothing",
      );
    } finally {
      copier.close();
      fs.close();
    }
  },
});

Deno.test({
  name: "copier: under the native engine, a first copy of many small files mirrors exactly " +
    "(nanosecond mtimes, modes), those past the inline threshold made on a worker thread",
  ignore: !hasStrace || !linux,
  async fn() {
    using t = tempDirs();
    const files: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) files[`f${i}.txt`] = `file ${i}\n`.repeat(i % 7 + 1);
    writeTree(t.src, { many: files, other: { ...files } });
    for (const name of Object.keys(files).filter((_, i) => i % 3 === 0)) {
      Deno.chmodSync(`${t.src}/many/${name}`, 0o640);
    }
    const touch = ["-d", "2024-05-06 07:08:09.123456789", `${t.src}/many`, `${t.src}/other`];
    const names = Object.keys(files).flatMap((n) => [`${t.src}/many/${n}`, `${t.src}/other/${n}`]);
    assert.ok(new Deno.Command("touch", { args: [...touch, ...names] }).outputSync().success);
    const perms = ["--allow-read", "--allow-write", "--allow-ffi"];
    const { stdout, lines } = await tracedOpens(t, ["--once", "--engine", "native"], perms);
    assert.deepEqual(snap(t.dst), snap(t.src));
    assert.deepEqual(listing(t.dst), listing(t.src));
    assert.equal(stdout.match(/copy +file/g)?.length, 3000);
    // The native engine creates the temporary file by name in the folder's handle.
    const main = lines[0].split(" ")[0];
    const created = lines.filter((line) => /\.foldersync-tmp-/.test(line) && /O_CREAT/.test(line));
    const onWorkers = created.filter((line) => line.split(" ")[0] !== main).length;
    assert.ok(created.length >= 3000, `${created.length} files created`);
    assert.ok(onWorkers >= 100, `only ${onWorkers} of ${created.length} made off the main thread`);
  },
});
