/**
 * End-to-end: exit codes, safety stops, permissions, the loop and signals,
 * with the CLI as a subprocess.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type CliOptions,
  type CliResult,
  denoArgs,
  hasCommand,
  type LiveCli,
  readOr,
  ROOT,
  runCli,
  snap,
  spawnCli,
  syncOnce,
  tempDirs,
  tempFiles,
  testEngine,
  treeArgs,
  waitFor,
  writeTree,
} from "./helpers.ts";

Deno.test("cli e2e: --help and --version exit 0; bad arguments exit 2 with a hint", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--source_path PATH/);
  const version = await runCli(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^foldersync \d+\.\d+\.\d+/);
  for (
    const [args, message] of [
      [["--bogus"], /unknown flag --bogus/],
      [["--source_path", "a", "--replica_path", "b", "--sync_interval", "0"], /--sync_interval/],
      [["--source_path", "a", "--replica_path", "b", "--sync_interval", "fast"], /--sync_interval/],
      [["--replica_path", "b"], /--source_path/],
      [
        ["--source_path", "a", "--replica_path", "b", "--sync_interval", "-1"],
        /^foldersync: --sync_interval must be more than zero, got '-1'$/m,
      ],
      [
        ["--source_path", "a", "--replica_path", "b", "--exclude", "[a-"],
        /^foldersync: --exclude '\[a-' is not a valid pattern: '\[' without a closing '\]'$/m,
      ],
      [
        ["--source_path", "a", "--replica_path", "b", "--exclude", "[z-a]"],
        /^foldersync: --exclude '\[z-a\]' is not a valid pattern: range out of order/m,
      ],
      [
        ["--source_pth", "a"],
        /^foldersync: unknown flag --source_pth: did you mean --source_path\?$/m,
      ],
    ] as const
  ) {
    const result = await runCli([...args]);
    assert.equal(result.code, 2, `${args.join(" ")}`);
    assert.match(result.stderr, message);
    // runCli runs `deno run .../main.ts` from the repository's root.
    assert.match(result.stderr, /^Try 'deno run main\.ts --help' for the list of flags\.$/m);
    assert.equal(result.stderr.trim().split("\n").length, 2, "one line and the hint");
  }
});

Deno.test("cli e2e: --engine native without --allow-ffi exits 2 naming the grant; the default is portable, named in the start line", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  // The portable engine's contract: exactly --allow-read --allow-write, whatever the suite runs.
  const refused = await runCli(treeArgs(t, "--once", "--engine", "native"), { portable: true });
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr.split("\n")[0],
    "foldersync: --engine native needs --allow-ffi (unscoped): add it to deno run (or deno " +
      "compile), or use --engine portable",
  );
  assert.equal(refused.stderr.trim().split("\n").length, 2, "one line and the hint");
  assert.throws(() => Deno.lstatSync(t.dst), Deno.errors.NotFound, "nothing was written");
  // Exactly --allow-read --allow-write, as always: the portable engine, no prompt for FFI.
  const ran = await runCli(treeArgs(t, "--once"), { portable: true });
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /: mirroring '.*' to '.*' once, engine portable\n/);
  assert.equal(readOr(`${t.dst}/a.txt`), "a");
});

Deno.test("cli e2e: the replica and the log file's folder are created when missing", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const dst = `${t.dir}/new/replica`;
  const log = `${t.dir}/new/logs/deep/sync.log`;
  const result = await syncOnce({ src: t.src, dst, log });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(Deno.readTextFileSync(`${dst}/a.txt`), "a");
  assert.match(readOr(log), /cycle 1 done/);
});

Deno.test("cli e2e: safety stops refuse with one line, exit 1 and touch nothing", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", inner: {} });
  writeTree(t.dst, { "precious.txt": "keep me" });
  Deno.writeTextFileSync(`${t.dir}/plain-file`, "x");
  const cases: [string, string, RegExp][] = [
    [`${t.dir}/missing`, t.dst, /Source '.*missing' does not exist/],
    [`${t.dir}/plain-file`, t.dst, /is not a directory/],
    [t.src, `${t.dir}/plain-file`, /Replica '.*' exists and is not a directory/],
  ];
  for (const [src, dst, message] of cases) {
    const before = [snap(t.src), snap(t.dst)];
    const result = await syncOnce({ src, dst, log: t.log });
    assert.equal(result.code, 1, `${src} -> ${dst}`);
    assert.match(result.stderr, message);
    assert.deepEqual([snap(t.src), snap(t.dst)], before);
  }
});

Deno.test("cli e2e: a replica that is a FIFO is refused, not opened (an open would block for good)", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const fifo = `${t.dir}/fifo`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.ok(made.success, "mkfifo");
  const result = await runCliFor(treeArgs({ ...t, dst: fifo }, "--once"), 20_000);
  assert.equal(result.killed, false, "it hung on the FIFO");
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /Replica '.*fifo' exists and is not a directory/);
});

/** Runs the CLI with its output captured; stopped with SIGTERM if still running after `ms`. */
async function runCliFor(args: string[], ms = 30_000): Promise<CliResult & { killed: boolean }> {
  const child = await spawnPiped(args);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.process.kill("SIGTERM");
  }, ms);
  try {
    return { ...await child.output, killed };
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the CLI with stdout and stderr captured, read as it runs (so no pipe fills up). */
async function spawnPiped(
  args: string[],
  options: CliOptions = {},
): Promise<{ process: LiveCli; output: Promise<CliResult> }> {
  const process = await spawnCli(args, options);
  const output = process.status.then(({ code }) => ({
    code,
    ...process.output,
    lines: process.lines,
    text: process.lines.join("\n"),
  }));
  return { process, output };
}

Deno.test("cli e2e: a configuration that can never work is refused at start: one line, exit 2, nothing written, not retried", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", inner: {} });
  writeTree(t.dst, { "precious.txt": "keep me" });
  const cases: [string, string, string[], RegExp][] = [
    [t.src, t.dst, ["--log_file", `${t.src}/logs/f.log`], /--log_file '.*' is inside the source/],
    [t.src, t.dst, ["--health_file", `${t.src}/h.json`], /--health_file '.*' is inside the source/],
    [t.src, t.dst, ["--log_file", `${t.dst}/sync.log`], /inside the replica, where the mirror/],
    [t.src, t.src, [], /the same directory/],
    [t.src, `${t.src}/inner`, [], /Cannot mirror '.*' into itself/],
    [`${t.src}/inner`, t.src, [], /the source is inside the replica/],
  ];
  for (const [src, dst, extra, message] of cases) {
    const before = [snap(t.src), snap(t.dst)];
    // The loop, not --once: the refusal must not wait for a next interval.
    const args = ["--source_path", src, "--replica_path", dst, "--sync_interval", "0.1", ...extra];
    const result = await runCliFor(args);
    assert.equal(result.killed, false, `${args.join(" ")} kept running`);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.deepEqual([snap(t.src), snap(t.dst)], before, "nothing written, no log file");
  }
});

