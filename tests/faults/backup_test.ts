/**
 * `--backup_dir` and `--backup_keep`: what a cycle removes or overwrites is
 * moved to DIR/<cycle start>/<path>, nothing is lost even when the process is
 * killed mid-cycle, and the replica still ends exactly equal to the source.
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
import { canDropPrivileges, canMount, NOBODY, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{6}Z(~\d+)?$/;

function once(src: string, rep: string, backups: string, ...extra: string[]) {
  return runCli([
    "--source_path",
    src,
    "--replica_path",
    rep,
    "--backup_dir",
    backups,
    "--once",
    ...extra,
  ]);
}

/** The backup folders (cycle stamps) under `backups`, sorted. */
function stamps(backups: string): string[] {
  try {
    return [...Deno.readDirSync(backups)].map((e) => e.name).filter((n) => STAMP.test(n)).sort();
  } catch {
    return [];
  }
}

function read(path: string): string {
  return Deno.readTextFileSync(path);
}

async function mirrored(dir: string) {
  const src = `${dir}/source`;
  const rep = `${dir}/replica`;
  const backups = `${dir}/backups`;
  put(src, "del.txt", "deleted later", T);
  put(src, "over.txt", "version 1", T);
  put(src, "f2d", "a file that becomes a directory", T);
  put(src, "d2f/inner.txt", "a directory that becomes a file", T);
  put(src, "tree/a/1.txt", "one", T);
  put(src, "tree/a/2.txt", "two", T);
  put(src, "tree/b.txt", "bee", T);
  put(src, "keep.txt", "kept", T);
  Deno.symlinkSync("keep.txt", `${src}/link`);
  const first = await once(src, rep, backups);
  equal(first.code, 0, first.text);
  equal(stamps(backups).length, 0, "nothing to back up on a first copy");
  return { src, rep, backups };
}

Deno.test("--backup_dir: deletes, overwrites, type changes both ways and a removed tree are kept", async () => {
  const { dir, cleanup } = await tempRoot("backup");
  try {
    const { src, rep, backups } = await mirrored(dir);
    Deno.removeSync(`${src}/del.txt`);
    put(src, "over.txt", "version 2, longer", T + 10);
    Deno.removeSync(`${src}/f2d`);
    put(src, "f2d/now.txt", "now a directory", T);
    Deno.removeSync(`${src}/d2f`, { recursive: true });
    put(src, "d2f", "now a file", T);
    Deno.removeSync(`${src}/tree`, { recursive: true });
    Deno.removeSync(`${src}/link`);
    Deno.symlinkSync("over.txt", `${src}/link`);

    const dry = await once(src, rep, backups, "--dry-run");
    equal(dry.code, 0, dry.text);
    match(dry.text, /backup file +del\.txt -> \d{4}-\d{2}-\d{2}T\d{6}Z\/del\.txt \(dry run\)/);
    equal(stamps(backups).length, 0, "a dry run moves nothing");

    const run = await once(src, rep, backups);
    equal(run.code, 0, run.text);
    assertMirror(src, rep);
    const [stamp] = stamps(backups);
    ok(stamp, run.text);
    const b = `${backups}/${stamp}`;
    equal(read(`${b}/del.txt`), "deleted later");
    equal(read(`${b}/over.txt`), "version 1");
    equal(Deno.statSync(`${b}/over.txt`).mtime!.getTime(), T * 1000, "kept with its mtime");
    equal(read(`${b}/f2d`), "a file that becomes a directory");
    equal(read(`${b}/d2f/inner.txt`), "a directory that becomes a file");
    equal(read(`${b}/tree/a/1.txt`), "one");
    equal(read(`${b}/tree/b.txt`), "bee");
    equal(Deno.readLinkSync(`${b}/link`), "keep.txt");
    match(run.text, new RegExp(`INFO +backup file +del\\.txt -> ${stamp}/del\\.txt`));
    match(run.text, new RegExp(`INFO +backup dir +tree -> ${stamp}/tree`));
    // Removals into the backup folder are removals: del.txt, f2d, d2f and its file, tree and
    // its 4 entries (moved in one rename each); over.txt, link (and d2f) were updated.
    const kept = `kept in ${b.replaceAll(".", "\\.")}`;
    match(
      run.text,
      new RegExp(`, 3 updated \\(old versions ${kept}\\), 9 removed \\(kept there too\\), `),
    );
    // Nothing more to keep on the next cycle.
    const again = await once(src, rep, backups);
    equal(again.code, 0, again.text);
    match(again.text, /, 0 updated, 0 removed, /);
    ok(!again.text.includes("kept in"), again.text);
  } finally {
    await cleanup();
  }
});

