/**
 * `--watch`: the batching logic with a fake event source, and the CLI as a
 * subprocess on real temporary trees: latency, new directories, renames,
 * deletes, narrowed permissions, the watch limit and SIGTERM.
 */
import assert from "node:assert/strict";
import { denoArgs, ROOT, snap, tempDirs, tempFiles, waitFor, writeTree } from "./helpers.ts";
import { type EventSource, WatchError, watchSource } from "../lib/loop/watch.ts";

// ---------------------------------------------------------------- unit: watchSource

/** An event source the test feeds by hand. */
function fakeSource() {
  const queue: (Deno.FsEvent | Error)[] = [];
  let wakeUp: (() => void) | undefined;
  let closed = false;
  const source: EventSource & { push(e: Deno.FsEvent | Error): void; closed(): boolean } = {
    push(e) {
      queue.push(e);
      wakeUp?.();
    },
    closed: () => closed,
    close() {
      closed = true;
      wakeUp?.();
    },
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        const next = queue.shift();
        if (next instanceof Error) throw next;
        if (next) yield next;
        else await new Promise<void>((r) => wakeUp = r);
      }
    },
  };
  return source;
}

function event(kind: Deno.FsEvent["kind"], ...paths: string[]): Deno.FsEvent {
  return { kind, paths };
}

/** A watcher over a fake source rooted at a real temp dir; `ready` resolves per batch. */
function fakeWatch(
  root: string,
  options: { excluded?: (p: string) => boolean; maxDirs?: number; maxQueuedEvents?: number },
) {
  const sources: ReturnType<typeof fakeSource>[] = [];
  const problems: string[] = [];
  let readyCount = 0;
  const watch = watchSource({
    source: root,
    debounceMs: 30,
    ...options,
    onReady: () => readyCount++,
    onProblem: (m) => problems.push(m),
    open: () => {
      const s = fakeSource();
      sources.push(s);
      return s;
    },
  });
  return {
    watch,
    problems,
    source: () => sources[sources.length - 1],
    sources,
    readyCount: () => readyCount,
  };
}

Deno.test("watchSource: parents of event paths, deduped, excluded paths ignored, debounced", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: { b: {} } });
  const root = Deno.realPathSync(t.src);
  const w = fakeWatch(root, { excluded: (p) => p === "node_modules" || p.endsWith(".tmp") });
  try {
    const s = w.source();
    s.push(event("create", `${root}/a/b/x`));
    s.push(event("modify", `${root}/a/b/x`));
    s.push(event("create", `${root}/top`));
    s.push(event("rename", `${root}/a/old`, `${root}/a/b/new`));
    s.push(event("create", `${root}/node_modules/pkg/index.js`)); // under an excluded dir
    s.push(event("create", `${root}/a/y.tmp`)); // excluded name
    s.push(event("create", "/elsewhere/entirely"));
    s.push(event("modify", `${root}/a`)); // a directory's own attributes
    await waitFor(() => w.watch.ready, 2000, "the batch to settle");
    assert.equal(w.readyCount(), 1);
    assert.deepEqual(w.watch.take(), { dirs: ["", "a", "a/b"] });
    assert.equal(w.watch.ready, false);
    assert.deepEqual(w.watch.take(), { dirs: [] });

    // Only excluded events: nothing to do.
    s.push(event("create", `${root}/node_modules/x`));
    s.push(event("create", `${root}/node_modules`));
    await new Promise((r) => setTimeout(r, 100)); // Absence of a batch: nothing to poll for.
    assert.equal(w.watch.ready, false);
  } finally {
    w.watch.close();
  }
  assert.equal(w.source().closed(), true);
});

