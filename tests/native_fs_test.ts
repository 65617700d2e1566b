/** The native engine (libc through FFI) on real temporary folders: each method, names as bytes, and swaps. */
import type { BackupTarget } from "../lib/engine/backup.ts";
import { Owners } from "../lib/engine/owner.ts";
import assert from "node:assert/strict";
import { NativeFileSystem } from "../lib/engine/fs/native/native_fs.ts";
import { decodeName, encodeName, escapeName } from "../lib/engine/fs/native/names.ts";
import type { At, Folder, Side } from "../lib/engine/fs/types.ts";
import type { Entry } from "../lib/engine/types.ts";
import { toEntry } from "../lib/engine/list_dir.ts";
import { ChangedError } from "../lib/engine/recheck.ts";
import { NotARegularFileError } from "../lib/engine/errors.ts";
import { AnchorChangedError } from "../lib/engine/link_atomic.ts";
import { ROOT, snap, tempDirs, writeTree } from "./helpers.ts";
import { Speed } from "../lib/speed/speed.ts";
import { syncTree } from "../lib/engine/sync_tree.ts";
import { copyAt } from "../lib/engine/fs/native/copy.ts";
import { fstatx } from "../lib/engine/fs/native/libc.ts";
import { Prefetcher } from "../lib/speed/prefetch.ts";

const linux = Deno.build.os === "linux";

/** A source, a replica, a backup folder and an engine on them. */
function setup() {
  const t = tempDirs();
  Deno.mkdirSync(t.src);
  Deno.mkdirSync(t.dst);
  Deno.mkdirSync(`${t.dir}/bak`);
  const fs = new NativeFileSystem({ source: t.src, replica: t.dst, backup: `${t.dir}/bak` });
  const roots: Record<Side, string> = { source: t.src, replica: t.dst, backup: `${t.dir}/bak` };
  /** A folder as the walk would hold it, seen by Deno's own lstat (so `dev` must agree). */
  const folder = (side: Side, rel = ""): Folder => {
    const abs = rel === "" ? roots[side] : `${roots[side]}/${rel}`;
    const info = rel === "" ? Deno.statSync(abs) : Deno.lstatSync(abs);
    return { side, rel, abs, seen: toEntry(rel.split("/").pop()!, info), root: rel === "" };
  };
  const at = (dir: Folder, name: string): At => {
    let seen: Entry | undefined;
    try {
      seen = toEntry(name, Deno.lstatSync(`${dir.abs}/${name}`));
    } catch {
      seen = undefined;
    }
    return { dir, name, seen };
  };
  return {
    t,
    fs,
    folder,
    at,
    [Symbol.dispose]() {
      fs.close();
      t[Symbol.dispose]();
    },
  };
}

function run(cmd: string, ...args: string[]): Uint8Array {
  const out = new Deno.Command(cmd, { args }).outputSync();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

function text(cmd: string, ...args: string[]): string {
  return new TextDecoder().decode(run(cmd, ...args)).trim();
}

/** Copies a source file into a replica folder keeping mode and times, the way apply asks. */
function copy(fs: NativeFileSystem, from: At, to: At, backup?: BackupTarget) {
  const entry = from.seen as Entry;
  return fs.copy({
    from: { dir: from.dir, name: from.name, entry },
    to,
    owners: new Owners(),
    backup,
  });
}

/** A backup target: `name` in the folder `dir`, nothing there yet. */
function backupAt(dir: string, name: string): BackupTarget {
  const info = Deno.statSync(dir);
  return { path: `${dir}/${name}`, dir: { dev: info.dev, ino: info.ino! } };
}

/** Another file at `path` (made before the old one goes, so never with its inode). */
function replaceFile(path: string, content: string): void {
  Deno.writeTextFileSync(`${path}.new`, content);
  Deno.renameSync(`${path}.new`, path);
}

function temps(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    n.startsWith(".foldersync-tmp-")
  );
}