Deno.test("--backup_dir: removals into the backup folder count as removals, a folder's entries too", async () => {
  const { dir, cleanup } = await tempRoot("backup-count");
  try {
    const { src, rep, backups } = await mirrored(dir);
    // Five entries leave the replica: del.txt, and tree/b.txt with tree/a and its two files.
    Deno.removeSync(`${src}/del.txt`);
    Deno.removeSync(`${src}/tree/a`, { recursive: true });
    Deno.removeSync(`${src}/tree/b.txt`);
    const run = await once(src, rep, backups, "--log_format", "json");
    equal(run.code, 0, run.text);
    assertMirror(src, rep);
    const [stamp] = stamps(backups);
    const objects = run.text.trim().split("\n").map((l) => JSON.parse(l));
    const summary = objects.find((o) => o.action === "summary");
    equal(summary.remove, 5, run.text);
    equal(summary.backup, 5);
    equal(summary.backupRemoved, 5);
    const text = await once(src, rep, backups);
    match(text.text, /, 0 removed, /, "nothing left to remove");
    Deno.removeSync(`${src}/keep.txt`);
    Deno.removeSync(`${src}/tree`, { recursive: true });
    const again = await once(src, rep, backups);
    const [, second] = stamps(backups);
    ok(second && second !== stamp, again.text);
    match(
      again.text,
      new RegExp(String.raw`, 0 updated, 2 removed \(kept in ${backups}/${second}\), 0 skipped, `),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("--backup_keep: folders older than the limit are removed, one line each; others stay", async () => {
  const { dir, cleanup } = await tempRoot("backup-keep");
  try {
    const { src, rep, backups } = await mirrored(dir);
    put(backups, "2020-01-01T000000Z/old.txt", "old", T);
    put(backups, "2020-01-02T000000Z~1/old.txt", "old", T);
    put(backups, "notes/mine.txt", "not ours", T);
    const recent = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z")
      .replaceAll(":", "");
    put(backups, `${recent}/recent.txt`, "recent", T);
    Deno.removeSync(`${src}/del.txt`);
    const run = await once(src, rep, backups, "--backup_keep", "30d");
    equal(run.code, 0, run.text);
    match(run.text, /backup folder 2020-01-01T000000Z removed: older than --backup_keep/);
    match(run.text, /backup folder 2020-01-02T000000Z~1 removed/);
    const left = [...Deno.readDirSync(backups)].map((e) => e.name).sort();
    ok(left.includes("notes") && left.includes(recent), left.join(", "));
    ok(!left.includes("2020-01-01T000000Z"), left.join(", "));
    equal(stamps(backups).length, 2, "the recent folder and this cycle's");
  } finally {
    await cleanup();
  }
});

Deno.test("--backup_dir: --max-delete still counts backed-up removals; a bad folder is refused at start", async () => {
  const { dir, cleanup } = await tempRoot("backup-max");
  try {
    const { src, rep, backups } = await mirrored(dir);
    Deno.removeSync(`${src}/tree`, { recursive: true }); // 5 entries
    const over = await once(src, rep, backups, "--max-delete", "4");
    equal(over.code, 1, over.text);
    match(over.text, /would remove 5 entries, more than --max-delete 4/);
    equal(stamps(backups).length, 0);
    const inside = await once(src, rep, `${rep}/backups`);
    equal(inside.code, 2, inside.text);
    match(inside.text, /--backup_dir .* is inside the replica/);
    const holds = await once(src, rep, dir);
    equal(holds.code, 2, holds.text);
    match(holds.text, /--backup_dir .* holds the source/);
    const keep = await runCli(["--source_path", src, "--replica_path", rep, "--backup_keep", "1d"]);
    equal(keep.code, 2, keep.text);
  } finally {
    await cleanup();
  }
});

Deno.test({
  name: "--backup_dir on another filesystem (tmpfs): copied with mode and mtime, then removed",
  ignore: !(await canMount()),
  async fn() {
    const { dir, cleanup } = await tempRoot("backup-xdev");
    try {
      const { src, rep, backups } = await mirrored(dir);
      Deno.mkdirSync(backups);
      await sh(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", backups]);
      Deno.chmodSync(`${rep}/tree/a`, 0o750);
      Deno.chmodSync(`${src}/tree/a`, 0o750);
      Deno.utimeSync(`${rep}/tree/a`, T, T);
      Deno.utimeSync(`${src}/tree/a`, T, T);
      Deno.removeSync(`${src}/tree`, { recursive: true });
      put(src, "over.txt", "version 2", T + 10);
      const run = await once(src, rep, backups);
      equal(run.code, 0, run.text);
      assertMirror(src, rep);
      const b = `${backups}/${stamps(backups)[0]}`;
      equal(read(`${b}/tree/a/2.txt`), "two");
      equal(Deno.statSync(`${b}/tree/a`).mode! & 0o777, 0o750);
      equal(Deno.statSync(`${b}/tree/a/1.txt`).mtime!.getTime(), T * 1000);
      equal(read(`${b}/over.txt`), "version 1");
    } finally {
      await cleanup();
    }
  },
});

Deno.test("--backup_dir: killed at a random moment of a cycle, no replica entry is ever lost", async () => {
  const { dir, cleanup } = await tempRoot("backup-kill");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    const backups = `${dir}/backups`;
    for (let round = 0; round < 8; round++) {
      for (let d = 0; d < 10; d++) {
        for (let f = 0; f < 40; f++) {
          put(src, `d${d}/f${f}.txt`, `round ${round} ${d}/${f}`, T + round);
        }
      }
      put(src, `big${round}.bin`, new Uint8Array(4 << 20).fill(round), T);
      const before = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      equal(before.code, 0, before.text);
      // Every file's content in the replica before the cycle that changes them.
      const had = new Set<string>();
      for (const [path, node] of snapshot(rep)) {
        if (node.kind === "file") had.add(`${path}:${node.sha}`);
      }
      // The next cycle overwrites half the files and removes the rest of the tree.
      for (let d = 0; d < 10; d++) {
        if (d % 2) Deno.removeSync(`${src}/d${d}`, { recursive: true });
        else for (let f = 0; f < 40; f++) put(src, `d${d}/f${f}.txt`, `new ${round}`, T + 100);
      }
      Deno.removeSync(`${src}/big${round}.bin`);
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--backup_dir",
        backups,
        "--once",
      ]);
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 400));
      live.kill("SIGKILL");
      await live.status;
      // Every file the replica had is in the replica or in a backup folder, with its content.
      const now = new Set<string>();
      for (const [path, node] of snapshot(rep)) {
        if (node.kind === "file") now.add(`${path}:${node.sha}`);
      }
      for (const stamp of stamps(backups)) {
        for (const [path, node] of snapshot(`${backups}/${stamp}`)) {
          if (node.kind === "file") now.add(`${path.replace(/~\d+$/, "")}:${node.sha}`);
        }
      }
      const lost = [...had].filter((x) => !now.has(x));
      equal(lost.length, 0, `round ${round}: lost ${lost.slice(0, 5).join(", ")}`);
      const after = await once(src, rep, backups);
      equal(after.code, 0, after.text);
      assertMirror(src, rep);
    }
  } finally {
    await cleanup();
  }
});