Deno.test("watchSource: overflow, too many directories and watcher errors give a full sync", async () => {
  using t = tempDirs();
  writeTree(t.src, {});
  const root = Deno.realPathSync(t.src);
  const w = fakeWatch(root, { maxDirs: 3 });
  try {
    w.source().push({ kind: "other", paths: [], flag: "rescan" });
    await waitFor(() => w.watch.ready, 2000, "the overflow batch");
    assert.match(w.watch.take().full ?? "", /overflow/);

    for (const d of ["a", "b", "c", "d"]) w.source().push(event("create", `${root}/${d}/f`));
    await waitFor(() => w.watch.ready, 2000, "the big batch");
    assert.deepEqual(w.watch.take(), {
      dirs: [],
      full: "4 directories changed at once (more than 3)",
    });

    w.source().push(new Error("boom"));
    await waitFor(() => w.watch.ready, 2000, "the error batch");
    assert.match(w.watch.take().full ?? "", /watcher failed: boom/);
    assert.equal(w.sources.length, 2, "restarted");
    assert.match(w.problems.join("\n"), /watcher failed \(boom\): restarting it/);
    w.source().push(event("create", `${root}/z`));
    await waitFor(() => w.watch.ready, 2000, "an event from the new watcher");
    assert.deepEqual(w.watch.take(), { dirs: [""] });
  } finally {
    w.watch.close();
  }
});

Deno.test("watchSource: a directory created or moved in is to be synced whole", async () => {
  using t = tempDirs();
  writeTree(t.src, { site: { a: {} }, "site.old": {}, made: {}, "f.txt": "f" });
  const root = Deno.realPathSync(t.src);
  const w = fakeWatch(root, { excluded: (p) => p === "made" });
  try {
    const s = w.source();
    s.push(event("rename", `${root}/staged`, `${root}/site`)); // moved in over a folder's name
    s.push(event("rename", `${root}/site.old`)); // the other half of `mv site site.old`
    s.push(event("create", `${root}/site/a`));
    s.push(event("create", `${root}/f.txt`)); // a file: its parent alone
    s.push(event("create", `${root}/made`)); // excluded
    s.push(event("create", `${root}/gone`)); // no longer there
    await waitFor(() => w.watch.ready, 2000, "the batch to settle");
    assert.deepEqual(w.watch.take(), { dirs: ["", "site"], whole: ["site", "site.old", "site/a"] });
  } finally {
    w.watch.close();
  }
});

Deno.test("watchSource: a watcher that cannot be created names the sysctl", () => {
  assert.throws(
    () =>
      watchSource({
        source: "/some/source",
        open: () => {
          throw new Error('OS file watch limit reached. about ["/some/source/a"]');
        },
      }),
    (error: unknown) => {
      assert.ok(error instanceof WatchError);
      assert.equal(
        error.message,
        "cannot watch '/some/source' for changes (OS file watch limit reached): inotify needs " +
          "one watch per directory: raise the sysctl fs.inotify.max_user_watches; syncing " +
          "every interval only",
      );
      return true;
    },
  );
});

// ---------------------------------------------------------------- the CLI

/** The CLI running in the background, its output collected as it comes. */
class Running implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<unknown>;

  /** Narrowed `perms` test the portable engine's contract: FOLDERSYNC_TEST_ENGINE does not apply. */
  constructor(args: string[], perms?: string[], wrap: string[] = []) {
    const deno = denoArgs(args, perms, { portable: perms !== undefined });
    this.child = new Deno.Command(wrap.length ? wrap[0] : Deno.execPath(), {
      args: wrap.length ? [...wrap.slice(1), Deno.execPath(), ...deno] : deno,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this[key] += chunk;
    };
    this.#done = Promise.all([
      collect(this.child.stdout, "stdout"),
      collect(this.child.stderr, "stderr"),
    ]);
  }

  /** Sends SIGTERM and returns the exit code once the output is read. */
  async stop(): Promise<number> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const { code } = await this.child.status;
    await this.#done;
    return code;
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
  }
}

function watchArgs(t: { src: string; dst: string }, ...extra: string[]): string[] {
  return [
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--sync_interval",
    "1h", // The periodic cycle never comes back during a test: the watcher does the work.
    "--watch",
    ...extra,
  ];
}

async function firstCycle(run: Running): Promise<void> {
  await waitFor(() => /cycle 1 done/.test(run.stdout), 15_000, "the first cycle");
}