Deno.test("cli e2e: a source that is not there yet is retried every interval, and the health check says why", async () => {
  using t = tempDirs();
  const health = `${t.dir}/state/health.json`;
  const child = await spawnCli(
    treeArgs(t, "--sync_interval", "0.2", "--health_file", health, "--log_level", "warning"),
  );
  try {
    await waitFor(() => /cycle 2 refused/.test(readOr(t.log)), 10_000, "a second refusal");
    const unhealthy = await runCli(["--health", "--health_file", health]);
    assert.equal(unhealthy.code, 1);
    assert.match(
      unhealthy.stderr,
      /^unhealthy: last cycle \d+ s ago was refused: Source '.*src' does not exist[^\n]*; last success never\n$/,
    );
    writeTree(t.src, { "a.txt": "a" }); // The volume is mounted.
    await waitFor(() => readOr(`${t.dst}/a.txt`) === "a", 10_000, "the sync once it heals");
    await waitFor(() => readOr(health).includes('"lastSuccess"'), 10_000, "a success recorded");
    const healthy = await runCli(["--health", "--health_file", health]);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match(healthy.stdout, /^healthy: last successful cycle \d+ s ago/);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal((await child.status).code, 0);
});

Deno.test("cli e2e: --health_file in a folder that does not exist yet: the folder is created", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const health = `${t.dir}/state/h.json`;
  const result = await syncOnce(t, "--health_file", health);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /health/);
  const check = await runCli(["--health", "--health_file", health]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^healthy: last successful cycle \d+ s ago\n$/);
});

