/**
 * Others write to the replica while foldersync runs: a racer swaps replica
 * folders for symlinks to a canary folder outside, at varied moments, many
 * rounds, in full cycles and in --watch cycles. The canary (contents, modes,
 * mtimes) never changes. Also: the --max-delete budget under a racing `mv`
 * in the source.
 */
import { equal, ok } from "node:assert/strict";
import {
  assertMirror,
  assertSameSnapshot,
  put,
  runCli,
  sh,
  snapshot,
  spawnCli,
} from "../helpers.ts";
import { tempRoot } from "./helpers.ts";

const T = 1_600_000_000;

/** A canary folder outside both trees: private, old mtimes, a file named like the mirrored ones. */
function makeCanary(dir: string): string {
  const canary = `${dir}/canary`;
  for (let i = 0; i < 20; i++) put(canary, `f${i}.txt`, `canary ${i}`, T);
  put(canary, "big.bin", "canary big", T);
  put(canary, "sub/deep.txt", "deep", T);
  Deno.chmodSync(`${canary}/sub`, 0o700);
  Deno.chmodSync(canary, 0o700);
  Deno.utimeSync(`${canary}/sub`, T, T);
  Deno.utimeSync(canary, T, T);
  return canary;
}

/**
 * Swaps each directory in `dirs` (in random order) for a symlink to `target`
 * after `delayMs`, the real directory moved aside; returns how many it swapped.
 */
