/**
 * The engine works from inside replica folders (it changes into them, see
 * lib/engine/in_dir.ts). Between cycles its working directory is none of them, and
 * relative paths given on the command line keep meaning what they meant at
 * start (the log file reopened on SIGHUP included). The replica's lock is held
 * for the life of the process, so its volume is busy until foldersync stops.
 */
import { equal, match, ok } from "node:assert/strict";
import { put, sh, spawnCli } from "../helpers.ts";
import { canMount, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;

Deno.test({
  name:
    "between cycles the working directory is outside the replica; its volume unmounts once foldersync stops",
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
        const cwd = await sh(["readlink", `/proc/${live.pid}/cwd`]);
        ok(!cwd.out.startsWith(mnt), `working directory between cycles: ${cwd.out}`);
        // The lock (one process per replica, for the life of the process) keeps it busy.
        const busy = await sh(["umount", mnt], true);
        ok(busy.code !== 0, "the replica's volume is held while foldersync runs");
      } finally {
        live.kill("SIGTERM");
        await live.status;
      }
      const umount = await sh(["umount", mnt], true);
      equal(umount.code, 0, `umount once foldersync stopped: ${umount.out}`);
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