Deno.test("cli e2e: --dry-run without --once previews one cycle and exits, recording no health", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const health = `${t.dir}/h.json`;
  const result = await runCliFor([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--dry-run",
    "--health_file",
    health,
  ]);
  assert.equal(result.killed, false, "it exited by itself");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /copy {3}file {4}a\.txt \(1 B\) \(dry run\)/);
  assert.equal([...result.stdout.matchAll(/cycle \d+ done/g)].length, 1);
  assert.throws(() => Deno.lstatSync(t.dst), Deno.errors.NotFound);
  // The replica is still empty: a dry run must not count as a success for the health check.
  const check = await runCli(["--health", "--health_file", health]);
  assert.equal(check.code, 1, check.stdout);
  assert.match(check.stderr, /^unhealthy: no cycle recorded yet/);
});

Deno.test("cli e2e: --help says what the replica needs, exit 130 and a replica in use", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.doesNotMatch(help.stdout, /\(created when missing\)/);
  assert.match(
    help.stdout,
    /--replica_path PATH +.*when missing, it is created if its\n\s+parent exists/,
  );
  assert.match(help.stdout, /found the replica in use by another foldersync/);
  assert.match(help.stdout, /130 a second\nSIGINT or SIGTERM/);
  for (const flag of ["--quiet", "--one-file-system"]) assert.match(help.stdout, new RegExp(flag));
});

Deno.test("cli e2e: --quiet shows only errors on the console; the log file keeps its level", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  writeTree(t.dst, { "extra.txt": "x" });
  const fifo = await new Deno.Command("mkfifo", { args: [`${t.src}/fifo`] }).output();
  assert.ok(fifo.success, "mkfifo");
  // --max-delete 0 with a removal to make: an error, as any user can have one.
  const result = await syncOnce(t, "--quiet", "--max-delete", "0");
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "", "no info lines");
  const errors = result.stderr.trim().split("\n");
  assert.ok(errors.every((l) => / ERROR /.test(l)), result.stderr);
  assert.match(result.stderr, /ERROR cycle 1 would remove 1 entry, more than --max-delete 0/);
  assert.match(result.stderr, /ERROR cycle 1 failed in .* 1 error, /);
  const log = readOr(t.log);
  assert.match(log, / INFO {2}foldersync .*: mirroring /);
  assert.match(log, / INFO {2}copy {3}file {4}a\.txt/);
  assert.match(log, / WARN {2}skip {3}other {3}fifo: /);
  assert.match(log, /ERROR cycle 1 failed/);
});

Deno.test("cli e2e: --sync_interval 30d runs a cycle, then waits quietly (no timer overflow)", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const child = await spawnPiped(treeArgs(t, "--sync_interval", "30d"));
  try {
    await waitFor(() => /cycle 1 done/.test(readOr(t.log)), 20_000, "the first cycle");
    // An overflowed timer fires after 1 ms: within this window it would have warned, and
    // the loop would have spun through more cycles. Nothing to poll for: wait it out.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  } finally {
    child.process.kill("SIGTERM");
  }
  const result = await child.output;
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stderr, /TimeoutOverflowWarning/);
  assert.equal(result.stderr, "");
  const engine = new RegExp(`every 30d, engine ${testEngine()}\n`);
  assert.match(result.stdout, engine, "the interval as a person writes it");
  assert.deepEqual([...readOr(t.log).matchAll(/cycle (\d+) \w+ in/g)].map((m) => m[1]), ["1"]);
});

Deno.test("cli e2e: an empty source over a non-empty replica is refused unless --allow-empty-source", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  writeTree(t.dst, { "precious.txt": "keep me" });
  const refused = await syncOnce(t);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /is empty but replica .* is not.*--allow-empty-source/);
  assert.equal(Deno.readTextFileSync(`${t.dst}/precious.txt`), "keep me");
  const allowed = await syncOnce(t, "--allow-empty-source");
  assert.equal(allowed.code, 0);
  assert.deepEqual(Object.keys(snap(t.dst)), [""]);
});