Deno.test("names: bytes and text round-trip exactly (surrogateescape)", () => {
  const cases: [string, number[], string][] = [
    ["ascii", [0x61, 0x62], "ab"],
    ["UTF-8", [0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80], "é😀"],
    ["a lone 0xff", [0x61, 0xff], "a\udcff"],
    ["a cut sequence", [0xc3], "\udcc3"],
    ["an overlong slash", [0xc0, 0xaf], "\udcc0\udcaf"],
    ["an encoded surrogate", [0xed, 0xb2, 0x80], "\udced\udcb2\udc80"],
    ["Latin-1 text", [0x63, 0x61, 0x66, 0xe9], "caf\udce9"],
    ["a leading byte order mark", [0xef, 0xbb, 0xbf, 0x2e, 0x2e], "\ufeff.."],
  ];
  for (const [what, bytes, name] of cases) {
    assert.equal(decodeName(new Uint8Array(bytes)), name, what);
    assert.deepEqual([...encodeName(name)], [...bytes, 0], what);
  }
  assert.equal(escapeName("a\udcff"), "a\\xff");
  assert.throws(() => encodeName("a\ud800"), TypeError);
});

Deno.test({
  name: "native: list matches Deno's lstat (dev, ino, times, mode), names links' targets, sorts",
  ignore: !linux,
  fn() {
    using s = setup();
    Deno.writeTextFileSync(`${s.t.src}/b`, "hello");
    Deno.mkdirSync(`${s.t.src}/a`, { mode: 0o750 });
    Deno.symlinkSync("b", `${s.t.src}/c`);
    // Deno's view first: reading a link's target sets its atime.
    const wants = ["a", "b", "c"].map((name) =>
      toEntry(name, Deno.lstatSync(`${s.t.src}/${name}`))
    );
    const { entries, problems } = s.fs.list(s.folder("source"));
    assert.deepEqual(problems, []);
    assert.deepEqual(entries.map((e) => e.name), ["a", "b", "c"]);
    entries.forEach((e, i) => {
      const { mtimeNs: _m, atimeNs: _a, target: _t, ...got } = e;
      assert.deepEqual(got, wants[i], e.name);
    });
    assert.equal(entries[2].target, "b");
  },
});

Deno.test({
  name: "native: times before 1970 and within a ms list exact in ns, and in ms rounded down",
  ignore: !linux,
  fn() {
    using s = setup();
    // Deno's utime keeps whole ms only: GNU touch sets the nanoseconds.
    const cases: [string, string, bigint, number][] = [
      ["after", "@1700000000.9999996", 1_700_000_000_999_999_600n, 1_700_000_000_999],
      ["before", "@-1.5000004", -1_500_000_400n, -1501],
    ];
    for (const [name, time] of cases) {
      Deno.writeTextFileSync(`${s.t.src}/${name}`, "x");
      const touch = new Deno.Command("touch", { args: ["-d", time, `${s.t.src}/${name}`] });
      assert.equal(touch.outputSync().code, 0);
    }
    const { entries } = s.fs.list(s.folder("source"));
    assert.deepEqual(entries.map((e) => e.name), ["after", "before"]);
    entries.forEach((e, i) => {
      const [name, , ns, ms] = cases[i];
      assert.equal(e.mtimeNs, ns, name);
      assert.equal(e.mtimeMs, ms, name);
    });
  },
});

Deno.test({
  name: "native: a name that is not UTF-8 is made, listed, copied and removed byte-exact",
  ignore: !linux,
  async fn() {
    using s = setup();
    const src = s.folder("source"), dst = s.folder("replica");
    Deno.writeTextFileSync(`${s.t.src}/plain`, "data");
    const dir = s.fs.mkdir({ dir: src, name: "d\udcff", seen: undefined });
    const from = s.at(src, "plain");
    await copy(s.fs, from, { dir: dst, name: "f\udcfe", seen: undefined });
    assert.deepEqual(s.fs.list(src).entries.map((e) => e.name), ["d\udcff", "plain"]);
    assert.deepEqual(s.fs.list(dst).entries.map((e) => e.name), ["f\udcfe"]);
    // The bytes on disk, as ls prints them to a pipe: 0xff and 0xfe themselves.
    assert.deepEqual([...run("ls", s.t.src)], [
      ...new TextEncoder().encode("d"),
      0xff,
      0x0a,
      ...new TextEncoder().encode("plain\n"),
    ]);
    assert.deepEqual([...run("ls", s.t.dst)], [0x66, 0xfe, 0x0a]);
    s.fs.remove({ dir: src, name: "d\udcff", seen: dir });
    assert.deepEqual([...run("ls", s.t.src)], [...new TextEncoder().encode("plain\n")]);
  },
});