function readOrEmpty(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Polls every `everyMs` until `condition` holds; returns the milliseconds taken. */
async function timeUntil(condition: () => boolean, timeoutMs: number, what: string, everyMs = 2) {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

Deno.test("cli --watch: single files within 1 s (median of 20), a 1,000-file burst within 5 s", async () => {
  using t = tempDirs();
  writeTree(t.src, { deep: { er: { est: {} } }, "seed.txt": "seed" });
  await using run = new Running(watchArgs(t));
  await firstCycle(run);

  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const dir = i % 2 ? "deep/er/est" : "";
    const rel = `${dir ? dir + "/" : ""}file-${i}.txt`;
    const content = `content ${i} `.repeat(1000 + i);
    Deno.writeTextFileSync(`${t.src}/${rel}`, content);
    latencies.push(
      await timeUntil(() => readOrEmpty(`${t.dst}/${rel}`) === content, 10_000, rel),
    );
  }
  const med = median(latencies);
  console.log(
    `single-file latency: median ${med.toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`,
  );
  assert.ok(med <= 1000, `median latency ${med} ms is over 1 s`);

  Deno.mkdirSync(`${t.src}/burst`);
  const start = performance.now();
  for (let i = 0; i < 1000; i++) {
    Deno.writeTextFileSync(`${t.src}/burst/f${String(i).padStart(4, "0")}`, `burst ${i}\n`);
  }
  const count = () => {
    try {
      let n = 0;
      for (const _ of Deno.readDirSync(`${t.dst}/burst`)) n++;
      return n;
    } catch {
      return 0;
    }
  };
  const written = performance.now() - start;
  // Listing 1,000 entries is not free: poll less often, so as not to slow the sync down.
  await timeUntil(() => count() === 1000, 20_000, "the 1,000-file burst", 20);
  const burst = performance.now() - start;
  console.log(
    `1,000-file burst: written in ${written.toFixed(0)} ms, all mirrored ${
      burst.toFixed(0)
    } ms after the first write`,
  );
  for (let i = 0; i < 1000; i += 97) {
    const name = `burst/f${String(i).padStart(4, "0")}`;
    assert.equal(Deno.readTextFileSync(`${t.dst}/${name}`), `burst ${i}\n`);
  }
  assert.ok(burst <= 5000, `the burst took ${burst} ms`);
  assert.equal(await run.stop(), 0);
  assert.match(run.stdout, /cycle \d+ done in [\d.]+ s: .* scanned \(watch: \d+ dirs?\)/);
  assert.doesNotMatch(run.stdout, /\(watch: 0 dirs\)/);
});

Deno.test("cli --watch: new directories, renames and deletes", async () => {
  using t = tempDirs();
  writeTree(t.src, {
    keep: { "a.txt": "a", sub: { "b.txt": "b" } },
    gone: { "x.txt": "x", inner: { "y.txt": "y" } },
    "old-name.txt": "renamed",
    "delete-me.txt": "bye",
  });
  await using run = new Running(watchArgs(t, "--exclude", "*.skip"));
  await firstCycle(run);
  const same = () => {
    const want = snap(t.src, { dirTimes: false });
    for (const k of Object.keys(want)) if (k.endsWith(".skip")) delete want[k];
    return JSON.stringify(want) === JSON.stringify(snap(t.dst, { dirTimes: false }));
  };

  // A new directory tree, written right after its directory is created.
  Deno.mkdirSync(`${t.src}/new/deeper/still`, { recursive: true });
  for (let i = 0; i < 20; i++) Deno.writeTextFileSync(`${t.src}/new/deeper/still/f${i}`, `${i}`);
  Deno.writeTextFileSync(`${t.src}/new/top.txt`, "top");
  Deno.writeTextFileSync(`${t.src}/new/ignored.skip`, "excluded");
  // Renames: a file across directories, a directory, a file in place.
  Deno.renameSync(`${t.src}/old-name.txt`, `${t.src}/keep/sub/new-name.txt`);
  Deno.renameSync(`${t.src}/keep/sub`, `${t.src}/keep/moved-sub`);
  // Deletes: a file, a whole tree.
  Deno.removeSync(`${t.src}/delete-me.txt`);
  Deno.removeSync(`${t.src}/gone`, { recursive: true });
  await waitFor(same, 10_000, "the replica to match the source");

  // Then more inside the new directory (now watched), and a file replaced by a directory.
  Deno.writeTextFileSync(`${t.src}/new/deeper/later.txt`, "later");
  Deno.removeSync(`${t.src}/keep/a.txt`);
  Deno.mkdirSync(`${t.src}/keep/a.txt`);
  Deno.writeTextFileSync(`${t.src}/keep/a.txt/inside`, "inside");
  await waitFor(same, 10_000, "the second round to be mirrored");
  assert.equal(readOrEmpty(`${t.dst}/new/ignored.skip`), "");
  // Directory modes and mtimes too.
  const withTimes = () => {
    const want = snap(t.src);
    for (const k of Object.keys(want)) if (k.endsWith(".skip")) delete want[k];
    return JSON.stringify(want) === JSON.stringify(snap(t.dst));
  };
  await waitFor(withTimes, 5000, "directory modes and mtimes");
  assert.equal(await run.stop(), 0);
  assert.match(run.stdout, /remove +file +delete-me\.txt/);
  assert.match(run.stdout, /remove +dir +gone\b/);
  assert.doesNotMatch(run.stdout, /ERROR/);
  assert.equal(run.stdout.match(/cycle \d+ done in .* scanned$/gm)?.length, 1, "one full cycle");
});

Deno.test("cli --watch: a folder replaced by rename is synced whole", async () => {
  using t = tempDirs();
  writeTree(t.src, {
    site: { "index.html": "old index", a: { "page.html": "old page", deep: { "x.txt": "old x" } } },
    staged: {
      "index.html": "the new index",
      a: { "page.html": "new page!", deep: { "x.txt": "x" } },
    },
  });
  await using run = new Running(watchArgs(t));
  await firstCycle(run);
  // Same names on both sides all the way down: only a sync that goes into site sees the change.
  Deno.renameSync(`${t.src}/site`, `${t.src}/site.old`);
  Deno.renameSync(`${t.src}/staged`, `${t.src}/site`);
  const same = () => JSON.stringify(snap(t.src)) === JSON.stringify(snap(t.dst));
  await waitFor(same, 10_000, "the replica's site to hold the staged content");
  assert.equal(readOrEmpty(`${t.dst}/site/a/deep/x.txt`), "x");
  assert.equal(await run.stop(), 0);
  assert.doesNotMatch(run.stdout + run.stderr, /ERROR|WARN/);
  assert.equal(run.stdout.match(/cycle \d+ done in .* scanned$/gm)?.length, 1, "one full cycle");
});

Deno.test("cli --watch: a replica folder swapped for a link between cycles is never synced through", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: { b: { "f.txt": "source f" } }, "top.txt": "top" });
  const outside = `${t.dir}/elsewhere`;
  writeTree(outside, { b: { "precious.txt": "precious" } });
  const before = snap(outside);
  await using run = new Running(watchArgs(t));
  await firstCycle(run);
  // Someone who may write the replica swaps its folder a for a link to a folder outside.
  Deno.renameSync(`${t.dst}/a`, `${t.dir}/a.moved`);
  Deno.symlinkSync(outside, `${t.dst}/a`);
  Deno.writeTextFileSync(`${t.src}/a/b/new.txt`, "new");
  await waitFor(() => /cycle 2 done/.test(run.stdout), 10_000, "the watch cycle");
  assert.deepEqual(snap(outside), before, "the folder outside the replica changed");
  const same = () => JSON.stringify(snap(t.src)) === JSON.stringify(snap(t.dst));
  await waitFor(same, 10_000, "the replica to match the source");
  assert.equal(await run.stop(), 0);
  assert.deepEqual(snap(outside), before, "the folder outside the replica changed");
  assert.doesNotMatch(run.stdout + run.stderr, /ERROR/);
});

