/**
 * Running for months: one process per replica (the lock, with real CLI
 * processes), the log file reopened on SIGHUP (what logrotate does), and
 * the systemd unit in examples/ (verified by systemd-analyze, and its
 * command lines run for real).
 */
import assert from "node:assert/strict";
import {
  denoArgs,
  findCommand,
  readOr,
  ROOT,
  runCli,
  snap,
  tempDirs,
  treeArgs,
  waitFor,
  writeTree,
} from "./helpers.ts";
import { holderRecordPath, lockReplica, ReplicaBusyError } from "../lib/loop/lock.ts";

/** Starts the CLI, output discarded; narrowed `perms` test the portable engine's contract. */
function spawn(args: string[], perms?: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: denoArgs(args, perms, { portable: perms !== undefined }),
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Kills `child` if it still runs, and waits for it. */
async function reap(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await child.status;
}

Deno.test("lockReplica: exclusive while held, a record beside the log names the holder", () => {
  using t = tempDirs();
  Deno.mkdirSync(t.dst);
  const log = `${t.dir}/sync.log`;
  const record = holderRecordPath(log);
  {
    using lock = lockReplica(t.dst, log);
    assert.equal(lock.locked, true);
    const holder = JSON.parse(Deno.readTextFileSync(record));
    assert.equal(holder.pid, Deno.pid);
    assert.equal(holder.replica, Deno.realPathSync(t.dst));
    // flock locks belong to an open file: a second open conflicts, even in this process.
    assert.throws(
      () => lockReplica(t.dst),
      (e: Error) =>
        e instanceof ReplicaBusyError &&
        e.message === `replica '${t.dst}' is in use by another foldersync process ` +
            `(\`fuser -v ${
              Deno.realPathSync(t.dst)
            }\` shows which); only one may sync it at a time: stop that one first`,
    );
    assert.deepEqual(snap(t.dst, { skipRoot: true }), {}, "nothing written into the replica");
  }
  assert.equal(readOr(record), "", "the record goes with the lock");
  using again = lockReplica(t.dst, log);
  assert.equal(again.locked, true, "released on dispose");
  // A replica that does not exist yet is not locked: the cycle creates it.
  using none = lockReplica(`${t.dir}/missing`, log);
  assert.equal(none.locked, false);
});

Deno.test("one process per replica, for the life of the process: a second --once or loop exits 1 at start naming the holder", async () => {
  using t = tempDirs();
  writeTree(t.src, { d: { "a.txt": "a" } });
  const logA = `${t.dir}/a/sync.log`;
  const logB = `${t.dir}/b/sync.log`;
  const record = holderRecordPath(logA);
  // A long interval: the holder sits between cycles, where it used to hold nothing.
  const holder = spawn(treeArgs({ ...t, log: logA }, "--sync_interval", "1h"));
  let after: Deno.ChildProcess | undefined;
  try {
    await waitFor(() => readOr(logA).includes("cycle 1 done"), 20_000, "the holder's first cycle");
    assert.equal(JSON.parse(readOr(record)).pid, holder.pid);
    Deno.writeTextFileSync(`${t.src}/late.txt`, "late");
    const before = snap(t.dst);
    const holderLine = String.raw`replica '${t.dst}' is in use by another foldersync process ` +
      String.raw`\(pid ${holder.pid}, since \S+Z, mirroring '${t.src}', per '${record}'\); ` +
      "only one may sync it at a time: stop that one first";

    // --once beside it, same log file: one line naming the holder from its record, exit 1.
    const once = await runCli(treeArgs({ ...t, log: logA }, "--once"));
    assert.equal(once.code, 1, once.stderr);
    assert.match(
      once.stderr,
      new RegExp(String.raw`^\S+Z ERROR ${holderLine}\n$`),
    );

    // A loop beside it, another log file: no record to read, so `fuser` is named; exit 1 at start.
    const loop = await runCli(treeArgs({ ...t, log: logB }, "--sync_interval", "0.2"));
    assert.equal(loop.code, 1, loop.stderr);
    assert.match(
      loop.stderr,
      /^\S+Z ERROR replica '.*' is in use by another foldersync process \(`fuser -v .*` shows which\); only one may sync it at a time: stop that one first\n$/,
    );
    assert.deepEqual(snap(t.dst), before, "none touched the replica");

    holder.kill("SIGKILL"); // Even a killed holder leaves no stale lock: the kernel drops it.
    await holder.status;
    after = spawn(treeArgs({ ...t, log: logB }, "--sync_interval", "0.2"));
    await waitFor(() => readOr(`${t.dst}/late.txt`) === "late", 20_000, "the next one's sync");
    after.kill("SIGTERM");
    assert.equal((await after.status).code, 0);
  } finally {
    await reap(holder);
    if (after) await reap(after);
  }
});

Deno.test("one process per replica: a replica that did not exist is locked as soon as the first cycle made it", async () => {
  using t = tempDirs();
  const files: Record<string, string> = {};
  for (let i = 0; i < 4000; i++) files[`f${i}.txt`] = `file ${i}`;
  writeTree(t.src, { many: files, "big.bin": new Uint8Array(64 << 20).fill(7) });
  const holder = spawn(treeArgs(t, "--once"));
  try {
    // The creation's log line is written after the lock is taken (same synchronous step).
    await waitFor(() => /create +dir +\.$/m.test(readOr(t.log)), 20_000, "the replica created");
    holder.kill("SIGSTOP");
    const exited = await Promise.race([
      holder.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    assert.ok(!exited, "the holder's first cycle ended before it could be stopped: make it longer");
    const second = await runCli(treeArgs({ ...t, log: `${t.dir}/second.log` }, "--once"));
    holder.kill("SIGCONT");
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /ERROR replica '.*' is in use by another foldersync/);
    assert.equal((await holder.status).code, 0);
  } finally {
    await reap(holder);
  }
});

Deno.test("SIGHUP reopens the log file: the renamed file keeps the earlier lines, a new one gets the rest", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  Deno.mkdirSync(`${t.dir}/logs`);
  // Path-narrowed grants: only the log file itself may be written, as under logrotate's `create`.
  // At debug, quiet cycles log their summaries too: every cycle is seen.
  const child = spawn(treeArgs(t, "--sync_interval", "0.1", "--log_level", "debug"), [
    `--allow-read=${t.src},${t.dst},${t.log}`,
    `--allow-write=${t.dst},${t.log}`,
  ]);
  try {
    await waitFor(() => readOr(t.log).includes("cycle 2 done"), 20_000, "two cycles");
    Deno.renameSync(t.log, `${t.log}.1`);
    child.kill("SIGHUP");
    await waitFor(
      () => /log file reopened \(SIGHUP\)\n(.*\n)*.*cycle \d+ done/.test(readOr(t.log)),
      10_000,
      "a new log file with the reopen line and a later cycle",
    );
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, "still running, and stopped cleanly");
  } finally {
    await reap(child);
  }
  const old = Deno.readTextFileSync(`${t.log}.1`);
  const fresh = Deno.readTextFileSync(t.log);
  assert.match(old, /mirroring/);
  assert.match(old, /cycle 1 done/);
  assert.doesNotMatch(old, /reopened/);
  assert.match(fresh.split("\n")[0], /^\S+Z INFO {2}log file reopened \(SIGHUP\)$/);
  assert.match(fresh, /INFO {2}stopped\n$/);
  // Not a line lost or doubled: the cycles run on from one file to the other.
  const cycles = (old + fresh).match(/cycle \d+ done/g)!.map((c) => Number(c.split(" ")[1]));
  assert.deepEqual(cycles, cycles.map((_, i) => i + 1));
});