Deno.test({
  name: "native: a copy keeps the nanosecond mtime, the mode, and a sparse file's holes",
  ignore: !linux,
  async fn() {
    using s = setup();
    const src = s.folder("source"), dst = s.folder("replica");
    Deno.writeTextFileSync(`${s.t.src}/f`, "content");
    Deno.chmodSync(`${s.t.src}/f`, 0o640);
    run("touch", "-m", "-d", "2021-02-03 04:05:06.123456789", `${s.t.src}/f`);
    using sparse = Deno.openSync(`${s.t.src}/sparse`, { write: true, create: true });
    sparse.seekSync(8 << 20, Deno.SeekMode.Start);
    sparse.writeSync(new TextEncoder().encode("tail"));
    sparse.seekSync(1 << 20, Deno.SeekMode.Start);
    sparse.writeSync(new TextEncoder().encode("middle"));
    sparse.truncateSync(12 << 20); // and a hole at the end
    const listed = s.fs.list(src).entries;
    for (const entry of listed) {
      await copy(s.fs, { dir: src, name: entry.name, seen: entry }, {
        dir: dst,
        name: entry.name,
        seen: undefined,
      });
    }
    assert.equal(
      text("stat", "-c", "%y %a", `${s.t.dst}/f`).replace(/ [+-]\d{4}/, ""),
      "2021-02-03 04:05:06.123456789 640",
    );
    const made = Deno.lstatSync(`${s.t.dst}/sparse`);
    assert.equal(made.size, 12 << 20);
    assert.ok(made.blocks! * 512 < 1 << 20, `holes filled: ${made.blocks} blocks`);
    assert.deepEqual(
      Deno.readFileSync(`${s.t.dst}/sparse`),
      Deno.readFileSync(`${s.t.src}/sparse`),
    );
    assert.deepEqual(temps(s.t.dst), []);
    const a = s.at(src, "sparse"), b = s.at(dst, "sparse");
    assert.equal(await s.fs.sameContent(a, b), true);
    Deno.writeTextFileSync(`${s.t.dst}/f`, "contenT");
    assert.equal(await s.fs.sameContent(s.at(src, "f"), s.at(dst, "f")), false);
  },
});

Deno.test({
  name: "native: a big copy (the blocking pool) replaces a file, the backup hook runs first",
  ignore: !linux,
  async fn() {
    using s = setup();
    const src = s.folder("source"), dst = s.folder("replica");
    const data = crypto.getRandomValues(new Uint8Array(60_000));
    Deno.writeFileSync(
      `${s.t.src}/big`,
      new Uint8Array(1 << 20).map((_, i) => data[i % data.length]),
    );
    Deno.writeTextFileSync(`${s.t.dst}/big`, "old");
    Deno.mkdirSync(`${s.t.dir}/kept`);
    const made = await copy(
      s.fs,
      s.at(src, "big"),
      s.at(dst, "big"),
      backupAt(`${s.t.dir}/kept`, "big"),
    );
    assert.equal(Deno.readTextFileSync(`${s.t.dir}/kept/big`), "old");
    assert.deepEqual(Deno.readFileSync(`${s.t.dst}/big`), Deno.readFileSync(`${s.t.src}/big`));
    assert.equal(made.ino, Deno.lstatSync(`${s.t.dst}/big`).ino);
    // A target that changed meanwhile: nothing replaced, no temporary file left.
    const stale = s.at(dst, "big");
    replaceFile(`${s.t.dst}/big`, "someone else's");
    await assert.rejects(copy(s.fs, s.at(src, "big"), stale), ChangedError);
    assert.equal(Deno.readTextFileSync(`${s.t.dst}/big`), "someone else's");
    assert.deepEqual(temps(s.t.dst), []);
  },
});