Deno.test("cli --watch: a source folder turned into a link right after an edit in it: nothing outside changes", async () => {
  using t = tempDirs();
  // Source and replica at different depths, so that `../shared` names a different folder from each.
  const dst = `${t.dir}/out/replica`;
  writeTree(t.src, { proj: { sub: { "file.txt": "v1" } } });
  writeTree(`${t.dir}/shared`, { sub: { "other.txt": "shared by the source's side" } });
  writeTree(`${t.dir}/out/shared`, { sub: { "precious.txt": "beside the replica" } });
  const before = { src: snap(`${t.dir}/shared`), dst: snap(`${t.dir}/out/shared`) };
  // A long debounce keeps the edit and the swap in one batch however slow the machine.
  await using run = new Running(watchArgs({ src: t.src, dst }, "--debounce", "1s"));
  await firstCycle(run);
  Deno.writeTextFileSync(`${t.src}/proj/sub/file.txt`, "v2");
  // Deno drops an event whose path is gone when its watcher thread reads it: a moment, as after
  // saving in an editor, so that the batch names proj/sub (nothing to poll for).
  await new Promise((r) => setTimeout(r, 100));
  Deno.renameSync(`${t.src}/proj`, `${t.src}/proj.old`);
  Deno.symlinkSync("../shared", `${t.src}/proj`);
  await waitFor(() => /cycle 2 done/.test(run.stdout), 10_000, "the watch cycle");
  const same = () => JSON.stringify(snap(t.src)) === JSON.stringify(snap(dst));
  await waitFor(same, 10_000, "the replica to match the source");
  assert.equal(await run.stop(), 0);
  assert.deepEqual(
    snap(`${t.dir}/out/shared`),
    before.dst,
    "the folder beside the replica changed",
  );
  assert.deepEqual(snap(`${t.dir}/shared`), before.src, "the folder beside the source changed");
  assert.equal(readOrEmpty(`${dst}/proj.old/sub/file.txt`), "v2");
  assert.equal(Deno.readLinkSync(`${dst}/proj`), "../shared");
  assert.doesNotMatch(run.stdout + run.stderr, /ERROR/);
});