Deno.test("cli e2e: works with permissions narrowed to the paths; a missing grant names the flag", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
  Deno.mkdirSync(`${t.dir}/logs`);
  const args = ["--source_path", t.src, "--replica_path", t.dst, "--log_file", t.log, "--once"];
  // The two-flag contract is the portable engine's: FOLDERSYNC_TEST_ENGINE does not apply.
  const narrowed = await runCli(args, {
    perms: [`--allow-read=${t.src},${t.dst},${t.log}`, `--allow-write=${t.dst},${t.log}`],
    portable: true,
  });
  assert.equal(narrowed.code, 0, narrowed.stderr);
  assert.equal(Deno.readTextFileSync(`${t.dst}/d/b.txt`), "b");
  const noWrite = await runCli(args, { perms: [`--allow-read`], portable: true });
  assert.equal(noWrite.code, 1);
  assert.match(noWrite.stderr, /not granted write access to '.*dst'.*--allow-write/);
  assert.doesNotMatch(noWrite.stderr, /at .*\.ts:\d+/, "no stack trace");
});

Deno.test("cli e2e: the loop syncs at start and every interval; SIGTERM stops it with exit 0 and a complete log", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  // At debug, quiet cycles log their summaries too: every cycle is seen.
  const child = await spawnCli(treeArgs(t, "--sync_interval", "0.2", "--log_level", "debug"));
  try {
    await waitFor(() => readOr(`${t.dst}/a.txt`) === "a", 10_000, "first cycle");
    Deno.writeTextFileSync(`${t.src}/b.txt`, "b");
    await waitFor(() => readOr(`${t.dst}/b.txt`) === "b", 10_000, "a later cycle");
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  assert.equal(status.code, 0);
  const log = readOr(t.log);
  assert.match(log, /SIGTERM received/);
  assert.match(log, /INFO {2}stopped\n$/, "the log is flushed to its last line");
  const cycles = [...log.matchAll(/cycle (\d+) (done|stopped)/g)].map((m) => Number(m[1]));
  assert.ok(cycles.length >= 2);
  assert.deepEqual(cycles, cycles.map((_, i) => i + 1), "cycles numbered in order, one at a time");
});

const hasStrace = hasCommand("strace", ["-V"]);

/**
 * Runs `--once` over `t` with strace sending SIGHUP at the first open of `path`: at the same
 * moment of the start on a busy machine as on an idle one. Returns the exit code and stderr.
 */
async function hupAtOpen(
  t: { src: string; dst: string; log: string },
  path: string,
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command("strace", {
    args: [
      ...["-f", "-qq", "-o", "/dev/null", "-e", "trace=openat"],
      ...["-e", "inject=openat:signal=SIGHUP:when=1", "-P", path],
      Deno.execPath(),
      ...denoArgs(treeArgs(t, "--once")),
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name:
    "cli e2e: a SIGHUP before logging is set up (logrotate's reload at start) is handled, exit 0",
  ignore: !hasStrace,
  fn: async () => {
    using t = tempDirs();
    writeTree(t.src, { "a.txt": "a" });
    const { code, stderr } = await hupAtOpen(t, t.log); // Logging opens it as it is set up.
    assert.equal(code, 0, `exit ${code} (129: killed by the SIGHUP) ${stderr}`);
    assert.equal(readOr(`${t.dst}/a.txt`), "a");
  },
});

Deno.test({
  name: "cli e2e: a SIGHUP while the program loads is handled, exit 0",
  ignore: !hasStrace,
  fn: async () => {
    using t = tempDirs();
    writeTree(t.src, { "a.txt": "a" });
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    const emitted = JSON.parse(new TextDecoder().decode(info.stdout)).typescriptCache;
    // Loading the program reads each module's emitted code, lib/config/cli.ts's after main.ts has
    // run its first lines. A run first, so that the emitted code is there to be read.
    assert.equal((await syncOnce(t)).code, 0);
    const cli = `${emitted}/file${ROOT}/lib/config/cli.ts.js`;
    assert.ok(Deno.statSync(cli).isFile, "the emitted code is where the test expects it");
    const { code, stderr } = await hupAtOpen(t, cli);
    assert.equal(code, 0, `exit ${code} (129: killed by the SIGHUP) ${stderr}`);
  },
});

Deno.test("cli e2e: console lines come out while the loop runs, not only at exit", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const child = await spawnCli(
    ["--source_path", t.src, "--replica_path", t.dst, "--sync_interval", "60"],
  );
  try {
    // Lines held until exit would leave this waiting: it gives up after 10 s.
    await child.waitForLine(/cycle 1 done/, 0, 10_000);
    const seen = child.output.stdout;
    assert.match(seen, /copy {3}file {4}a\.txt/);
    assert.match(seen, /cycle 1 done/);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal((await child.status).code, 0);
});

function bigFile(path: string, mib: number, seed: number) {
  const chunk = new Uint8Array(4 << 20);
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let i = 0; i < mib / 4; i++) {
    chunk.fill((seed + i) & 0xff);
    chunk[0] = i & 0xff;
    file.writeSync(chunk);
  }
}

/** Cheap: only the top level, no hashing, so the poll itself is fast. */
function copyUnderWay(dir: string): boolean {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.startsWith(".foldersync-tmp-")) return true;
    }
  } catch {
    // Not created yet.
  }
  return false;
}