Deno.test({
  name: "native: a FIFO swapped in for a source file is not opened for the copy (no hang)",
  ignore: !linux,
  async fn() {
    using s = setup();
    const src = s.folder("source"), dst = s.folder("replica");
    Deno.writeTextFileSync(`${s.t.src}/f`, "x");
    const seen = s.at(src, "f");
    Deno.removeSync(`${s.t.src}/f`);
    run("mkfifo", `${s.t.src}/f`);
    await assert.rejects(
      copy(s.fs, seen, { dir: dst, name: "f", seen: undefined }),
      NotARegularFileError,
    );
    assert.deepEqual([...Deno.readDirSync(s.t.dst)], []);
  },
});

Deno.test({
  name:
    "native: setAttrs sets a link's own mtime (ns), a folder's and a file's mode, owner and times",
  ignore: !linux,
  fn() {
    using s = setup();
    const dst = s.folder("replica");
    Deno.writeTextFileSync(`${s.t.dst}/target`, "t");
    const targetMtime = text("stat", "-c", "%y", `${s.t.dst}/target`);
    s.fs.symlink({ dir: dst, name: "link", seen: undefined }, "target");
    assert.equal(Deno.readLinkSync(`${s.t.dst}/link`), "target");
    const times = { atimeMs: 0, mtimeMs: 0, atimeNs: 5n, mtimeNs: 1_600_000_000_987_654_321n };
    s.fs.setAttrs(s.at(dst, "link"), { times });
    assert.equal(text("stat", "-c", "%.9Y", `${s.t.dst}/link`), "1600000000.987654321");
    assert.equal(text("stat", "-c", "%y", `${s.t.dst}/target`), targetMtime);
    const { uid, gid } = Deno.lstatSync(`${s.t.dst}/target`);
    const me = { uid: uid!, gid: gid! };
    s.fs.setAttrs(s.at(dst, "target"), {
      owner: me,
      mode: 0o604,
      times: { atimeMs: 1000, mtimeMs: 2500 },
    });
    assert.equal(text("stat", "-c", "%a %.3Y", `${s.t.dst}/target`), "604 2.500");
    Deno.mkdirSync(`${s.t.dst}/d`);
    const d = s.folder("replica", "d");
    s.fs.setAttrs({ dir: d, name: ".", seen: d.seen }, {
      mode: 0o711,
      times: { atimeMs: 0, mtimeMs: 3000 },
    });
    assert.equal(text("stat", "-c", "%a %Y", `${s.t.dst}/d`), "711 3");
    // A file replaced since it was seen: nothing set.
    const stale = s.at(dst, "target");
    replaceFile(`${s.t.dst}/target`, "new");
    Deno.chmodSync(`${s.t.dst}/target`, 0o600);
    assert.throws(() => s.fs.setAttrs(stale, { mode: 0o777 }), ChangedError);
    assert.equal(text("stat", "-c", "%a", `${s.t.dst}/target`), "600");
  },
});