async function racer(dirs: string[], target: string, delayMs: number): Promise<number> {
  await new Promise((r) => setTimeout(r, delayMs));
  let swapped = 0;
  for (const d of dirs.sort(() => Math.random() - 0.5)) {
    try {
      Deno.renameSync(d, `${d}.moved`);
      Deno.symlinkSync(target, d);
      swapped++;
    } catch {
      // Already removed by the mirror.
    }
    if (swapped % 8 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  return swapped;
}

const ROUNDS = 12;

Deno.test("race: a recursive removal never follows a directory swapped for a symlink", async () => {
  const { dir, cleanup } = await tempRoot("race-rm");
  try {
    const canary = makeCanary(dir);
    const canaryBefore = snapshot(canary);
    const src = `${dir}/source`;
    put(src, "keep.txt", "keep", T);
    let swaps = 0;
    let duration = 300;
    for (let round = 0; round < ROUNDS; round++) {
      const rep = `${dir}/replica${round}`;
      const dirs: string[] = [];
      for (let d = 0; d < 40; d++) {
        for (let f = 0; f < 20; f++) put(rep, `gone/z${d}/f${f}.txt`, "x", T);
        dirs.push(`${rep}/gone/z${d}`);
      }
      put(rep, "keep.txt", "keep", T);
      const started = performance.now();
      const run = runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      swaps += round === 0 ? 0 : await racer(dirs, canary, Math.random() * duration);
      const result = await run;
      if (round === 0) duration = performance.now() - started;
      ok(result.code === 0 || result.code === 1, result.text);
      assertSameSnapshot(canaryBefore, snapshot(canary), `canary (round ${round})`);
      ok(!/stopped by an unexpected error/.test(result.text), result.text);
    }
    ok(swaps > 0, "the racer swapped something");
  } finally {
    await cleanup();
  }
});

/**
 * The canary as a copy race may leave it: what it holds, and modes, but not its own mtime. A
 * copy's temporary file can be created in a folder swapped in between the folder's check and the
 * create, and is removed at once when the check after it fails: that moves the folder's mtime
 * (the README's "What remains"). Nothing in it is ever left, changed or removed.
 */
function canaryContents(canary: string) {
  const nodes = snapshot(canary);
  nodes.get("")!.mtimeMs = 0;
  return nodes;
}

Deno.test("race: copies and directory fix-ups never write through a directory swapped for a symlink", async () => {
  const { dir, cleanup } = await tempRoot("race-copy");
  try {
    const canary = makeCanary(dir);
    const canaryBefore = canaryContents(canary);
    const src = `${dir}/source`;
    put(src, "sub/big.bin", new Uint8Array(24 * 1024 * 1024).fill(7), T);
    for (let f = 0; f < 20; f++) put(src, `sub/f${f}.txt`, `source ${f}`, T);
    for (let d = 0; d < 10; d++) put(src, `d${d}/a.txt`, "a", T);
    Deno.chmodSync(`${src}/sub`, 0o750);
    let duration = 300;
    for (let round = 0; round < ROUNDS; round++) {
      const rep = `${dir}/replica${round}`;
      Deno.mkdirSync(`${rep}/sub`, { recursive: true });
      for (let d = 0; d < 10; d++) Deno.mkdirSync(`${rep}/d${d}`);
      const dirs = [`${rep}/sub`, ...Array.from({ length: 10 }, (_, d) => `${rep}/d${d}`)];
      const started = performance.now();
      const run = runCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--once",
        "--concurrency",
        "1",
      ]);
      if (round > 0) await racer(dirs, canary, Math.random() * duration);
      const result = await run;
      if (round === 0) {
        duration = performance.now() - started;
        equal(result.code, 0, result.text);
        assertMirror(src, rep);
      }
      assertSameSnapshot(canaryBefore, canaryContents(canary), `canary (round ${round})`);
      ok(!/stopped by an unexpected error/.test(result.text), result.text);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("race: a --watch cycle never reaches its folder through a replica folder swapped for a symlink", async () => {
  const { dir, cleanup } = await tempRoot("race-watch");
  try {
    const canary = makeCanary(dir); // Holds a `sub` folder, as the source's a/sub.
    const canaryBefore = snapshot(canary);
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    for (let f = 0; f < 200; f++) put(src, `a/sub/f${f}.txt`, `source ${f}`, T);
    put(src, "keep.txt", "keep", T);
    Deno.chmodSync(`${src}/a/sub/f0.txt`, 0o644);
    const live = await spawnCli([
      "--source_path",
      src,
      "--replica_path",
      rep,
      "--sync_interval",
      "1h", // Only the watcher syncs.
      "--watch",
      "--debounce",
      "50ms",
      "--log_level", // A watch cycle with nothing to write is quiet: its summary is at debug.
      "debug",
    ]);
    try {
      await live.waitForLine(/cycle 1 done/);
      let duration = 300;
      let swaps = 0;
      for (let round = 0; round < 2 * ROUNDS; round++) {
        const from = live.lines.length;
        const started = performance.now();
        // An event in a/sub alone (a file's mode set as it is): the watch cycle starts there and,
        // in a replica that is right, has nothing to write, so any change in the canary is one
        // made through the link. (Writes into a folder swapped mid-walk: the README's limit.)
        Deno.chmodSync(`${src}/a/sub/f0.txt`, 0o644);
        if (round > 0) {
          // Before the cycle, while it goes down to a/sub, or after it.
          await new Promise((r) => setTimeout(r, Math.random() * 1.5 * duration));
          Deno.renameSync(`${rep}/a`, `${rep}/a.moved`);
          Deno.symlinkSync(canary, `${rep}/a`);
          swaps++;
        }
        await live.waitForLine(/cycle \d+ (done|failed)/, from);
        if (round === 0) duration = performance.now() - started;
        assertSameSnapshot(canaryBefore, snapshot(canary), `canary (round ${round})`);
        // Swapped after the cycle: put the folder back for the next round.
        if (Deno.lstatSync(`${rep}/a`).isSymlink) {
          Deno.removeSync(`${rep}/a`);
          Deno.renameSync(`${rep}/a.moved`, `${rep}/a`);
        }
      }
      ok(swaps > 0, "the racer swapped something");
    } finally {
      live.kill();
      await live.status;
    }
    const text = live.lines.join("\n");
    ok(!/stopped by an unexpected error/.test(text), text);
    assertSameSnapshot(canaryBefore, snapshot(canary), "canary");
    const last = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
    equal(last.code, 0, last.text);
    assertMirror(src, rep);
  } finally {
    await cleanup();
  }
});

Deno.test("race: --max-delete N never removes more than N, whatever the source does meanwhile", async () => {
  const { dir, cleanup } = await tempRoot("race-maxdel");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    for (let d = 0; d < 30; d++) {
      for (let f = 0; f < 50; f++) put(src, `big/d${d}/f${f}.txt`, "x", T);
    }
    put(src, "keep.txt", "keep", T);
    let duration = 300;
    for (let round = 0; round < 10; round++) {
      const mirror = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      equal(mirror.code, 0, mirror.text);
      const before = snapshot(rep).size;
      const started = performance.now();
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--once",
        "--max-delete",
        "5",
      ]);
      await new Promise((r) => setTimeout(r, Math.random() * duration));
      Deno.renameSync(`${src}/big`, `${dir}/elsewhere`);
      const status = await live.status;
      if (round === 0) duration = Math.max(50, performance.now() - started);
      const removed = before - snapshot(rep).size;
      ok(removed <= 5, `round ${round}: ${removed} entries removed:\n${live.lines.join("\n")}`);
      if (live.lines.some((l) => /--max-delete/.test(l))) equal(status.code, 1);
      Deno.renameSync(`${dir}/elsewhere`, `${src}/big`);
    }
  } finally {
    await cleanup();
  }
});

/**
 * Plants, for every temporary name it sees in `dir`, a symlink to `target`
 * or a FIFO at each of the next names an observer could predict from it (the
 * same first 8 hex digits, the last 8 counted on), until `running` is false.
 */
async function planter(
  dir: string,
  target: string,
  running: () => boolean,
): Promise<{ seen: number; planted: number }> {
  const shape = /^\.foldersync-tmp-([0-9a-f]{8})([0-9a-f]{8})$/;
  const planted = new Set<string>();
  let seen = 0;
  while (running()) {
    let names: string[] = [];
    try {
      names = [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch {
      // Not created yet.
    }
    const fifos: string[] = [];
    for (const name of names) {
      const m = name.match(shape);
      if (!m || planted.has(name)) continue;
      seen++;
      planted.add(name);
      const next = parseInt(m[2], 16);
      for (let k = 1; k <= 32; k++) {
        const guess = `.foldersync-tmp-${m[1]}${((next + k) >>> 0).toString(16).padStart(8, "0")}`;
        if (planted.has(guess)) continue;
        planted.add(guess);
        if (k % 8 === 0) fifos.push(`${dir}/${guess}`);
        else {
          try {
            Deno.symlinkSync(target, `${dir}/${guess}`);
          } catch {
            // Taken meanwhile.
          }
        }
      }
    }
    if (fifos.length > 0) await sh(["mkfifo", ...fifos], true);
    await new Promise((r) => setTimeout(r, 0));
  }
  return { seen, planted: planted.size };
}

Deno.test("race: links and FIFOs planted at the next temporary names are never written through", async () => {
  const { dir, cleanup } = await tempRoot("race-tmpname");
  try {
    const canary = `${dir}/canary.txt`;
    put(dir, "canary.txt", "canary: never written", T);
    Deno.chmodSync(canary, 0o600);
    const canaryBefore = snapshot(canary);
    const src = `${dir}/source`;
    for (let f = 0; f < 1000; f++) put(src, `f${f}.txt`, `source ${f}`, T);
    let seen = 0;
    for (let round = 0; round < 3; round++) {
      const rep = `${dir}/replica${round}`;
      const live = await spawnCli(["--source_path", src, "--replica_path", rep, "--once"]);
      let running = true;
      const racer = planter(rep, canary, () => running);
      const hung = setTimeout(() => live.kill("SIGKILL"), 60_000);
      const status = await live.status;
      clearTimeout(hung);
      running = false;
      seen += (await racer).seen;
      const text = live.lines.join("\n");
      ok(
        status.code === 0 || status.code === 1,
        `round ${round}: killed after 60 s (hung?):\n${text}`,
      );
      ok(!/stopped by an unexpected error/.test(text), text);
      assertSameSnapshot(canaryBefore, snapshot(canary), `canary (round ${round})`);
      // Left alone, the next runs mirror exactly (the planted entries are extras).
      for (let again = 0; again < 2; again++) {
        const next = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
        if (next.code === 0) break;
      }
      assertMirror(src, rep);
    }
    ok(seen > 0, "the racer saw temporary names");
  } finally {
    await cleanup();
  }
});

/**
 * Swaps all replica files in `names` for FIFOs (made beforehand in `fifos`,
 * the same filesystem, where the files wait meanwhile), waits a moment, swaps
 * them back, waits, and so on until `running` is false.
 */
async function fifoToggler(
  rep: string,
  names: string[],
  fifos: string,
  running: () => boolean,
): Promise<number> {
  let toggles = 0;
  const swapped = new Set<number>();
  while (running()) {
    for (let i = 0; i < names.length; i++) {
      const path = `${rep}/${names[i]}`;
      try {
        Deno.renameSync(path, `${fifos}/f${i}`);
        Deno.renameSync(`${fifos}/p${i}`, path);
        swapped.add(i);
        toggles++;
      } catch {
        // Mid-copy, or renamed into place meanwhile: next one.
      }
    }
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    for (const i of swapped) {
      const path = `${rep}/${names[i]}`;
      try {
        Deno.renameSync(path, `${fifos}/p${i}`);
        Deno.renameSync(`${fifos}/f${i}`, path);
      } catch {
        // Removed by the sync: its next cycle puts the file back.
      }
    }
    swapped.clear();
    await new Promise((r) => setTimeout(r, Math.random() * 3));
  }
  return toggles;
}

Deno.test("race: --checksum never hangs on a replica file swapped for a FIFO", async () => {
  const { dir, cleanup } = await tempRoot("race-checksum-fifo");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    const fifos = `${dir}/fifos`;
    const names = Array.from({ length: 800 }, (_, f) => `f${f}.txt`);
    for (const name of names) put(src, name, `source ${name}`, T);
    Deno.mkdirSync(fifos);
    await sh(["mkfifo", ...names.map((_, i) => `${fifos}/p${i}`)]);
    equal((await runCli(["--source_path", src, "--replica_path", rep, "--once"])).code, 0);
    for (let round = 0; round < 4; round++) {
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--once",
        "--checksum",
      ]);
      let running = true;
      const toggler = fifoToggler(rep, names, fifos, () => running);
      const hung = setTimeout(() => live.kill("SIGKILL"), 40_000);
      const status = await live.status;
      clearTimeout(hung);
      running = false;
      await toggler;
      const text = live.lines.join("\n");
      ok(
        status.code === 0 || status.code === 1,
        `round ${round}: killed after 40 s (hung?), last lines:\n${
          live.lines.slice(-6).join("\n")
        }`,
      );
      ok(!/stopped by an unexpected error/.test(text), text);
    }
    const last = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
    equal(last.code, 0, last.text);
    assertMirror(src, rep);
  } finally {
    await cleanup();
  }
});