function sha(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

Deno.test("cli e2e: SIGTERM mid-copy stops within seconds, exit 0, no temporary files", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  for (let i = 0; i < 8; i++) bigFile(`${t.src}/big${i}.bin`, 64, i);
  const child = await spawnCli(treeArgs(t, "--concurrency", "1"));
  await waitFor(() => copyUnderWay(t.dst), 20_000, "a copy under way");
  const stoppedAt = Date.now();
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  assert.ok(Date.now() - stoppedAt < 5_000, "stopped promptly");
  assert.deepEqual(tempFiles(t.dst), []);
  for (const entry of Deno.readDirSync(t.dst)) {
    assert.equal(sha(`${t.dst}/${entry.name}`), sha(`${t.src}/${entry.name}`), entry.name);
  }
  assert.match(readOr(t.log), /cycle 1 stopped/);
});

Deno.test("cli e2e: after kill -9 mid-copy no half-written file stands at a final name; the next run cleans up", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  for (let i = 0; i < 8; i++) bigFile(`${t.src}/big${i}.bin`, 64, 10 + i);
  writeTree(t.src, { small: { "a.txt": "a", "b.txt": "b" } });
  const child = await spawnCli([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--once",
    "--concurrency",
    "1",
  ]);
  await waitFor(() => copyUnderWay(t.dst), 20_000, "a copy under way");
  child.kill("SIGKILL");
  await child.status;
  for (const [path, entry] of Object.entries(snap(t.dst))) {
    if (entry.kind !== "file" || /\.foldersync-tmp-/.test(path)) continue;
    assert.equal(entry.sha, sha(`${t.src}/${path}`), `${path} is whole`);
  }
  const again = await syncOnce(t);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(tempFiles(t.dst), []);
  assert.deepEqual(snap(t.dst), snap(t.src));
});

Deno.test("cli e2e: SIGTERM during a copy too big to finish soon: exit 0 within seconds, its temporary file removed", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  // A sparse 32 GiB file: instant to make, many seconds to copy (ext4 writes the holes out).
  using f = Deno.openSync(`${t.src}/huge.img`, { write: true, create: true });
  f.truncateSync(32 * 1024 ** 3);
  // The native engine copies holes as holes (SEEK_DATA): this file is instant for it.
  const child = await spawnCli([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--log_file",
    t.log,
  ], {
    portable: true,
  });
  try {
    await waitFor(() => copyUnderWay(t.dst), 20_000, "the copy under way");
  } finally {
    child.kill("SIGTERM");
  }
  const stoppedAt = Date.now();
  const status = await child.status;
  assert.equal(status.code, 0);
  assert.ok(Date.now() - stoppedAt < 6_000, `stopped in ${Date.now() - stoppedAt} ms`);
  assert.deepEqual(tempFiles(t.dst), []);
  assert.throws(() => Deno.lstatSync(`${t.dst}/huge.img`), Deno.errors.NotFound);
});