Deno.test({
  name: "native: check, mkdir, remove, rename, symlink and link, each against what was seen",
  ignore: !linux,
  fn() {
    using s = setup();
    const dst = s.folder("replica"), bak = s.folder("backup");
    Deno.writeTextFileSync(`${s.t.dst}/f`, "f");
    const f = s.at(dst, "f");
    assert.equal(s.fs.check(f)?.ino, f.seen?.ino);
    assert.equal(s.fs.check({ dir: dst, name: "none", seen: undefined }), undefined);
    assert.throws(() => s.fs.check({ dir: dst, name: "f", seen: undefined }), /a file appeared/);
    assert.throws(() => s.fs.check({ dir: dst, name: "none", seen: f.seen }), /it is gone/);
    const made = s.fs.mkdir({ dir: dst, name: "d", seen: undefined });
    assert.equal(made.kind, "dir");
    assert.equal(Deno.lstatSync(`${s.t.dst}/d`).mode! & 0o777, 0o700);
    assert.throws(() => s.fs.mkdir({ dir: dst, name: "d", seen: undefined }), ChangedError);
    assert.throws(() => s.fs.remove({ dir: dst, name: "d", seen: f.seen }), ChangedError);
    s.fs.remove({ dir: dst, name: "d", seen: made });
    assert.throws(() => Deno.lstatSync(`${s.t.dst}/d`), Deno.errors.NotFound);
    // rename: to a free name only.
    Deno.writeTextFileSync(`${s.t.dir}/bak/taken`, "b");
    assert.throws(() => s.fs.rename(f, { dir: bak, name: "taken", seen: undefined }), ChangedError);
    s.fs.rename(f, { dir: bak, name: "f", seen: undefined });
    assert.equal(Deno.readTextFileSync(`${s.t.dir}/bak/f`), "f");
    // symlink: replaces what was seen, after the hook.
    Deno.writeTextFileSync(`${s.t.dst}/l`, "old");
    Deno.mkdirSync(`${s.t.dir}/kept`);
    s.fs.symlink(s.at(dst, "l"), "new-target", backupAt(`${s.t.dir}/kept`, "l"));
    assert.equal(Deno.readTextFileSync(`${s.t.dir}/kept/l`), "old");
    assert.equal(Deno.readLinkSync(`${s.t.dst}/l`), "new-target");
    assert.throws(() => s.fs.symlink({ dir: dst, name: "l", seen: undefined }, "x"), ChangedError);
    // link: a hard link of the anchor seen, and nothing when the anchor changed.
    Deno.writeTextFileSync(`${s.t.dst}/a`, "anchor");
    const anchor = s.at(dst, "a");
    const linked = s.fs.link(anchor, { dir: dst, name: "b", seen: undefined });
    assert.equal(Deno.lstatSync(`${s.t.dst}/b`).ino, anchor.seen!.ino);
    assert.equal(linked.ino, anchor.seen!.ino);
    replaceFile(`${s.t.dst}/a`, "other");
    assert.throws(
      () => s.fs.link(anchor, { dir: dst, name: "c", seen: undefined }),
      AnchorChangedError,
    );
    assert.deepEqual(temps(s.t.dst), []);
  },
});

/** Every method on a folder (or a name in it), for the safety cases. */
function everyMethod(
  s: ReturnType<typeof setup>,
  dir: Folder,
  src: Folder,
): [string, () => unknown][] {
  const file = s.at(src, "f");
  return [
    ["list", () => s.fs.list(dir)],
    ["check", () => s.fs.check({ dir, name: "x", seen: undefined })],
    ["check .", () => s.fs.check({ dir, name: ".", seen: dir.seen })],
    ["mkdir", () => s.fs.mkdir({ dir, name: "new", seen: undefined })],
    ["setAttrs .", () => s.fs.setAttrs({ dir, name: ".", seen: dir.seen }, { mode: 0o777 })],
    ["setAttrs", () => s.fs.setAttrs({ dir, name: "x", seen: file.seen }, { mode: 0o777 })],
    ["remove", () => s.fs.remove({ dir, name: "x", seen: file.seen })],
    [
      "rename",
      () =>
        s.fs.rename({ dir, name: "x", seen: file.seen }, { dir: src, name: "y", seen: undefined }),
    ],
    ["symlink", () => s.fs.symlink({ dir, name: "new", seen: undefined }, "t")],
    ["link", () => s.fs.link(file, { dir, name: "new", seen: undefined })],
  ];
}

function snapshot(dir: string): string {
  return text("find", dir, "-printf", "%p %y %m %s %T@ %i\\n");
}