/** The pids of processes whose command line contains `text` (pgrep -f). */
function pids(text: string): number[] {
  const out = new Deno.Command("pgrep", { args: ["-f", text], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}

Deno.test("SIGHUP on a terminal: closing the terminal stops the run (no orphan keeps syncing)", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  // script(1) gives the run a terminal; killing script closes it, and the kernel sends SIGHUP.
  const command = ["exec", Deno.execPath(), ...denoArgs(treeArgs(t, "--sync_interval", "1h"))]
    .map((arg) => `'${arg}'`).join(" ");
  const terminal = new Deno.Command("script", {
    args: ["-qfec", command, `${t.dir}/typescript`],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor(() => readOr(t.log).includes("cycle 1 done"), 20_000, "the first cycle");
    assert.equal(pids(t.dst).length > 0, true, "the run is there");
    terminal.kill("SIGKILL");
    await terminal.status;
    await waitFor(() => pids(t.dst).length === 0, 10_000, "the run to stop on the hangup");
  } finally {
    for (const pid of pids(t.dst)) Deno.kill(pid, "SIGKILL");
    await reap(terminal);
  }
  assert.match(
    readOr(t.log),
    /SIGHUP received: finishing the copies under way, then stopping\n.*INFO {2}stopped\n$/,
  );
});

Deno.test("SIGHUP when the log file cannot be reopened: one warning, logging goes on in the old file", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  Deno.mkdirSync(`${t.dir}/logs`);
  // Only the log file may be written: once its folder is gone, it cannot be made again.
  // At debug, quiet cycles log their summaries too: every cycle is seen.
  const child = spawn(treeArgs(t, "--sync_interval", "0.1", "--log_level", "debug"), [
    `--allow-read=${t.src},${t.dst},${t.log}`,
    `--allow-write=${t.dst},${t.log}`,
  ]);
  const moved = `${t.dir}/logs.old/sync.log`;
  try {
    await waitFor(() => readOr(t.log).includes("cycle 1 done"), 20_000, "a cycle");
    Deno.renameSync(`${t.dir}/logs`, `${t.dir}/logs.old`);
    child.kill("SIGHUP");
    await waitFor(
      () =>
        /Still writing to the file opened before\.\n(.*\n)*.*cycle \d+ done/.test(readOr(moved)),
      10_000,
      "the warning, then more cycles",
    );
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    await reap(child);
  }
  assert.match(
    readOr(moved),
    new RegExp(
      String
        .raw`WARN  SIGHUP: Cannot write log file '${t.log}': .*\. Choose another --log_file or fix ` +
        String.raw`its permissions\. Still writing to the file opened before\.\n`,
    ),
  );
  assert.equal(readOr(t.log), "");
});

/**
 * A unit file's install steps: the header's `#   ` lines (three spaces), a trailing `\` joining
 * the next one.
 */
function installSteps(file: string): string[] {
  const steps: string[] = [];
  let open = false;
  for (const line of Deno.readTextFileSync(`${ROOT}/examples/${file}`).split("\n")) {
    if (!line.startsWith("#")) break;
    const step = line.match(/^# {3}(\S.*)$/)?.[1];
    if (step === undefined) {
      open = false;
      continue;
    }
    if (open) steps[steps.length - 1] += " " + step.trim();
    else steps.push(step);
    open = steps[steps.length - 1].endsWith("\\");
    if (open) steps[steps.length - 1] = steps[steps.length - 1].slice(0, -1).trimEnd();
  }
  return steps;
}

/** The paths the install steps and the units use, moved under a scratch root. */
const LAYOUT =
  /(?<=^|[\s=(])(\/usr\/local\/bin|\/opt\/foldersync|\/var\/cache\/foldersync|\/var\/lib\/foldersync|\/etc\/systemd\/system|\/etc\/foldersync|\/srv)(?=[\s/)]|$)/g;

/** `text` with the layout's paths under `root`, except in single quotes (a unit's own content). */
function moved(root: string, text: string): string {
  return text.split("'").map((part, i) => i % 2 ? part : part.replace(LAYOUT, `${root}$1`))
    .join("'");
}

const isRoot = new TextDecoder().decode(
  new Deno.Command("id", { args: ["-u"], stdout: "piped" }).outputSync().stdout,
).trim() === "0";
/** Stands for the user foldersync: uid 65534 as root; as anyone else, that user. */
const asFoldersync = isRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];

/**
 * Runs install steps as written, in the checkout, with every path moved under `root`: `sudo`
 * dropped, `sudo -u foldersync` run as {@linkcode asFoldersync}, the deno binary the one running
 * these tests (the npm-installed one in CI). `useradd` and `systemctl` are left out: they would
 * change this machine (systemd-analyze verify stands for the daemon-reload).
 */
async function runSteps(root: string, steps: string[]): Promise<void> {
  for (const step of steps) {
    if (/\b(useradd|systemctl)\b/.test(step)) continue;
    const here = moved(
      root,
      step.replaceAll("node_modules/.bin/deno", Deno.execPath())
        .replaceAll("sudo -u foldersync ", [...asFoldersync, "env", ""].join(" "))
        .replaceAll("-o foldersync -g foldersync", isRoot ? "-o 65534 -g 65534" : "")
        .replaceAll(/\bsudo /g, ""),
    );
    const out = await new Deno.Command("bash", {
      args: ["-ec", here],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `step \`${step}\`, run as \`${here}\`: ${said}`);
  }
}

/**
 * A scratch root with what any system has (the usual folders, this machine's systemd units and
 * /bin/kill), laid out by the install steps of the unit file `file`.
 */
async function installed(dir: string, file: string): Promise<string> {
  const root = `${dir}/root`;
  Deno.chmodSync(dir, 0o755); // uid 65534 runs deno install in it.
  for (const path of ["usr/bin", "usr/local/bin", "usr/lib/systemd", "etc/systemd/system", "opt"]) {
    Deno.mkdirSync(`${root}/${path}`, { recursive: true });
  }
  for (const path of ["var/cache", "var/lib", "var/log", "srv"]) {
    Deno.mkdirSync(`${root}/${path}`, { recursive: true });
  }
  Deno.symlinkSync("usr/bin", `${root}/bin`);
  Deno.copyFileSync("/usr/bin/kill", `${root}/usr/bin/kill`);
  try {
    await runSteps(root, [`cp -a /usr/lib/systemd/system ${root}/usr/lib/systemd/`]);
  } catch {
    // No systemd here: only the tests that run the units' commands use this root.
  }
  await runSteps(root, installSteps(file));
  return root;
}

/** A unit's `Key=` value (the last, as systemd takes it for these keys). */
function value(unit: string, key: string): string {
  const all = [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))];
  assert.ok(all.length > 0, `no ${key}=`);
  return all[all.length - 1][1];
}