/** Points the link at `target` in one step, as `ln -sfn` does. */
function repoint(link: string, target: string): void {
  Deno.symlinkSync(target, `${link}.new`);
  Deno.renameSync(`${link}.new`, link);
}

/** Files under `root` (relative paths), any depth; entries vanishing meanwhile are left out. */
function filesUnder(root: string, rel = ""): string[] {
  const found: string[] = [];
  try {
    for (const e of Deno.readDirSync(rel === "" ? root : `${root}/${rel}`)) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isFile) found.push(path);
      else if (e.isDirectory) found.push(...filesUnder(root, path));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

Deno.test("--backup_dir re-pointed into the source between cycles: refused, the source untouched", async () => {
  const { dir, cleanup } = await tempRoot("backup-repoint");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    const outside = `${dir}/outside`;
    const link = `${dir}/backups`;
    put(src, "a.txt", "a", T);
    put(src, "b.txt", "b", T);
    Deno.mkdirSync(outside);
    Deno.symlinkSync(outside, link);
    const live = await spawnCli([
      "--source_path",
      src,
      "--replica_path",
      rep,
      "--backup_dir",
      link,
      "--sync_interval",
      "0.2",
    ]);
    try {
      await live.waitForLine(/cycle 1 done/);
      repoint(link, src);
      Deno.removeSync(`${src}/b.txt`);
      const before = snapshot(src);
      const from = live.lines.length;
      const refused = await live.waitForLine(/cycle \d+ refused/, from);
      await live.waitForLine(/cycle \d+ refused/, refused + 1);
      match(
        live.lines[refused],
        new RegExp(
          `ERROR +cycle \\d+ refused: --backup_dir '${link}' (is inside|holds) the source`,
        ),
      );
      assertSameSnapshot(before, snapshot(src), "source");
      // Touched nothing: b.txt is still in the replica, or was kept outside by a cycle that
      // started before the link changed.
      ok(
        Deno.statSync(`${rep}/b.txt`).isFile ||
          filesUnder(outside).some((f) => f.endsWith("/b.txt")),
      );
      repoint(link, outside);
      await waitFor(
        () => filesUnder(outside).some((f) => f.endsWith("/b.txt")),
        30_000,
        "b.txt kept",
      );
      assertSameSnapshot(before, snapshot(src), "source");
    } finally {
      live.kill();
      await live.status;
    }
  } finally {
    await cleanup();
  }
});