Deno.test("cli --watch: more than 500 changed directories at once fall back to a full sync", async () => {
  using t = tempDirs();
  const tree: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 520; i++) tree[`d${i}`] = {};
  writeTree(t.src, tree);
  // A long debounce, so that all the writes land in one batch however slow the machine.
  await using run = new Running(watchArgs(t, "--debounce", "1.5s"));
  await firstCycle(run);
  for (let i = 0; i < 520; i++) Deno.writeTextFileSync(`${t.src}/d${i}/f`, `${i}`);
  await waitFor(() => /cycle 2 done/.test(run.stdout), 15_000, "the second cycle's summary");
  assert.equal(await run.stop(), 0);
  assert.equal(readOrEmpty(`${t.dst}/d519/f`), "519");
  assert.match(
    run.stderr,
    /WARN {2}watch: 520 directories changed at once \(more than 500\): syncing the whole tree/,
  );
  assert.match(run.stdout, /cycle 2 done in [\d.]+ s: 0 created, 520 copied.* scanned$/m);
});

Deno.test("cli --watch: works with narrowed permissions (read S,R,L; write R,L)", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  Deno.mkdirSync(t.dst);
  const log = `${t.dir}/sync.log`;
  await using run = new Running(watchArgs(t, "--log_file", log), [
    `--allow-read=${t.src},${t.dst},${log}`,
    `--allow-write=${t.dst},${log}`,
  ]);
  await firstCycle(run);
  Deno.mkdirSync(`${t.src}/d`);
  Deno.writeTextFileSync(`${t.src}/d/b.txt`, "b");
  Deno.writeTextFileSync(`${t.src}/c.txt`, "c");
  await waitFor(
    () => readOrEmpty(`${t.dst}/d/b.txt`) === "b" && readOrEmpty(`${t.dst}/c.txt`) === "c",
    5000,
    "the watched changes",
  );
  assert.equal(await run.stop(), 0);
  assert.doesNotMatch(run.stdout + run.stderr, /cannot watch|PermissionDenied|Requires/);
  assert.match(readOrEmpty(log), /\(watch: \d+ dirs?\)/);
});

