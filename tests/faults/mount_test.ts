/**
 * An unmounted replica volume: a replica at a mount point, or inside one,
 * whose disk is not mounted must not be filled in on the filesystem below
 * (the system disk). The replica's filesystem is remembered from the cycles
 * that ran, and `--require_mount` demands a mount outright.
 */
import { equal, match, ok } from "node:assert/strict";
import {
  assertMirror,
  assertSameSnapshot,
  put,
  runCli,
  sh,
  snapshot,
  spawnCli,
  waitFor,
} from "../helpers.ts";
import { canMount, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;

/** A small source tree. */
function source(dir: string): string {
  const src = `${dir}/source`;
  put(src, "a.txt", "a", T);
  put(src, "sub/b.txt", "b", T);
  return src;
}

/** Unmounts `mnt`, trying again while a cycle holds it busy. */
async function unmount(mnt: string): Promise<void> {
  await waitFor(async () => (await sh(["umount", mnt], true)).code === 0, 30_000, `umount ${mnt}`);
}

function mountTmpfs(mnt: string): Promise<unknown> {
  return sh(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
}

/** The mount point's folder on the filesystem below holds nothing. */
function emptyBelow(mnt: string): void {
  equal([...Deno.readDirSync(mnt)].map((e) => e.name).join(","), "", `${mnt} was written to`);
}

Deno.test({
  name: "a replica at a mount point: once unmounted, the loop refuses; remounted, it syncs again",
  ignore: !(await canMount()),
  async fn() {
    const { dir, cleanup } = await tempRoot("mount-loop");
    try {
      const src = source(dir);
      const mnt = `${dir}/mnt`;
      Deno.mkdirSync(mnt);
      await mountTmpfs(mnt);
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        mnt,
        "--sync_interval",
        "0.1",
      ]);
      try {
        await live.waitForLine(/cycle 1 done/);
        assertMirror(src, mnt, { dirTimes: false });
        // The running loop holds the replica's lock, so the volume is busy: detach it lazily, as a
        // disk that goes away under a running service does.
        await sh(["umount", "-l", mnt]);
        const from = live.lines.length;
        const refused = await live.waitForLine(/cycle \d+ refused/, from);
        await live.waitForLine(/cycle \d+ refused/, refused + 1);
        match(
          live.lines[refused],
          new RegExp(
            `ERROR +cycle \\d+ refused: replica '${mnt}' was on the filesystem mounted at ` +
              `'${mnt}' and is now on the one at '[^']*' \\(is its volume mounted\\?\\)`,
          ),
        );
        emptyBelow(mnt);
        await mountTmpfs(mnt);
        const back = live.lines.length;
        await live.waitForLine(/cycle \d+ done/, back);
        assertMirror(src, mnt, { dirTimes: false });
      } finally {
        live.kill();
        await live.status;
      }
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "a replica inside a mount point: remembered in the health file across runs",
  ignore: !(await canMount()),
  async fn() {
    const { dir, cleanup } = await tempRoot("mount-health");
    try {
      const src = source(dir);
      const mnt = `${dir}/mnt`;
      const rep = `${mnt}/replica`;
      const health = `${dir}/state/health.json`;
      Deno.mkdirSync(mnt);
      await mountTmpfs(mnt);
      const args = ["--source_path", src, "--replica_path", rep, "--health_file", health, "--once"];
      const first = await runCli(args);
      equal(first.code, 0, first.text);
      assertMirror(src, rep);
      await unmount(mnt);
      const before = snapshot(src);
      const refused = await runCli(args);
      equal(refused.code, 1, refused.text);
      match(
        refused.text,
        new RegExp(
          `cycle 1 refused: replica '${rep}' was on the filesystem mounted at '${mnt}' and is ` +
            `now on the one at '[^']*' \\(is its volume mounted\\?\\).*'${health}'`,
        ),
      );
      emptyBelow(mnt);
      assertSameSnapshot(before, snapshot(src), "source");
      await mountTmpfs(mnt);
      const again = await runCli(args);
      equal(again.code, 0, again.text);
      assertMirror(src, rep);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "--require_mount: no mount there (a bind mount of the folder onto itself neither) is refused",
  ignore: !(await canMount()),
  async fn() {
    const { dir, cleanup } = await tempRoot("mount-require");
    try {
      const src = source(dir);
      const mnt = `${dir}/mnt`;
      const rep = `${mnt}/replica`;
      Deno.mkdirSync(mnt);
      const args = ["--source_path", src, "--replica_path", rep, "--once"];
      const missing = await runCli([...args, "--require_mount", `${dir}/nothing`]);
      equal(missing.code, 1, missing.text);
      match(
        missing.text,
        /--require_mount '.*\/nothing' does not exist \(is its volume mounted\?\)/,
      );
      const bare = await runCli([...args, "--require_mount", mnt]);
      equal(bare.code, 1, bare.text);
      match(
        bare.text,
        new RegExp(
          `cycle 1 refused: --require_mount '${mnt}' is not a mount point \\(is its volume mounted\\?\\)`,
        ),
      );
      emptyBelow(mnt);
      // As systemd's ReadWritePaths= makes: the folder bound onto itself, still the same filesystem.
      await sh(["mount", "--bind", mnt, mnt]);
      const bound = await runCli([...args, "--require-mount", mnt]);
      equal(bound.code, 1, bound.text);
      match(bound.text, /is not a mount point/);
      emptyBelow(mnt);
      await sh(["umount", mnt]);
      await mountTmpfs(mnt);
      const mounted = await runCli([...args, "--require_mount", mnt]);
      equal(mounted.code, 0, mounted.text);
      assertMirror(src, rep);
      ok(!/refused/.test(mounted.text), mounted.text);
    } finally {
      await cleanup();
    }
  },
});
