/**
 * Exact as a non-root user (uid 65534, the CLI as a subprocess): read-only
 * folders and files, mode-only changes with and without --checksum, sparse
 * files, names that are not valid UTF-8, set-uid files and owners, errors
 * at the roots in loop mode.
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
} from "../helpers.ts";
import { canDropPrivileges, canMount, NOBODY, tempRoot } from "./helpers.ts";

const PORTABLE = { portable: true };
const T = 1_600_000_000;
const asNobody = { asNobody: true };

function once(src: string, rep: string, ...extra: string[]) {
  return runCli(["--source_path", src, "--replica_path", rep, "--once", ...extra], asNobody);
}

Deno.test({
  name: "non-root: read-only folders and files are created, changed, emptied and removed",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("nonroot-ro");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "ro/one.txt", "one", T);
      put(src, "ro/inner/two.txt", "two", T);
      put(src, "gone/deep/x.txt", "x", T);
      put(src, "rofile.txt", "v1", T);
      Deno.chmodSync(`${src}/rofile.txt`, 0o444);
      for (const d of ["ro/inner", "ro", "gone/deep", "gone"]) Deno.chmodSync(`${src}/${d}`, 0o555);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
      const step = async (what: string, ...extra: string[]) => {
        const before = snapshot(src);
        const result = await once(src, rep, ...extra);
        equal(result.code, 0, `${what}:\n${result.text}`);
        assertMirror(src, rep);
        assertSameSnapshot(before, snapshot(src), `source (${what})`);
        return result;
      };
      await step("first copy");
      // Change inside read-only folders (as the owner: make them writable, change, restore).
      const edit = (fn: () => void) => {
        Deno.chmodSync(`${src}/ro`, 0o755);
        Deno.chmodSync(`${src}/ro/inner`, 0o755);
        fn();
        try {
          Deno.chmodSync(`${src}/ro/inner`, 0o555);
        } catch {
          // Removed by fn.
        }
        Deno.chmodSync(`${src}/ro`, 0o555);
      };
      edit(() => {
        put(src, "ro/one.txt", "one, changed", T + 1);
        put(src, "ro/new.txt", "new", T + 2);
        Deno.removeSync(`${src}/ro/inner/two.txt`);
      });
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      await step("changes inside read-only folders");
      Deno.chmodSync(`${src}/rofile.txt`, 0o644);
      put(src, "rofile.txt", "v2, longer", T + 3);
      Deno.chmodSync(`${src}/rofile.txt`, 0o444);
      await step("a read-only file replaced");
      edit(() => Deno.removeSync(`${src}/ro/inner`, { recursive: true }));
      await step("a read-only folder emptied and removed");
      await sh(["chmod", "-R", "u+w", `${src}/gone`]);
      Deno.removeSync(`${src}/gone`, { recursive: true });
      await step("a 0555 tree removed");
      // A read-only folder replaced by a file.
      Deno.chmodSync(`${src}/ro`, 0o755);
      Deno.removeSync(`${src}/ro`, { recursive: true });
      put(src, "ro", "now a file", T + 4);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      await step("a read-only folder replaced by a file");
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "non-root: mode-only changes of files and folders are applied and logged, with and without --checksum",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("nonroot-mode");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "run.sh", "#!/bin/sh\n", T);
      put(src, "d/a.txt", "a", T);
      Deno.utimeSync(`${src}/d`, T, T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
      equal((await once(src, rep)).code, 0);
      for (const extra of [[], ["--checksum"]]) {
        const mode = extra.length ? 0o750 : 0o700;
        Deno.chmodSync(`${src}/run.sh`, mode);
        Deno.chmodSync(`${src}/d`, mode);
        const dry = await once(src, rep, "--dry-run", ...extra);
        match(dry.text, /update +file +run\.sh: mode 0[0-7]{3}/);
        match(dry.text, /update +dir +d: mode 0[0-7]{3}/);
        const result = await once(src, rep, ...extra);
        equal(result.code, 0, result.text);
        match(result.text, /update +file +run\.sh: mode/);
        match(result.text, /update +dir +d: mode/);
        match(result.text, /0 copied, 2 updated/);
        assertMirror(src, rep);
      }
    } finally {
      await cleanup();
    }
  },
});

Deno.test("sparse files stay sparse in the replica (disk usage compared)", async () => {
  const { dir, cleanup } = await tempRoot("sparse");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    put(src, "small.txt", "x", T);
    const file = await Deno.open(`${src}/sparse.img`, { write: true, create: true });
    await file.truncate(64 * 1024 * 1024);
    await file.seek(30 * 1024 * 1024, Deno.SeekMode.Start);
    await file.write(new TextEncoder().encode("data in the middle"));
    file.close();
    Deno.utimeSync(`${src}/sparse.img`, T, T);
    const result = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
    equal(result.code, 0, result.text);
    assertMirror(src, rep);
    const blocks = Deno.statSync(`${rep}/sparse.img`).blocks!;
    ok(blocks * 512 < 1024 * 1024, `replica uses ${blocks * 512} bytes on disk`);
  } finally {
    await cleanup();
  }
});

// The portable engine's names are Deno's lossy decoding: two names that decode alike are twins.
// The native engine has names as bytes, so `a\xff` is an extra entry like any other (removed).
Deno.test("names that are not valid UTF-8 (portable engine): a replica twin is never removed or overwritten", async () => {
  const { dir, cleanup } = await tempRoot("names");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    put(src, "a\uFFFD", "valid name", T);
    put(src, "other.txt", "other", T);
    equal(
      (await runCli(["--source_path", src, "--replica_path", rep, "--once"], PORTABLE)).code,
      0,
    );
    await sh(["bash", "-c", `printf 'bad' > "$1"/$'a\\xff'`, "_", rep]);
    const before = snapshot(rep, { dirTimes: false });
    for (let run = 0; run < 3; run++) {
      const result = await runCli(
        ["--source_path", src, "--replica_path", rep, "--once"],
        PORTABLE,
      );
      ok(!/INFO +(remove|copy|update)/.test(result.text), `run ${run}:\n${result.text}`);
      match(result.text, /not valid UTF-8/);
      assertSameSnapshot(before, snapshot(rep, { dirTimes: false }), `replica (run ${run})`);
    }
  } finally {
    await cleanup();
  }
});

Deno.test({
  name: "set-uid: a copy is never set-uid with an owner the source did not have",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("setuid");
    try {
      const src = `${dir}/source`;
      put(src, "nobody-suid", "#!/bin/sh\n", T);
      put(src, "root-suid", "#!/bin/sh\n", T);
      put(src, "d/plain", "x", T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      await sh(["chown", "0:0", `${src}/root-suid`]);
      Deno.chmodSync(`${src}/nobody-suid`, 0o4755);
      Deno.chmodSync(`${src}/root-suid`, 0o6755);
      // As root: owners are kept, and so are the bits.
      const asRoot = `${dir}/replica-root`;
      equal((await runCli(["--source_path", src, "--replica_path", asRoot, "--once"])).code, 0);
      for (const name of ["nobody-suid", "root-suid", "d/plain", "d"]) {
        const a = Deno.statSync(`${src}/${name}`);
        const b = Deno.statSync(`${asRoot}/${name}`);
        equal(
          `${b.uid}:${b.gid}:${(b.mode! & 0o7777).toString(8)}`,
          `${a.uid}:${a.gid}:${(a.mode! & 0o7777).toString(8)}`,
          name,
        );
      }
      // As uid 65534: its own file keeps the bit; root's loses it.
      const asUser = `${dir}/replica-user`;
      Deno.mkdirSync(asUser);
      await sh(["chown", `${NOBODY}:${NOBODY}`, asUser]);
      const run = await once(src, asUser);
      equal(run.code, 0, run.text);
      equal(Deno.statSync(`${asUser}/nobody-suid`).mode! & 0o7777, 0o4755);
      equal(Deno.statSync(`${asUser}/root-suid`).mode! & 0o7777, 0o755);
      equal(Deno.statSync(`${asUser}/root-suid`).uid, NOBODY);
      const again = await once(src, asUser);
      ok(!/INFO +(copy|update)/.test(again.text), `a second run changes nothing:\n${again.text}`);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "bind mount: a source folder that is the replica is refused, nothing nests",
  ignore: !(await canMount()),
  async fn() {
    const { dir, cleanup } = await tempRoot("bind");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "a.txt", "a", T);
      equal((await runCli(["--source_path", src, "--replica_path", rep, "--once"])).code, 0);
      Deno.mkdirSync(`${src}/mnt`);
      await sh(["mount", "--bind", rep, `${src}/mnt`]);
      for (let run = 0; run < 2; run++) {
        const result = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
        equal(result.code, 1, result.text);
        match(result.text, /mnt: source directory is the source or replica itself.*bind mount/);
      }
      ok(!Deno.lstatSync(`${rep}`).isSymlink);
      let nested = false;
      try {
        Deno.lstatSync(`${rep}/mnt/mnt`);
        nested = true;
      } catch { /* expected */ }
      ok(!nested, "the replica nested into itself");
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "root errors in loop mode: one line naming the path, the cycle refused, the loop alive",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("rooterr");
    try {
      const src = `${dir}/source`;
      put(src, "a.txt", "a", T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`);
      Deno.mkdirSync(`${dir}/locked`, { mode: 0o755 }); // root's: not writable by 65534
      Deno.mkdirSync(`${dir}/src0311`);
      put(`${dir}/src0311`, "x.txt", "x", T);
      Deno.chmodSync(`${dir}/src0311`, 0o311);
      const shm = (await sh(["mktemp", "-d", "-p", "/dev/shm"])).out.trim();
      await sh(["sh", "-c", `echo s > ${shm}/s.txt && chmod -R a+rX ${shm}`]);
      const cases: [string, string[], RegExp][] = [
        ["dangling replica link", [src, `${dir}/dangling`], /dangling.*symlink to .*nowhere/],
        [
          "replica's parent not writable",
          [src, `${dir}/locked/replica`],
          /locked\/replica.*permission denied/,
        ],
        ["source mode 0311", [`${dir}/src0311`, `${dir}/r1`], /src0311.*permission denied/],
        ["source under /dev/shm", [shm, `${dir}/r2`], /dev\/shm.*(Deno|permission)/],
      ];
      try {
        for (const [what, [s, r], pattern] of cases) {
          const live = await spawnCli(
            ["--source_path", s, "--replica_path", r, "--sync_interval", "0.2"],
            asNobody,
          );
          const first = await live.waitForLine(/cycle 1 refused/);
          await live.waitForLine(/cycle 2 refused/, first + 1);
          live.kill("SIGTERM");
          const status = await live.status;
          equal(status.code, 0, `${what}:\n${live.lines.join("\n")}`);
          match(live.lines[first], pattern, what);
          ok(!live.lines.some((l) => /^\s+at /.test(l) || /unexpected error/.test(l)), what);
        }
      } finally {
        await sh(["rm", "-rf", shm]);
      }
    } finally {
      await cleanup();
    }
  },
});

Deno.test("a file swapped for a FIFO between scan and copy never hangs the run", async () => {
  const { dir, cleanup } = await tempRoot("fifo");
  try {
    const src = `${dir}/source`;
    for (let round = 0; round < 8; round++) {
      const rep = `${dir}/replica${round}`;
      const names: string[] = [];
      for (let d = 0; d < 20; d++) {
        for (let f = 0; f < 30; f++) put(src, `d${d}/f${f}.txt`, "small", T);
        put(src, `d${d}/big.bin`, new Uint8Array(300 * 1024), T);
        names.push(`d${d}/f${round}.txt`, `d${d}/big.bin`);
      }
      const run = runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      await new Promise((r) => setTimeout(r, Math.random() * 200));
      for (const name of names) {
        Deno.removeSync(`${src}/${name}`);
        await sh(["mkfifo", `${src}/${name}`]);
      }
      const timeout = new Promise<string>((r) => setTimeout(() => r("hung"), 60_000));
      const outcome = await Promise.race([run.then((x) => x), timeout]);
      ok(outcome !== "hung", `round ${round}: the run hung`);
      for (const name of names) Deno.removeSync(`${src}/${name}`);
    }
  } finally {
    await cleanup();
  }
});

Deno.test({
  name: "non-root: a replica folder of ours that we may not enter or read (mode 000) is repaired",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("nonroot-000");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "d/a.txt", "a", T);
      put(src, "d/e/b.txt", "b", T);
      put(src, "w/c.txt", "c", T);
      Deno.utimeSync(`${src}/d/e`, T, T);
      Deno.utimeSync(`${src}/d`, T, T);
      Deno.utimeSync(`${src}/w`, T, T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
      equal((await once(src, rep)).code, 0);
      put(src, "d/a.txt", "a, changed", T + 1);
      Deno.utimeSync(`${src}/d`, T, T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      Deno.chmodSync(`${rep}/d`, 0o000); // left so by someone, or by an earlier source
      Deno.chmodSync(`${rep}/w`, 0o300); // may enter and write, not list
      let result = await once(src, rep);
      if (result.code !== 0) result = await once(src, rep);
      equal(result.code, 0, result.text);
      assertMirror(src, rep);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "non-root: --checksum repairs a replica file of ours that it may not read (mode 000)",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("nonroot-checksum-000");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "a.txt", "a", T);
      put(src, "d/b.txt", "b", T);
      Deno.utimeSync(`${src}/d`, T, T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
      equal((await once(src, rep, "--checksum")).code, 0);
      Deno.chmodSync(`${rep}/a.txt`, 0o000);
      Deno.chmodSync(`${rep}/d/b.txt`, 0o000);
      const repair = await once(src, rep, "--checksum");
      equal(repair.code, 0, repair.text);
      for (const name of ["a.txt", "d/b.txt"]) {
        const lines = repair.lines.filter((l) => l.includes(` ${name}`));
        equal(lines.length, 1, repair.text);
        match(lines[0], /INFO +update +file .*: the replica file could not be read to compare it/);
      }
      assertMirror(src, rep);
      const again = await once(src, rep, "--checksum");
      equal(again.code, 0, again.text);
      match(again.text, /0 copied, 0 updated, 0 removed, 0 skipped, 0 errors/);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "non-root: a replica folder owned by root (0777): its own mode and mtime are left, said once; the loop's cycles succeed",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("nonroot-rootowned");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      const health = `${dir}/health/health.json`;
      put(src, "a.txt", "a", T);
      put(src, "d/b.txt", "b", T);
      Deno.utimeSync(`${src}/d`, T, T);
      Deno.utimeSync(src, T, T);
      Deno.mkdirSync(`${dir}/health`);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src, `${dir}/health`]);
      Deno.mkdirSync(rep);
      Deno.chmodSync(rep, 0o777); // root's, writable by all: as many set up a shared folder
      const args = ["--source_path", src, "--replica_path", rep, "--health_file", health];
      // An idle cycle's summary is at debug (quiet cycles).
      const loop = [...args, "--sync_interval", "0.2", "--log_level", "debug"];
      const live = await spawnCli(loop, asNobody);
      const first = await live.waitForLine(/cycle 1 (done|failed)/);
      await live.waitForLine(/cycle 2 (done|failed)/, first + 1);
      live.kill("SIGTERM");
      const status = await live.status;
      const text = live.lines.join("\n");
      equal(status.code, 0, text);
      equal(live.lines.filter((l) => /ERROR/.test(l)).length, 0, text);
      const warnings = live.lines.filter((l) => /WARN +skip +dir +\.: mode and mtime left/.test(l));
      equal(warnings.length, 1, text);
      match(warnings[0], /belongs to another user \(chown it to the user running foldersync/);
      match(text, /cycle 2 done in .*0 errors/);
      const want = snapshot(src);
      want.delete("");
      const got = snapshot(rep);
      equal(got.get("")?.mode, 0o777, "the root's mode is left alone");
      got.delete("");
      assertSameSnapshot(want, got, "replica below its root");
      equal((await runCli(["--health", "--health_file", health], asNobody)).code, 0, "healthy");

      // Only the root: a folder below it that is not ours still fails.
      put(src, "e/c.txt", "c", T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      Deno.mkdirSync(`${rep}/e`);
      Deno.chmodSync(`${rep}/e`, 0o777);
      const sub = await once(src, rep);
      equal(sub.code, 1, sub.text);
      match(sub.text, /ERROR +error +dir +e: cannot set the directory's mode and mtime/);
    } finally {
      await cleanup();
    }
  },
});