/** Every path under `root` with its type, mode, size and mtime, but those matching `skip`. */
function listing(root: string, skip: RegExp, rel = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(rel ? `${root}/${rel}` : root)) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (skip.test(path)) continue;
    const info = Deno.lstatSync(`${root}/${path}`);
    out.push(`${path} ${info.mode} ${info.size} ${info.mtime?.getTime()}`);
    if (entry.isDirectory) out.push(...listing(root, skip, path));
  }
  return out.sort();
}

/** Runs `systemd-analyze verify` on units in `root`: what it says, asserted to be nothing. */
async function verify(root: string, ...units: string[]): Promise<void> {
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", `--root=${root}`, ...units],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, said);
  assert.equal(said, "", "no warnings either");
}

/** systemd's exposure score of a unit in `root` (0 safest, 10 worst), and its findings. */
async function exposure(root: string, unit: string): Promise<{ score: number; text: string }> {
  const out = await new Deno.Command("systemd-analyze", {
    args: ["security", "--offline=true", `--root=${root}`, unit],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const score = text.match(/exposure level .*: ([\d.]+)/);
  assert.ok(score, new TextDecoder().decode(out.stderr));
  return { score: Number(score[1]), text };
}

/** Every `file:` path of a unit's Documentation=, asserted to exist in `root`. */
function assertDocumented(root: string, unit: string): void {
  const docs = value(unit, "Documentation").split(/\s+/);
  assert.ok(docs.length > 0 && docs.every((d) => d.startsWith("file:/")), docs.join(" "));
  for (const doc of docs) Deno.statSync(root + doc.slice("file:".length));
}

/**
 * Finds `command` (on PATH or in the sbin folders), installing Debian's `pkg` when it is missing
 * and we may (root, apt-get). Returns its path, or why it cannot be had.
 */
async function findOrInstall(
  command: string,
  pkg: string,
): Promise<{ path: string; why?: undefined } | { path?: undefined; why: string }> {
  const found = findCommand(command);
  if (found) return { path: found };
  const root = await new Deno.Command("id", { args: ["-u"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim() === "0", () => false);
  if (!root) return { why: `no ${command}, and not root to install Debian's ${pkg} package` };
  const install = await new Deno.Command("sh", {
    args: ["-c", `apt-get update -qq && apt-get install -y -qq ${pkg}`],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  const path = findCommand(command);
  if (!install?.success || !path) {
    return { why: `no ${command}, and \`apt-get install ${pkg}\` failed` };
  }
  return { path };
}

Deno.test("findCommand: a program in /usr/sbin is found with a PATH that lacks it (non-root)", () => {
  const sbin = ["logrotate", "useradd", "ldconfig"].find((c) => {
    try {
      return Deno.statSync(`/usr/sbin/${c}`).isFile;
    } catch {
      return false;
    }
  });
  if (sbin === undefined) {
    console.log("skipped: none of logrotate, useradd, ldconfig in /usr/sbin");
    return;
  }
  assert.match(findCommand(sbin, "/usr/bin:/bin") ?? "", new RegExp(`^/(usr/)?sbin/${sbin}$`));
  assert.equal(findCommand("no-such-command-here", "/usr/bin:/bin"), undefined);
  assert.equal(findCommand("sh", "/usr/bin:/bin"), "/usr/bin/sh");
});

const analyze = await findOrInstall("systemd-analyze", "systemd");
const noAnalyze = analyze.why;

Deno.test({
  name: "examples/foldersync.service installs as its header says: systemd-analyze verify passes " +
    "with its health timer, and with the full-fidelity drop-in" +
    (noAnalyze ? ` (ignored: ${noAnalyze})` : ""),
  ignore: noAnalyze !== undefined,
  async fn() {
    using t = tempDirs();
    const root = await installed(t.dir, "foldersync.service");
    const units = `${root}/etc/systemd/system`;
    const unit = Deno.readTextFileSync(`${units}/foldersync.service`);
    const deno = value(unit, "ExecStart").split(" ")[0];
    assert.equal(deno, "/usr/local/bin/deno");
    assert.ok((Deno.statSync(root + deno).mode! & 0o111) === 0o111, "deno is executable by all");
    assert.equal(value(unit, "Environment").match(/DENO_DIR=(\S+)/)![1], "/var/cache/foldersync");
    assert.ok(Deno.readDirSync(`${root}/var/cache/foldersync/npm`), "the npm packages are cached");
    assertDocumented(root, unit);
    await verify(
      root,
      "foldersync.service",
      "foldersync-health.service",
      "foldersync-health.timer",
    );
    assertDocumented(root, Deno.readTextFileSync(`${units}/foldersync-health.service`));
    // The README gives the same steps.
    const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
    for (const step of installSteps("foldersync.service")) assert.ok(readme.includes(step), step);
    // The sandboxing stays tight: systemd's own exposure score.
    const plain = await exposure(root, "foldersync.service");
    assert.ok(plain.score <= 2, `exposure ${plain.score}`);
    assert.ok((await exposure(root, "foldersync-health.service")).score <= 2);

    await runSteps(root, installSteps("foldersync-full.conf"));
    assert.ok(Deno.statSync(`${units}/foldersync.service.d/full.conf`).isFile);
    await verify(root, "foldersync.service");
    const full = await exposure(root, "foldersync.service");
    assert.match(full.text, /✗ User=\/DynamicUser=\s+Service runs as root user/);
    assert.match(full.text, /✗ RestrictSUIDSGID=/);
    assert.match(full.text, /✓ CapabilityBoundingSet=~CAP_SYS_ADMIN/);
    assert.ok(full.score <= 2, `exposure ${full.score}`);
  },
});

Deno.test({
  name: "examples/foldersync@.service installs as its header says: systemd-analyze verify passes " +
    "for an instance with its paths, its health timer, and with the full-fidelity drop-in" +
    (noAnalyze ? ` (ignored: ${noAnalyze})` : ""),
  ignore: noAnalyze !== undefined,
  async fn() {
    using t = tempDirs();
    const root = await installed(t.dir, "foldersync@.service");
    const units = `${root}/etc/systemd/system`;
    const unit = Deno.readTextFileSync(`${units}/foldersync@.service`);
    assert.match(value(unit, "ExecStart"), / --config \/etc\/foldersync\/%i\.toml /);
    assert.ok(Deno.statSync(`${root}/etc/foldersync/photos.toml`).isFile);
    const paths = Deno.readTextFileSync(`${units}/foldersync@photos.service.d/paths.conf`);
    assert.equal(value(paths, "ReadWritePaths"), "/srv/backup");
    assertDocumented(root, unit);
    const instance = ["foldersync@photos.service", "foldersync-health@photos.service"];
    await verify(root, ...instance, "foldersync-health@photos.timer");
    for (const name of instance) {
      const score = (await exposure(root, name)).score;
      assert.ok(score <= 2, `${name}: exposure ${score}`);
    }

    await runSteps(root, installSteps("foldersync-full.conf"));
    await verify(root, "foldersync@photos.service");
    assert.match(
      (await exposure(root, "foldersync@photos.service")).text,
      /Service runs as root user/,
    );
  },
});

Deno.test("the installed foldersync.service runs: from the cache the steps filled (--cached-only), the journal its only log, ExecReload, the health check, SIGTERM exits 0", async () => {
  using t = tempDirs();
  const root = await installed(t.dir, "foldersync.service");
  const unit = Deno.readTextFileSync(`${root}/etc/systemd/system/foldersync.service`);
  const health = Deno.readTextFileSync(`${root}/etc/systemd/system/foldersync-health.service`);
  // What systemd does at start: StateDirectory= made and given to User=.
  Deno.mkdirSync(`${root}/var/lib/foldersync`, { recursive: true });
  if (isRoot) Deno.chownSync(`${root}/var/lib/foldersync`, 65534, 65534);
  writeTree(`${root}/srv/source`, { "a.txt": "a", d: { "b.txt": "b" } });
  assert.equal(value(unit, "User"), "foldersync");
  assert.equal(value(health, "User"), "foldersync");

  /** A unit's ExecStart= as the unit's user, with the unit's environment, in the scratch root. */
  const command = (text: string, extra: Record<string, string> = {}) => {
    const [program, ...args] = moved(root, value(text, "ExecStart")).split(" ");
    assert.ok(!args.some((a) => /^--allow-(?!read|write|ffi)/.test(a)), "only read, write, ffi");
    // The unit's replica is a disk's mount point; in the scratch root it is a plain folder.
    const mount = args.indexOf("--require_mount");
    if (mount >= 0) args.splice(mount, 2);
    const env = Object.fromEntries(
      moved(root, value(text, "Environment")).split(" ").map((kv) => kv.split("=", 2)),
    );
    return new Deno.Command(asFoldersync[0] ?? program, {
      args: [...asFoldersync.slice(1), ...(asFoldersync.length ? [program] : []), ...args],
      cwd: moved(root, value(text, "WorkingDirectory")),
      env: { ...env, ...extra },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  };
  const argv = value(unit, "ExecStart").split(" ");
  assert.ok(argv.includes("--cached-only"));
  assert.ok(!argv.some((a) => /^--log[_-]file/.test(a)), "no log file: the journal is the log");

  // Everything outside what the unit may write, to see that the run wrote nothing else.
  const outside = () =>
    listing(root, /^(srv\/replica|var\/lib\/foldersync|var\/cache\/foldersync)$/);
  const before = outside();
  const child = command(unit).spawn();
  let said = "";
  const decoder = new TextDecoder();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) said += decoder.decode(chunk);
  };
  const reading = Promise.all([collect(child.stdout), collect(child.stderr)]);
  try {
    await waitFor(
      () => said.includes("cycle 1 done"),
      20_000,
      () => `a first cycle; it said: ${said}`,
    );
    assert.equal(readOr(`${root}/srv/replica/d/b.txt`), "b");
    // --allow-ffi in ExecStart: the unit runs the native engine.
    assert.match(said, /: mirroring '\S+' to '\S+' every 1m, engine native\n/);
    // The journal gets each line once (stdout and stderr), and there is no log file.
    assert.equal(said.match(/cycle 1 done/g)!.length, 1);
    assert.equal(said.match(/copy +file +d\/b\.txt/g)!.length, 1, said);

    const [kill, ...killArgs] = value(unit, "ExecReload").replace("$MAINPID", String(child.pid))
      .split(" ");
    assert.ok((await new Deno.Command(kill, { args: killArgs }).output()).success);
    await waitFor(() => said.includes("SIGHUP received: no --log_file to reopen"), 10_000);

    const healthy = await command(health).output();
    assert.equal(healthy.code, 0, decoder.decode(healthy.stderr));
    assert.match(decoder.decode(healthy.stdout), /^healthy: last successful cycle /);

    assert.equal(value(unit, "KillSignal"), "SIGTERM");
    child.kill("SIGTERM"); // systemctl stop
    assert.equal((await child.status).code, 0);
    await reading;
    assert.match(said, /stopped\n$/);
  } finally {
    await reap(child);
  }
  assert.deepEqual(outside(), before, "nothing written outside the replica, state and cache");
  // foldersync stopped an hour ago: the health service fails, with one line.
  const record = `${root}/var/lib/foldersync/health.json`;
  const last = JSON.parse(Deno.readTextFileSync(record));
  const hourAgo = Date.now() - 3600_000;
  last.lastSuccess = hourAgo;
  last.lastCycle.time = hourAgo;
  Deno.writeTextFileSync(record, JSON.stringify(last));
  const unhealthy = await command(health).output();
  assert.equal(unhealthy.code, 1);
  const lines = (decoder.decode(unhealthy.stdout) + decoder.decode(unhealthy.stderr)).trim();
  assert.match(lines, /^unhealthy: last cycle .* ago succeeded; none since \(limit 150 s\): .*\?$/);
});

const logrotate = await findOrInstall("logrotate", "logrotate");
const noLogrotate = logrotate.why;

Deno.test({
  name: "the README's logrotate stanza rotates a running foldersync's log" +
    (noLogrotate ? ` (ignored: ${noLogrotate})` : ""),
  ignore: noLogrotate !== undefined,
  async fn() {
    using t = tempDirs();
    writeTree(t.src, { "a.txt": "a" });
    const logs = `${t.dir}/logs`;
    const log = `${logs}/foldersync.log`;
    // At debug, quiet cycles log their summaries too.
    const child = spawn(treeArgs({ ...t, log }, "--sync_interval", "0.1", "--log_level", "debug"));
    try {
      await waitFor(() => readOr(log).includes("cycle 2 done"), 20_000, "two cycles");
      const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
      const stanza = readme.match(/^\/var\/log\/foldersync\/foldersync\.log \{\n[^]*?\n\}$/m)![0];
      assert.match(stanza, /postrotate\n\s+systemctl reload foldersync\.service/);
      // Here: our folder, no `su` (that needs the user), and the signal `systemctl reload` sends.
      const config = `${t.dir}/logrotate.conf`;
      Deno.writeTextFileSync(
        config,
        stanza.replace("/var/log/foldersync", logs).replace(/^\s*su .*\n/m, "")
          .replace(/systemctl reload .*/, `kill -HUP ${child.pid}`),
      );
      const rotate = await new Deno.Command(logrotate.path!, {
        args: ["--force", "--state", `${t.dir}/logrotate.state`, config],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(rotate.code, 0, new TextDecoder().decode(rotate.stderr));
      await waitFor(
        () => /log file reopened \(SIGHUP\)\n.*cycle \d+ done/.test(readOr(log)),
        10_000,
        "the reopened log",
      );
      assert.match(readOr(`${log}.1`), /cycle 1 done/);
      child.kill("SIGTERM");
      assert.equal((await child.status).code, 0);
    } finally {
      await reap(child);
    }
  },
});