Deno.test({
  name:
    "native: a replica folder swapped (a link to an outside folder, another folder): every method fails, the outside is untouched",
  ignore: !linux,
  async fn() {
    for (
      const [depth, swap] of [
        ["sub", "link"],
        ["sub/deeper", "link"],
        ["sub", "folder"],
        ["sub", "moved"],
      ]
    ) {
      using s = setup();
      const src = s.folder("source");
      Deno.writeTextFileSync(`${s.t.src}/f`, "f");
      Deno.mkdirSync(`${s.t.dst}/${depth}`, { recursive: true });
      const dir = s.folder("replica", depth);
      const canary = `${s.t.dir}/canary`;
      Deno.mkdirSync(`${canary}/deeper`, { recursive: true });
      Deno.writeTextFileSync(`${canary}/x`, "keep");
      Deno.writeTextFileSync(`${canary}/deeper/x`, "keep");
      // The folder at the top of the path is swapped, after the scan saw it.
      Deno.renameSync(`${s.t.dst}/sub`, `${s.t.dir}/away`);
      // The very folder seen, moved out and linked to: its inode matches, the link is the catch.
      if (swap === "moved") Deno.mkdirSync(`${s.t.dir}/away/deeper`, { recursive: true });
      if (swap === "moved") Deno.removeSync(canary, { recursive: true });
      if (swap === "moved") Deno.renameSync(`${s.t.dir}/away`, canary);
      const before = snapshot(canary);
      if (swap !== "folder") Deno.symlinkSync(canary, `${s.t.dst}/sub`);
      else Deno.mkdirSync(`${s.t.dst}/sub`); // another folder, no link: caught by its inode
      for (const [method, call] of everyMethod(s, dir, src)) {
        assert.throws(call, ChangedError, `${depth} ${swap}: ${method}`);
      }
      await assert.rejects(
        copy(s.fs, s.at(src, "f"), { dir, name: "f", seen: undefined }),
        ChangedError,
      );
      await assert.rejects(
        s.fs.sameContent(s.at(src, "f"), { dir, name: "x", seen: s.at(src, "f").seen }),
        ChangedError,
      );
      assert.equal(snapshot(canary), before, `${depth} ${swap}`);
    }
  },
});

Deno.test({
  name:
    "native: a folder held before the swap stays the folder held: the link's target is untouched",
  ignore: !linux,
  async fn() {
    using s = setup();
    const src = s.folder("source");
    Deno.writeTextFileSync(`${s.t.src}/f`, "f");
    Deno.mkdirSync(`${s.t.dst}/sub`);
    const dir = s.folder("replica", "sub");
    s.fs.list(dir); // holds it
    const canary = `${s.t.dir}/canary`;
    Deno.mkdirSync(canary);
    const before = snapshot(canary);
    Deno.renameSync(`${s.t.dst}/sub`, `${s.t.dst}/moved`);
    Deno.symlinkSync(canary, `${s.t.dst}/sub`);
    s.fs.mkdir({ dir, name: "made", seen: undefined });
    await copy(s.fs, s.at(src, "f"), { dir, name: "f", seen: undefined });
    assert.deepEqual([...Deno.readDirSync(`${s.t.dst}/moved`)].map((e) => e.name).sort(), [
      "f",
      "made",
    ]);
    assert.equal(snapshot(canary), before);
  },
});

Deno.test({
  name: "native: a copy handed off keeps its folder handles open through eviction and close(), " +
    "until its release",
  ignore: !linux,
  fn() {
    using s = setup();
    for (let i = 0; i < 40; i++) Deno.mkdirSync(`${s.t.dst}/d${i}`);
    Deno.mkdirSync(`${s.t.src}/in`);
    Deno.mkdirSync(`${s.t.dst}/out`);
    writeFiles(`${s.t.src}/in`, { a: "alpha", b: "beta" });
    const src = s.folder("source", "in"), dst = s.folder("replica", "out");
    const inflight = new Set<string>();
    const handOff = (name: string) => {
      const entry = s.at(src, name).seen as Entry;
      const to = { dir: dst, name, seen: undefined };
      const handoff = s.fs.handOff({
        from: { dir: src, name, entry },
        to,
        owners: new Owners(),
        inflight,
      });
      assert.ok(handoff && "native" in handoff.job);
      return { ...handoff, job: handoff.job };
    };
    const a = handOff("a"), b = handOff("b");
    assert.equal(inflight.size, 2);
    const leadsTo = (fd: number, dir: Folder) => {
      try {
        const st = fstatx(fd, dir.abs);
        return st.ino === dir.seen.ino && st.dev === dir.seen.dev;
      } catch {
        return false; // EBADF: closed
      }
    };
    const open = (job: typeof a.job) => leadsTo(job.from.fd, src) && leadsTo(job.to.fd, dst);
    // Forty other folders through the cache of 32 evict both handles, then the engine closes.
    for (let i = 0; i < 40; i++) s.fs.list(s.folder("replica", `d${i}`));
    s.fs.close();
    assert.ok(open(a.job) && open(b.job), "pinned handles still lead to their folders");
    copyAt(a.job, new Owners());
    a.release();
    assert.ok(open(b.job), "one job still holds them");
    copyAt(b.job, new Owners());
    b.release();
    assert.ok(!open(b.job), "closed by the last release");
    assert.equal(inflight.size, 0);
    assert.equal(Deno.readTextFileSync(`${s.t.dst}/out/a`), "alpha");
    assert.equal(Deno.readTextFileSync(`${s.t.dst}/out/b`), "beta");
  },
});

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) Deno.writeTextFileSync(`${dir}/${name}`, text);
}