Deno.test("cli --watch: at the inotify watch limit, warns once naming the sysctl and keeps syncing", async () => {
  // A user namespace has its own inotify limit (/proc/sys/user/max_inotify_watches).
  const probe = await new Deno.Command("unshare", {
    args: ["-Ur", "sh", "-c", "echo 2 > /proc/sys/user/max_inotify_watches"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!probe?.success) {
    console.log("skipped: cannot lower the inotify limit in a user namespace here");
    return;
  }
  using t = tempDirs();
  writeTree(t.src, { a: { f: "f" }, b: {}, c: {}, d: {} });
  const script = 'echo 2 > /proc/sys/user/max_inotify_watches && exec "$@"';
  await using run = new Running(
    [
      "--source_path",
      t.src,
      "--replica_path",
      t.dst,
      "--sync_interval",
      "0.2",
      "--watch",
      "--log_level", // Quiet cycles log their summaries at debug.
      "debug",
    ],
    undefined,
    ["unshare", "-Ur", "sh", "-c", script, "sh"],
  );
  await waitFor(() => /cycle 2 done/.test(run.stdout), 15_000, "two periodic cycles");
  Deno.writeTextFileSync(`${t.src}/later.txt`, "later");
  await waitFor(() => readOrEmpty(`${t.dst}/later.txt`) === "later", 5000, "a periodic copy");
  assert.equal(await run.stop(), 0);
  const warnings = run.stderr.split("\n").filter((l) => /cannot watch/.test(l));
  assert.equal(warnings.length, 1, run.stderr);
  assert.match(warnings[0], /WARN .*fs\.inotify\.max_user_watches.*syncing every interval only$/);
});

Deno.test("cli --watch: SIGTERM mid-sync closes the watcher and exits 0 leaving no temp files", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  await using run = new Running(watchArgs(t));
  await firstCycle(run);
  const big = new Uint8Array(4 << 20).fill(7);
  Deno.mkdirSync(`${t.src}/big`);
  for (let i = 0; i < 40; i++) Deno.writeFileSync(`${t.src}/big/f${i}`, big);
  await waitFor(() => /copy +file +big\/f/.test(run.stdout), 10_000, "copies to start");
  const code = await run.stop();
  assert.equal(code, 0, run.stderr);
  assert.match(run.stdout, /SIGTERM received/);
  assert.match(run.stdout, /stopped$/m);
  assert.deepEqual(tempFiles(t.dst), []);
});

Deno.test("cli: --watch flags are checked", async () => {
  for (
    const [args, message] of [
      [["--debounce", "soon"], /--debounce 'soon' is not a duration/],
      [["--once"], /--watch and --once do not go together/],
    ] as const
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: denoArgs(["--source_path", "a", "--replica_path", "b", "--watch", ...args]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), message);
  }
});

Deno.test("watchSource: a burst of half the kernel's queue gives a full sync; a pause starts afresh", async () => {
  using t = tempDirs();
  writeTree(t.src, {});
  const root = Deno.realPathSync(t.src);
  const w = fakeWatch(root, { maxQueuedEvents: 16 });
  try {
    const seven = () => {
      for (let i = 0; i < 7; i++) w.source().push(event("create", `${root}/f${i}`));
    };
    seven();
    await waitFor(() => w.watch.ready, 2000, "the first batch");
    assert.deepEqual(w.watch.take(), { dirs: [""] });
    // A pause of a second (the floor over the debounce) ends a burst: nothing to poll for.
    await new Promise((r) => setTimeout(r, 1100));
    seven();
    await waitFor(() => w.watch.ready, 2000, "the batch after the pause");
    assert.deepEqual(w.watch.take(), { dirs: [""] });
    // No pause: the eighth event of this burst fills half the queue, though batches were taken.
    w.source().push(event("create", `${root}/g`));
    await waitFor(() => w.watch.ready, 2000, "the burst's batch");
    assert.deepEqual(w.watch.take(), {
      dirs: [],
      full: "events may have been lost: a burst of 8 events filled half the kernel's queue " +
        "(sysctl fs.inotify.max_queued_events = 16: raise it if this recurs)",
    });
  } finally {
    w.watch.close();
  }
});

