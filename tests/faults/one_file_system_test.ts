/**
 * `--one-file-system`: a tmpfs mounted inside the source is mirrored as an
 * empty folder with the mounted folder's mode and mtime, and its replica
 * contents are left alone, exactly as `rsync -ax --delete` leaves them; a
 * mount inside the replica is neither entered nor removed (rsync would write
 * into it). Each mount point is a warning once per process, at debug after.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  assertSameSnapshot,
  DENO,
  denoArgs,
  put,
  runCli,
  sh,
  type SnapEntry,
  snapshot,
  spawnCli,
} from "../helpers.ts";
import { canMount, tempRoot } from "./helpers.ts";

const mountable = await canMount();
const rsync = await sh(["rsync", "--version"], true).then((r) => r.code === 0, () => false);
const strace = await sh(["strace", "-V"], true).then((r) => r.code === 0, () => false);
const T = 1_600_000_000;

/** The source: files around a tmpfs mounted at `mnt` (with files and a folder of its own). */
async function sourceWithMount(dir: string): Promise<string> {
  const src = `${dir}/source`;
  put(src, "a/f.txt", "a file", T);
  put(src, "top.txt", "top", T);
  Deno.mkdirSync(`${src}/mnt`);
  await sh(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", `${src}/mnt`]);
  put(src, "mnt/inner.txt", "on the tmpfs", T);
  put(src, "mnt/sub/deep.txt", "deeper", T);
  Deno.chmodSync(`${src}/mnt`, 0o750);
  Deno.utimeSync(`${src}/mnt`, T + 5, T + 5); // The mounted folder's own mtime.
  Deno.utimeSync(`${src}/a`, T, T);
  Deno.utimeSync(src, T, T);
  return src;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function sync(src: string, rep: string, ...extra: string[]) {
  return runCli(["--source_path", src, "--replica_path", rep, "--once", ...extra]);
}

/** The tree as a plain object (the root's own mtime left out: rsync and we both set it). */
function tree(root: string): Record<string, SnapEntry> {
  return Object.fromEntries(snapshot(root));
}

Deno.test({
  name:
    "--one-file-system: a tmpfs inside the source is an empty folder, as with rsync -ax --delete",
  ignore: !mountable || !rsync,
  fn: async () => {
    const { dir, cleanup } = await tempRoot("onefs-source");
    try {
      const src = await sourceWithMount(dir);
      const before = snapshot(src);
      const ours = `${dir}/ours`;
      const theirs = `${dir}/rsync`;
      const first = await sync(src, ours, "--one-file-system");
      equal(first.code, 0, first.text);
      await sh(["rsync", "-ax", "--delete", `${src}/`, `${theirs}/`]);
      deepEqual(tree(ours), tree(theirs)); // A fresh replica.
      deepEqual(Object.keys(tree(ours)).filter((p) => p.startsWith("mnt")), ["mnt"]);
      equal(Deno.statSync(`${ours}/mnt`).mode! & 0o7777, 0o750, "the mounted folder's mode");
      match(
        first.text,
        /WARN {2}skip {3}dir {5}mnt: another filesystem is mounted here \(--one-file-system\): the folder is mirrored, not its contents/,
      );

      // A stale replica: what lies in the mount point's folder stays, in both.
      for (const rep of [ours, theirs]) {
        put(rep, "mnt/old.txt", "from an earlier run", T);
        put(rep, "mnt/old/x.txt", "x", T);
        put(rep, "gone.txt", "removed", T);
        Deno.utimeSync(`${rep}/mnt/old`, T, T); // Made now: the same time in both trees.
        Deno.utimeSync(`${rep}/mnt`, T, T);
      }
      const second = await sync(src, ours, "--one-file-system");
      equal(second.code, 0, second.text);
      await sh(["rsync", "-ax", "--delete", `${src}/`, `${theirs}/`]);
      deepEqual(tree(ours), tree(theirs)); // A stale replica.
      equal(Deno.readTextFileSync(`${ours}/mnt/old.txt`), "from an earlier run");
      ok(!second.text.includes("inner.txt"), second.text);

      // Not even listed: no thread opens anything under the mount point (strace, when there).
      if (strace) {
        const trace = `${dir}/openat.trace`;
        const traced = await new Deno.Command("strace", {
          // -y: handles shown as paths, so the native engine's relative opens name their folder.
          args: ["-f", "-qq", "-y", "-e", "trace=openat,openat2", "-o", trace, DENO].concat(
            denoArgs(
              [
                "--source_path",
                src,
                "--replica_path",
                `${dir}/traced`,
                "--once",
                "--one-file-system",
              ],
            ),
          ),
          stdout: "null",
          stderr: "null",
        }).output();
        equal(traced.code, 0);
        const lines = Deno.readTextFileSync(trace).split("\n");
        // A path opened whole (portable) or by its name in its folder's handle (native).
        const names = (l: string, path: string) =>
          l.includes(`"${path}`) || l.includes(`<${path}`) ||
          l.includes(`${path.slice(0, path.lastIndexOf("/"))}>, "${path.split("/").pop()}"`);
        deepEqual(lines.filter((l) => names(l, `${src}/mnt`)), [], "opened under the mount point");
        ok(lines.some((l) => names(l, `${src}/a`)), "the trace sees the walk");
      }

      // Without the flag the walk goes into the mount, as rsync -a does.
      const crossed = await sync(src, `${dir}/crossed`);
      equal(crossed.code, 0, crossed.text);
      equal(Deno.readTextFileSync(`${dir}/crossed/mnt/sub/deep.txt`), "deeper");
      assertSameSnapshot(before, snapshot(src), "the source");
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "--one-file-system: mounts in the replica are neither entered nor removed",
  ignore: !mountable,
  fn: async () => {
    const { dir, cleanup } = await tempRoot("onefs-replica");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "both/s.txt", "source side", T);
      put(src, "keep.txt", "keep", T);
      put(rep, "keep.txt", "keep", T);
      // `extra` is not in the source; `both` is, with other contents; `x` holds a mount below.
      for (const name of ["extra", "both", "x/m"]) {
        Deno.mkdirSync(`${rep}/${name}`, { recursive: true });
        await sh(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", `${rep}/${name}`]);
        put(rep, `${name}/r.txt`, `replica side of ${name}`, T);
      }
      put(rep, "x/file.txt", "removed", T);
      const mounts = () =>
        Object.fromEntries(
          ["extra", "both", "x/m"].map((m) => [m, Object.fromEntries(snapshot(`${rep}/${m}`))]),
        );
      const before = mounts();
      const backups = `${dir}/backups`;
      const run = await sync(src, rep, "--one-file-system", "--backup_dir", backups);
      equal(run.code, 0, run.text);
      deepEqual(mounts(), before, "nothing in the mounts changed");
      ok(!exists(`${rep}/both/s.txt`), "a mount in the replica is not entered");
      ok(!exists(`${rep}/x/file.txt`), "what is beside a mount is removed");
      const [stamp] = [...Deno.readDirSync(backups)].map((e) => e.name);
      equal(Deno.readTextFileSync(`${backups}/${stamp}/x/file.txt`), "removed", "kept in backups");
      for (const name of ["extra", "both", "x/m"]) {
        match(
          run.text,
          new RegExp(
            `WARN {2}skip {3}dir {5}${name}: another filesystem is mounted here in the replica ` +
              String.raw`\(--one-file-system\): left alone, with its contents`,
          ),
        );
      }
      match(run.text, /WARN {2}skip {3}dir {5}x: kept: it holds excluded entries or a mount point/);

      // In the loop: a warning once per process, at debug after; such cycles are quiet.
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--one-file-system",
        "--sync_interval",
        "0.1",
        "--log_level",
        "debug",
      ]);
      try {
        await live.waitForLine(/cycle 3 done/);
      } finally {
        live.kill("SIGTERM");
        await live.status;
      }
      const about = (level: string) =>
        live.lines.filter((l) => l.includes(` ${level} skip   dir     extra: `)).length;
      equal(about("WARN "), 1, live.lines.join("\n"));
      ok(about("DEBUG") >= 2, live.lines.join("\n"));
      match(live.lines.join("\n"), /DEBUG cycle 3 done in .*, 0 errors, /);
      deepEqual(mounts(), before, "nothing in the mounts changed");
    } finally {
      await cleanup();
    }
  },
});