Deno.test("--backup_dir re-pointed into the source during cycles: moves go where the check saw it", async () => {
  const { dir, cleanup } = await tempRoot("backup-flip");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    const outside = `${dir}/outside`;
    const link = `${dir}/backups`;
    put(src, "keep.txt", "kept", T);
    Deno.mkdirSync(outside);
    Deno.symlinkSync(outside, link);
    const before = snapshot(src);
    const live = await spawnCli([
      "--source_path",
      src,
      "--replica_path",
      rep,
      "--backup_dir",
      link,
      "--sync_interval",
      "0.02",
    ]);
    let flipping = true;
    let flipper = Promise.resolve();
    try {
      await live.waitForLine(/cycle 1 done/);
      flipper = (async () => {
        // Flips the link between the outside folder and the source at varied moments.
        for (let n = 1; flipping; n++) {
          repoint(link, n % 2 ? src : outside);
          await new Promise((r) => setTimeout(r, Math.random() * 15));
        }
      })();
      const rounds = 12;
      for (let round = 0; round < rounds; round++) {
        // Made aside and moved in, so the running loop never meets a half-made file.
        const staging = `${dir}/staging${round}`;
        for (let f = 0; f < 30; f++) put(staging, `extra/f${f}.txt`, `${round}/${f}`, T);
        for (let f = 0; f < 10; f++) put(staging, `loose${round}-${f}.txt`, `${round}/${f}`, T);
        Deno.renameSync(`${staging}/extra`, `${rep}/extra${round}`);
        for (let f = 0; f < 10; f++) {
          Deno.renameSync(`${staging}/loose${round}-${f}.txt`, `${rep}/loose${round}-${f}.txt`);
        }
        await waitFor(
          () =>
            !filesUnder(rep).some((p) => p.startsWith(`extra${round}/`) || p.startsWith("loose")),
          30_000,
          `round ${round}: the extra files moved out of the replica`,
        );
      }
      flipping = false;
      await flipper;
      assertSameSnapshot(before, snapshot(src), "source");
      const kept = filesUnder(outside).map((p) => p.replace(/^[^/]+\//, "")).sort();
      equal(kept.length, rounds * 40, kept.slice(0, 5).join(", "));
    } finally {
      flipping = false;
      await flipper;
      live.kill();
      await live.status;
    }
  } finally {
    await cleanup();
  }
});

Deno.test({
  name: "non-root --backup_dir on the same filesystem: a 0555 folder is moved and keeps its mode",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("backup-ro");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      const backups = `${dir}/backups`;
      put(src, "keep.txt", "kept", T);
      put(src, "ro/f.txt", "read-only", T);
      put(src, "ro/inner/g.txt", "inner", T);
      Deno.chmodSync(`${src}/ro/f.txt`, 0o444);
      Deno.chmodSync(`${src}/ro/inner`, 0o555);
      Deno.chmodSync(`${src}/ro`, 0o555);
      Deno.mkdirSync(backups);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src, backups]);
      await sh(["chown", `${NOBODY}:${NOBODY}`, dir]);
      const args = ["--source_path", src, "--replica_path", rep, "--once"];
      const first = await runCli(args, { asNobody: true });
      equal(first.code, 0, first.text);
      await sh(["chmod", "-R", "u+w", `${src}/ro`]);
      Deno.removeSync(`${src}/ro`, { recursive: true });
      const run = await runCli([...args, "--backup_dir", backups], { asNobody: true });
      equal(run.code, 0, run.text);
      match(run.text, /INFO +backup dir +ro -> \S+\/ro/);
      assertMirror(src, rep);
      const [stamp] = stamps(backups);
      const b = `${backups}/${stamp}`;
      equal(Deno.statSync(`${b}/ro`).mode! & 0o777, 0o555);
      equal(Deno.statSync(`${b}/ro/inner`).mode! & 0o777, 0o555);
      equal(Deno.statSync(`${b}/ro/f.txt`).mode! & 0o777, 0o444);
      equal(read(`${b}/ro/f.txt`), "read-only");
      equal(read(`${b}/ro/inner/g.txt`), "inner");
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "non-root --backup_keep: read-only backups are pruned, and one failure does not stop the rest",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("backup-prune-ro");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      const backups = `${dir}/backups`;
      put(src, "keep.txt", "kept", T);
      // The first expired folder holds a folder of root's that uid 65534 can neither empty nor chmod.
      put(backups, "2020-01-01T000000Z/stuck/x.txt", "x", T);
      put(backups, "2020-01-01T000000Z/fine.txt", "fine", T);
      put(backups, "2020-01-02T000000Z/ro/f.txt", "read-only", T);
      put(backups, "2020-01-03T000000Z/plain.txt", "plain", T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src, backups]);
      await sh(["chown", "-R", "0:0", `${backups}/2020-01-01T000000Z/stuck`]);
      Deno.chmodSync(`${backups}/2020-01-02T000000Z/ro/f.txt`, 0o444);
      Deno.chmodSync(`${backups}/2020-01-02T000000Z/ro`, 0o555);
      Deno.chmodSync(`${backups}/2020-01-02T000000Z`, 0o555);
      await sh(["chown", `${NOBODY}:${NOBODY}`, dir]);
      const run = await runCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--once",
        "--backup_dir",
        backups,
        "--backup_keep",
        "30d",
      ], { asNobody: true });
      equal(run.code, 0, run.text);
      match(
        run.text,
        /WARN.* cannot remove backup folder '.*\/backups\/2020-01-01T000000Z': .*stuck.*permission denied/i,
      );
      match(run.text, /backup folder 2020-01-02T000000Z removed: older than --backup_keep/);
      match(run.text, /backup folder 2020-01-03T000000Z removed: older than --backup_keep/);
      const left = [...Deno.readDirSync(backups)].map((e) => e.name).sort();
      equal(left.join(","), "2020-01-01T000000Z", run.text);
      equal(
        [...Deno.readDirSync(`${backups}/2020-01-01T000000Z`)].map((e) => e.name).join(","),
        "stuck",
      );
    } finally {
      await cleanup();
    }
  },
});
