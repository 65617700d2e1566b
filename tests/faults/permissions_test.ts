/**
 * Permissions, as uid 65534: an unreadable source file and an unreadable
 * source directory are reported and skipped, the replica's copies under that
 * directory are kept, and everything else syncs.
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
import { canDropPrivileges, NOBODY, tempRoot } from "./helpers.ts";

Deno.test({
  name:
    "permissions (uid 65534): unreadable file and directory reported, their copies kept, the rest synced",
  ignore: !canDropPrivileges(),
  fn: async () => {
    const { dir, cleanup } = await tempRoot("perms");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      const t = 1_700_000_000;
      put(src, "normal.txt", "normal v1", t);
      put(src, "old.txt", "to be deleted", t);
      put(src, "secret.txt", "secret v1", t);
      put(src, "private/a.txt", "private a", t);
      put(src, "private/b/c.txt", "private c", t);
      put(src, "private/d.txt", "private d", t);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
      const first = await runCli(["--source_path", src, "--replica_path", rep, "--once"], {
        asNobody: true,
      });
      equal(first.code, 0, first.text);
      const replicaFirst = snapshot(rep);

      // Changes: some readable, some not.
      put(src, "normal.txt", "normal v2, longer", t + 10);
      Deno.removeSync(`${src}/old.txt`);
      put(src, "fresh.txt", "fresh", t + 10);
      put(src, "newdir/x.txt", "x", t + 10);
      put(src, "secret.txt", "secret v2, changed", t + 10);
      put(src, "secret-new.txt", "never readable", t + 10);
      Deno.removeSync(`${src}/private/d.txt`); // would be deleted from the replica if readable
      put(src, "private/e.txt", "e", t + 10);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      Deno.chmodSync(`${src}/secret.txt`, 0o000);
      Deno.chmodSync(`${src}/secret-new.txt`, 0o000);
      Deno.chmodSync(`${src}/private`, 0o000);
      const sourceBefore = snapshot(src);

      const run = await runCli(["--source_path", src, "--replica_path", rep, "--once"], {
        asNobody: true,
      });
      equal(run.code, 1, `unreadable entries must make the run exit 1:\n${run.text}`);
      for (const path of ["secret.txt", "secret-new.txt", "private"]) {
        ok(
          errorLines(run.lines, path).some((l) => /permission denied/.test(l)),
          `no permission error for ${path}:\n${run.text}`,
        );
      }
      ok(/cycle 1 failed .* 3 errors/.test(run.text), run.text);

      const now = snapshot(rep);
      // Under the unreadable directory: the replica's copies are all kept, unchanged.
      for (
        const path of ["private", "private/a.txt", "private/b", "private/b/c.txt", "private/d.txt"]
      ) {
        equal(
          JSON.stringify(now.get(path)),
          JSON.stringify(replicaFirst.get(path)),
          `${path} changed`,
        );
      }
      ok(!now.has("private/e.txt"));
      // The unreadable file keeps its old copy; the new unreadable one is not created.
      equal(JSON.stringify(now.get("secret.txt")), JSON.stringify(replicaFirst.get("secret.txt")));
      ok(!now.has("secret-new.txt"));
      // Everything else synced.
      const srcNow = snapshot(src);
      for (const path of ["normal.txt", "fresh.txt", "newdir", "newdir/x.txt"]) {
        equal(
          JSON.stringify(now.get(path)),
          JSON.stringify(srcNow.get(path)),
          `${path} not synced`,
        );
      }
      ok(!now.has("old.txt"), "old.txt was not deleted");
      equal(tempFiles(rep).length, 0);
      assertSameSnapshot(sourceBefore, snapshot(src), "the source");

      // Readable again: the next run (as 65534) completes the mirror, deletes included.
      Deno.chmodSync(`${src}/secret.txt`, 0o644);
      Deno.chmodSync(`${src}/secret-new.txt`, 0o644);
      Deno.chmodSync(`${src}/private`, 0o755);
      const again = await runCli(["--source_path", src, "--replica_path", rep, "--once"], {
        asNobody: true,
      });
      equal(again.code, 0, again.text);
      assertMirror(src, rep);
    } finally {
      await cleanup();
    }
  },
});