Deno.test("watchSource: a source folder replaced with no event at its root is found by the watcher's own look", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: {} });
  const root = Deno.realPathSync(t.src);
  const w = fakeWatch(root, {});
  try {
    // Moved away and made again, and the event at the root lost on the way (no event at all).
    Deno.renameSync(root, `${root}.old`);
    Deno.mkdirSync(root);
    await waitFor(() => w.sources.length === 2, 3000, "the new folder watched");
    assert.match(w.problems.join("\n"), /^watch: the source folder '.*' was replaced/);
    assert.equal(w.sources[0].closed(), true, "the old stream is closed");
    await waitFor(() => w.watch.ready, 2000, "the batch");
    assert.deepEqual(w.watch.take(), {
      dirs: [],
      full: "the source folder was replaced",
      said: true,
    });
  } finally {
    w.watch.close();
  }
});

Deno.test("watchSource: a source folder replaced is said once and watched anew, also after a wait", async () => {
  using t = tempDirs();
  writeTree(t.src, { a: {} });
  const root = Deno.realPathSync(t.src);
  const w = fakeWatch(root, {});
  const replaced = (n: number) => {
    assert.equal(w.problems.length, n, w.problems.join("\n"));
    assert.equal(
      w.problems[n - 1],
      `watch: the source folder '${root}' was replaced (moved away, or deleted and made again): ` +
        "watching the new one; syncing the whole tree",
    );
    assert.equal(w.sources[n - 1].closed(), true, "the old stream is closed");
  };
  try {
    // Made again at once: the event at the root finds the new folder.
    Deno.renameSync(root, `${root}.old`);
    Deno.mkdirSync(root);
    w.source().push(event("rename", root));
    await waitFor(() => w.sources.length === 2, 2000, "the new folder watched");
    replaced(1);
    await waitFor(() => w.watch.ready, 2000, "the batch");
    assert.deepEqual(w.watch.take(), {
      dirs: [],
      full: "the source folder was replaced",
      said: true,
    });

    // Deleted and made again: the inode is often the same, the event at the root says it all.
    Deno.removeSync(root);
    Deno.mkdirSync(root);
    w.source().push(event("remove", root));
    await waitFor(() => w.sources.length === 3, 2000, "the folder made again watched");
    replaced(2);
    w.watch.take();

    // Moved away and seen gone: looked for again until it is back.
    Deno.renameSync(root, `${root}.gone`);
    w.source().push(event("remove", root));
    await waitFor(() => w.sources[2].closed(), 2000, "the old stream closed");
    assert.equal(w.sources.length, 3, "nothing to watch yet");
    Deno.mkdirSync(root);
    await waitFor(() => w.sources.length === 4, 5000, "the folder, once back, watched");
    replaced(3);
    w.watch.take();

    // Replaced with no event seen (e.g. lost): clear(), before each whole-tree cycle, looks.
    Deno.renameSync(root, `${root}.older`);
    Deno.mkdirSync(root);
    w.watch.clear();
    await waitFor(() => w.sources.length === 5, 2000, "the folder found by clear()");
    replaced(4);
    // Events from the new stream count again.
    w.source().push(event("create", `${root}/x`));
    await waitFor(() => w.watch.ready, 2000, "an event from the new folder");
    assert.deepEqual(w.watch.take(), {
      dirs: [],
      full: "the source folder was replaced",
      said: true,
    });
    w.source().push(event("create", `${root}/y`));
    await waitFor(() => w.watch.ready, 2000, "an event from the new folder");
    assert.deepEqual(w.watch.take(), { dirs: [""] });
  } finally {
    w.watch.close();
  }
});

