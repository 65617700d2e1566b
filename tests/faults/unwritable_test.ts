/**
 * Places foldersync cannot write: a read-only replica (bind mount), an
 * unwritable log file or log directory, a replica path that is a file. Each
 * gives a clear error and a non-zero exit, and touches nothing else.
 */
import { equal, ok } from "node:assert/strict";
import {
  assertMirror,
  assertSameSnapshot,
  errorLines,
  put,
  runCli,
  sh,
  snapshot,
  tempFiles,
} from "../helpers.ts";
import { canDropPrivileges, canMount, NOBODY, tempRoot } from "./helpers.ts";

const mountable = await canMount();
const nobody = canDropPrivileges();

/** A source with a few files and a directory, and a replica already mirroring it. */
async function mirrored(dir: string, asNobody = false) {
  const src = `${dir}/source`;
  const rep = `${dir}/replica`;
  const t = 1_700_000_000;
  for (let i = 0; i < 5; i++) put(src, `file-${i}.txt`, `file ${i}`, t);
  put(src, "sub/inner.txt", "inner", t);
  if (asNobody) await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
  const first = await runCli(["--source_path", src, "--replica_path", rep, "--once"], { asNobody });
  equal(first.code, 0, first.text);
  assertMirror(src, rep);
  return { src, rep };
}

Deno.test({
  name: "read-only replica (bind mount): errors name the paths, exit 1, replica untouched",
  ignore: !mountable,
  fn: async () => {
    const { dir, cleanup } = await tempRoot("readonly");
    try {
      const { src, rep } = await mirrored(dir);
      put(src, "file-1.txt", "file 1, changed", 1_700_000_100);
      put(src, "new.txt", "new");
      put(src, "newdir/x.txt", "x");
      Deno.removeSync(`${src}/file-2.txt`);
      Deno.chmodSync(`${src}/file-3.txt`, 0o600);
      await sh(["mount", "--bind", rep, rep]);
      await sh(["mount", "-o", "remount,bind,ro", rep]);
      const sourceBefore = snapshot(src);
      const replicaBefore = snapshot(rep);

      const run = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      equal(run.code, 1, run.text);
      for (const path of ["file-1.txt", "new.txt", "newdir", "file-2.txt", "file-3.txt"]) {
        ok(
          errorLines(run.lines, path).some((l) => /read-only file system/.test(l)),
          `no read-only error for ${path}:\n${run.text}`,
        );
      }
      assertSameSnapshot(replicaBefore, snapshot(rep), "the read-only replica");
      assertSameSnapshot(sourceBefore, snapshot(src), "the source");

      // Writable again: the next run completes.
      await sh(["umount", rep]);
      const again = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      equal(again.code, 0, again.text);
      assertMirror(src, rep);
    } finally {
      await cleanup();
    }
  },
});

Deno.test("replica path that is a file: refused with a clear error, the file untouched", async () => {
  const { dir, cleanup } = await tempRoot("replica-file");
  try {
    const src = `${dir}/source`;
    put(src, "a.txt", "a");
    const rep = `${dir}/replica`;
    put(dir, "replica", "I am a file, not a folder", 1_700_000_000);
    const before = snapshot(dir);
    const run = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
    equal(run.code, 1, run.text);
    ok(
      run.lines.some((l) => /ERROR/.test(l) && l.includes(rep) && /is not a directory/.test(l)),
      run.text,
    );
    assertSameSnapshot(before, snapshot(dir), "the test tree");
  } finally {
    await cleanup();
  }
});

Deno.test({
  name: "unwritable log file or log directory (uid 65534): clear error, exit 1, nothing synced",
  ignore: !nobody,
  fn: async () => {
    const { dir, cleanup } = await tempRoot("log-unwritable");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "a.txt", "a");
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      // A log file owned by root, mode 0644; and a root-owned 0755 log directory.
      put(dir, "logs/existing.log", "old line\n");
      Deno.chmodSync(`${dir}/logs/existing.log`, 0o644);
      Deno.mkdirSync(`${dir}/rootdir`, { mode: 0o755 });
      const before = snapshot(dir);
      for (
        const log of [
          `${dir}/logs/existing.log`,
          `${dir}/rootdir/new.log`,
          `${dir}/rootdir/sub/new.log`,
        ]
      ) {
        const run = await runCli(
          ["--source_path", src, "--replica_path", rep, "--once", "--log_file", log],
          { asNobody: true },
        );
        equal(run.code, 1, run.text);
        ok(
          run.lines.some((l) =>
            l.includes(`Cannot write log file '${log}'`) && /permission denied/i.test(l)
          ),
          `no clear log-file error for ${log}:\n${run.text}`,
        );
        assertSameSnapshot(before, snapshot(dir), `with --log_file ${log}, the test tree`);
      }
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "log directory on a read-only mount (root): clear error, exit 1, nothing synced",
  ignore: !mountable,
  fn: async () => {
    const { dir, cleanup } = await tempRoot("log-readonly");
    try {
      const { src, rep } = await mirrored(dir);
      put(src, "new.txt", "not to be synced");
      Deno.mkdirSync(`${dir}/logs`);
      await sh(["mount", "--bind", `${dir}/logs`, `${dir}/logs`]);
      await sh(["mount", "-o", "remount,bind,ro", `${dir}/logs`]);
      const before = snapshot(dir);
      const log = `${dir}/logs/foldersync.log`;
      const run = await runCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--once",
        "--log_file",
        log,
      ]);
      equal(run.code, 1, run.text);
      ok(
        run.lines.some((l) => l.includes(`Cannot write log file '${log}'`) && /read-only/i.test(l)),
        run.text,
      );
      assertSameSnapshot(before, snapshot(dir), "the test tree");
      equal(tempFiles(rep).length, 0);
    } finally {
      await cleanup();
    }
  },
});
