/**
 * The engine works from inside replica folders (it changes into them, see
 * lib/in_dir.ts). Between cycles it must hold none of them: a backup volume
 * holding the replica can be unmounted while foldersync waits for its next
 * interval, and relative paths given on the command line keep meaning what
 * they meant at start (the log file reopened on SIGHUP included).
 */
import { equal, match, ok } from "node:assert/strict";
import { canMount, put, sh, spawnCli, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;

Deno.test({
  name: "between cycles the replica's volume is not held busy: it can be unmounted",
  ignore: !(await canMount()),
  async fn() {
    const { dir, cleanup } = await tempRoot("workdir-umount");
    try {
      const src = `${dir}/source`;
      const mnt = `${dir}/backup`;
      put(src, "a/b/c.txt", "deep", T);
      put(src, "top.txt", "top", T);
      Deno.mkdirSync(mnt);
      await sh(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]);
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        `${mnt}/replica`,
        "--sync_interval",
        "600",
      ]);
      try {
        await live.waitForLine(/cycle 1 done/);
        const umount = await sh(["umount", mnt], true);
        equal(umount.code, 0, `umount while foldersync waits: ${umount.out}`);
      } finally {
        live.kill("SIGTERM");
        await live.status;
        await sh(["umount", mnt], true);
      }
    } finally {
      await cleanup();
    }
  },
});

Deno.test("relative --log_file and --health_file stay where they were meant, SIGHUP included", async () => {
  const { dir, cleanup } = await tempRoot("workdir-relative");
  try {
    put(dir, "source/a/b.txt", "b", T);
    const live = await spawnCli(
      [
        "--source_path",
        "source",
        "--replica_path",
        "replica",
        "--log_file",
        "logs/sync.log",
        "--health_file",
        "logs/health.json",
        "--sync_interval",
        "0.3",
        "--log_level", // Quiet cycles log their summaries at debug.
        "debug",
      ],
      { cwd: dir },
    );
    try {
      await live.waitForLine(/cycle 2 done/);
      Deno.renameSync(`${dir}/logs/sync.log`, `${dir}/logs/sync.log.1`);
      live.kill("SIGHUP");
      await live.waitForLine(/cycle 4 done/);
    } finally {
      live.kill("SIGTERM");
      await live.status;
    }
    match(Deno.readTextFileSync(`${dir}/logs/sync.log`), /log file reopened \(SIGHUP\)/);
    ok(Deno.statSync(`${dir}/logs/health.json`).isFile);
    for (const stray of ["replica/logs", "replica/a/logs", "source/logs"]) {
      ok(!exists(`${dir}/${stray}`), `${stray} was created`);
    }
  } finally {
    await cleanup();
  }
});

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