Deno.test({
  name: "native prefetch: the worker lists its starts by handle as the engine would (byte " +
    "names, nanosecond mtimes); a folder other than the one seen is left to the caller",
  ignore: !linux,
  async fn() {
    using s = setup();
    const { t, fs, folder } = s;
    Deno.mkdirSync(`${t.src}/a`);
    Deno.mkdirSync(`${t.src}/b/c`, { recursive: true });
    Deno.writeTextFileSync(`${t.src}/b/f`, "x");
    const odd = `${t.src}/b/` + "caf\udce9"; // the byte 0xe9 alone: not UTF-8
    Deno.writeFileSync(`${t.dir}/name`, encodeName(odd).subarray(0, -1));
    run("sh", "-c", `touch -d '2024-05-06 07:08:09.123456789' "$(cat '${t.dir}/name')"`);
    const b = folder("source", "b");
    using prefetcher = new Prefetcher();
    const lister = prefetcher.source(t.src, [["b", b.seen]], [], 64, undefined, true)!;
    try {
      const strip = (es: Entry[]) => es.map(({ atimeMs: _, atimeNs: __, ...rest }) => rest);
      const got = await lister.list("b", b.seen);
      assert.deepEqual(strip(got!.entries), strip(fs.list(b).entries));
      const made = got!.entries.find((e) => e.name === "caf\udce9")!;
      assert.equal(made.mtimeNs! % 1_000_000_000n, 123456789n);
      const c = fs.lstat(b, "c")!;
      const other = { ...c, ino: c.ino + 1 }; // what the caller saw is not what the worker opened
      assert.equal(await lister.list("b/c", other), undefined);
      assert.equal(await lister.list("a", folder("source", "a").seen), undefined, "not a start");
    } finally {
      lister.close();
    }
  },
});

Deno.test({
  name: "native prefetch: a walk that has met `after` entries lists the start folder's " +
    "subfolders it has not reached on the worker, and the replica is the source",
  ignore: !linux,
  async fn() {
    using t = tempDirs();
    const tree: Record<string, Record<string, string>> = {};
    for (let d = 0; d < 8; d++) {
      tree[`g${d}`] = Object.fromEntries([...Array(20).keys()].map((f) => [`f${f}`, `${d}.${f}`]));
    }
    writeTree(t.src, tree);
    const asked: string[][] = [];
    let served = 0;
    /** Counts what the walk asks of the worker, and the listings it got from it. */
    class Counting extends Speed {
      override lister(...args: Parameters<Speed["lister"]>) {
        asked.push(args[1].map(([rel]) => rel));
        const lister = super.lister(...args);
        return lister && {
          list: async (rel: string, seen?: Entry) => {
            const listing = await lister.list(rel, seen);
            if (listing) served++;
            return listing;
          },
          close: () => lister.close(),
        };
      }
    }
    using speed = new Counting({ prefetch: true, copyWorkers: false });
    const sync = () =>
      syncTree({
        source: t.src,
        replica: t.dst,
        engine: "native",
        speed,
        prefetch: { exclude: [], after: 50 },
      }).finally(() => Deno.chdir(ROOT));
    const first = await sync();
    assert.equal(first.copy, 160);
    const again = await sync();
    assert.equal(again.copy + again.update + again.remove + again.error, 0);
    assert.deepEqual(snap(t.dst), snap(t.src));
    // 8 + 3 × 20 entries met as the walk enters g3: the worker lists g4 to g7, each cycle.
    assert.deepEqual(asked, [["g4", "g5", "g6", "g7"], ["g4", "g5", "g6", "g7"]]);
    assert.equal(served, 8, "each of those listings came from the worker");
  },
});
