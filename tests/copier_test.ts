import assert from "node:assert/strict";
import { startCopier } from "../lib/speed/copier.ts";
import { toEntry } from "../lib/engine/list_dir.ts";
import { denoArgs, hasCommand, ROOT, snap, tempDirs, treeArgs, writeTree } from "./helpers.ts";
import type { Entry } from "../lib/engine/types.ts";
import type { CopyJob } from "../lib/engine/copy_file_atomic.ts";

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
    // strace says which thread created each replica file: the main thread's id is the pid.
    const trace = `${t.dir}/trace`;
    const out = await new Deno.Command("strace", {
      args: [
        ...["-f", "-qq", "--seccomp-bpf", "-o", trace, "-e", "trace=openat"],
        Deno.execPath(),
        // The copy workers are the portable engine's (the native one copies on the main thread).
        ...denoArgs(treeArgs(t, "--once"), undefined, { portable: true }),
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(snap(t.dst), snap(t.src));
    assert.equal(stdout.match(/copy +file/g)?.length, 3000);
    const lines = Deno.readTextFileSync(trace).split("\n");
    const main = lines[0].split(" ")[0];
    const created = lines.filter((line) => line.includes(`"${t.dst}/`) && line.includes("O_CREAT"));
    const onWorkers = created.filter((line) => line.split(" ")[0] !== main).length;
    assert.ok(created.length >= 3000, `${created.length} files created`);
    assert.ok(onWorkers >= 100, `only ${onWorkers} of ${created.length} made off the main thread`);
  },
});