Deno.test("cli e2e: under path-narrowed permissions a symlink is reported with Deno's rule; the rest syncs", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", link: { link: "a.txt" } });
  Deno.mkdirSync(`${t.dir}/logs`);
  const result = await runCli(
    ["--source_path", t.src, "--replica_path", t.dst, "--log_file", t.log, "--once"],
    {
      perms: [`--allow-read=${t.src},${t.dst},${t.log}`, `--allow-write=${t.dst},${t.log}`],
      portable: true, // Deno's rule for links under scoped grants: the portable engine's.
    },
  );
  assert.equal(result.code, 1);
  assert.match(result.stderr, /WARN .*symlinks in the source cannot be created/);
  assert.match(
    result.stderr,
    /error +symlink link: .*only with unscoped --allow-read and --allow-write/,
  );
  assert.equal(Deno.readTextFileSync(`${t.dst}/a.txt`), "a");
});

Deno.test("cli e2e: Ctrl-C on a --once run at --log_level warning says the cycle was interrupted", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  // A sparse 32 GiB file: instant to make, many seconds to copy.
  using f = Deno.openSync(`${t.src}/huge.img`, { write: true, create: true });
  f.truncateSync(32 * 1024 ** 3);
  // The portable engine: the native one copies this hole-only file at once (SEEK_DATA).
  const child = await spawnPiped(treeArgs(t, "--once", "--log_level", "warning"), {
    portable: true,
  });
  try {
    await waitFor(() => copyUnderWay(t.dst), 20_000, "the copy under way");
  } finally {
    child.process.kill("SIGINT");
  }
  const result = await child.output;
  assert.equal(result.code, 1);
  const line = /ERROR cycle 1 interrupted by SIGINT: not finished; the next run completes it\n/;
  assert.match(result.stderr, line);
  assert.match(readOr(t.log), line);
  assert.equal(result.stdout, "", "nothing at info level");
});

Deno.test("cli e2e: control characters in names are escaped in text output, on the console and in the log", async () => {
  using t = tempDirs();
  const names = [
    "new\nline.txt",
    "cr\rx.txt",
    "esc\x1b[31mred.txt",
    "c1\u009bx.txt",
    "back\\slash.txt",
  ];
  writeTree(t.src, Object.fromEntries(names.map((n) => [n, "x"])));
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  for (const text of [result.stdout, readOr(t.log)]) {
    assert.doesNotMatch(
      text,
      // deno-lint-ignore no-control-regex
      /[\x00-\x09\x0b-\x1f\x7f-\x9f]/,
      "no control character but the line ends",
    );
    const lines = text.trimEnd().split("\n");
    assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(l)), "every line is a log line");
    for (
      const shown of [
        "new\\nline.txt",
        "cr\\rx.txt",
        "esc\\x1b[31mred.txt",
        "c1\\x9bx.txt",
        "back\\\\slash.txt",
      ]
    ) {
      assert.ok(text.includes(`copy   file    ${shown} (1 B)`), `${shown} in:\n${text}`);
    }
  }
  for (const name of names) {
    assert.equal(readOr(`${t.dst}/${name}`), "x", "the files themselves are exact");
  }
});

Deno.test("cli e2e: a SIGINT after a SIGTERM exits 130 with the log file's waiting lines written", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  for (let i = 0; i < 8; i++) bigFile(`${t.src}/big${i}.bin`, 64, 20 + i);
  const child = await spawnCli(treeArgs(t, "--concurrency", "1"));
  await waitFor(() => copyUnderWay(t.dst), 20_000, "a copy under way");
  child.kill("SIGTERM");
  child.kill("SIGINT"); // Another signal: two SIGTERMs may arrive as one.
  const status = await child.status;
  assert.equal(status.code, 130);
  // The first signal's line waits in the file's buffer (250 ms) when the second one exits.
  assert.match(readOr(t.log), /(SIGTERM|SIGINT) received: finishing the copies/); // Either comes first.
});