Deno.test("cli --watch: a source folder moved away and made again is watched anew, said once each time", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", sub: { "b.txt": "b" } });
  // A whole-tree cycle after a watch cycle may find nothing left to do: quiet, its summary at debug.
  await using run = new Running(watchArgs(t, "--log_level", "debug"));
  await firstCycle(run);
  const warnings = () => run.stderr.split("\n").filter((l) => /WARN/.test(l));
  const fullCycles = () => run.stdout.match(/cycle \d+ done in .* scanned$/gm)?.length ?? 0;
  /** The summary of the cycle that logged the last line matching `line`. */
  const summaryAfter = (line: RegExp) => {
    const lines = run.stdout.split("\n");
    return lines.slice(lines.findLastIndex((l) => line.test(l))).find((l) => / done in /.test(l));
  };
  // Made again at once, or after a gap in which the watcher finds none: both ways of meeting it.
  const gaps = [0, 50, 400, 1500];
  // A failure shows what the run logged (debug level: every event batch and cycle).
  const logged = (error: unknown) =>
    new Error(
      `${error instanceof Error ? error.message : error}\n--- stdout (end):\n` +
        `${run.stdout.slice(-6000)}\n--- stderr (end):\n${run.stderr.slice(-3000)}`,
    );
  for (const [round, gap] of gaps.entries()) {
    Deno.renameSync(t.src, `${t.dir}/src.old${round}`);
    if (gap) await new Promise((r) => setTimeout(r, gap)); // A moment to vary: nothing to poll.
    Deno.mkdirSync(t.src);
    Deno.writeTextFileSync(`${t.src}/new.txt`, `new ${round}`);
    await waitFor(() => warnings().length === round + 1, 10_000, `round ${round}'s warning`)
      .catch((error) => Promise.reject(logged(error)));
    await waitFor(() => fullCycles() === round + 2, 10_000, `round ${round}'s whole-tree cycle`)
      .catch((error) => Promise.reject(logged(error)));
    assert.equal(readOrEmpty(`${t.dst}/new.txt`), `new ${round}`);
    // Then a change in the new folder comes through the watcher, in a watch cycle.
    Deno.writeTextFileSync(`${t.src}/later.txt`, `later ${round}`);
    await waitFor(
      () =>
        summaryAfter(/copy +file +later\.txt/) !== undefined &&
        readOrEmpty(`${t.dst}/later.txt`) === `later ${round}`,
      10_000,
      `round ${round}'s later change`,
    );
    assert.match(summaryAfter(/copy +file +later\.txt/)!, /\(watch: 1 dir\)$/);
  }
  assert.equal(await run.stop(), 0);
  assert.deepEqual(snap(t.dst, { dirTimes: false }), snap(t.src, { dirTimes: false }));
  assert.equal(warnings().length, gaps.length, run.stderr);
  for (const warning of warnings()) {
    assert.match(
      warning,
      /WARN {2}watch: the source folder '.*' was replaced \(moved away, or deleted and made again\): watching the new one; syncing the whole tree$/,
    );
  }
  assert.equal(fullCycles(), gaps.length + 1);
  // A watch cycle that ran while there was no source folder says so; nothing else fails.
  for (const error of run.stderr.split("\n").filter((l) => /ERROR/.test(l))) {
    assert.match(error, /ERROR cycle \d+ refused: Source '.*' does not exist/);
  }
});

Deno.test("cli --watch: a folder moved in that a folder-only rule excludes is never synced (build/, */)", async () => {
  for (const rule of ["build/", "*/"]) {
    using t = tempDirs();
    writeTree(t.src, { "a.txt": "a" });
    writeTree(t.dst, { build: { "local.txt": "mine" } }); // Protected: excluded, not deleted.
    await using run = new Running(watchArgs(t, "--exclude", rule));
    await firstCycle(run);
    assert.equal(readOrEmpty(`${t.dst}/build/local.txt`), "mine", `${rule}: the full cycle`);
    writeTree(`${t.dir}/staged`, { "x.txt": "x" });
    Deno.renameSync(`${t.dir}/staged`, `${t.src}/build`);
    // A later change: once it is mirrored, the batch with the moved-in folder was synced too.
    Deno.writeTextFileSync(`${t.src}/b.txt`, "b");
    await waitFor(() => readOrEmpty(`${t.dst}/b.txt`) === "b", 10_000, `${rule}: b.txt`);
    assert.equal(readOrEmpty(`${t.dst}/build/local.txt`), "mine", `${rule}: ${run.stdout}`);
    assert.throws(() => Deno.lstatSync(`${t.dst}/build/x.txt`), Deno.errors.NotFound);
  }
});
