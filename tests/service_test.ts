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
import { holderRecordPath, lockReplica, ReplicaBusyError } from "../lib/lock.ts";

function spawn(args: string[], perms?: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: denoArgs(args, perms),
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

/** The unit file's `ExecStart=` etc., with this machine's deno, checkout and temporary paths. */
function localUnit(t: { src: string; dst: string; dir: string }): string {
  return Deno.readTextFileSync(`${ROOT}/examples/foldersync.service`)
    .replaceAll("/usr/local/bin/deno", Deno.execPath())
    .replaceAll("/opt/foldersync", ROOT)
    .replaceAll("/srv/source", t.src)
    .replaceAll("/srv/replica", t.dst)
    .replaceAll("/var/log/foldersync", `${t.dir}/logs`);
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
  name: "examples/foldersync.service: systemd-analyze verify passes" +
    (noAnalyze ? ` (ignored: ${noAnalyze})` : ""),
  ignore: noAnalyze !== undefined,
  async fn() {
    using t = tempDirs();
    // verify checks that ExecStart's program exists: a copy pointing at this machine's deno.
    const unit = `${t.dir}/foldersync.service`;
    Deno.writeTextFileSync(unit, localUnit(t));
    const verify = await new Deno.Command(analyze.path!, {
      args: ["verify", unit],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(verify.stdout) + new TextDecoder().decode(verify.stderr);
    assert.equal(verify.code, 0, said);
    assert.equal(said, "", "no warnings either");
    // The sandboxing stays tight: systemd's own exposure score (0 safest, 10 worst).
    const security = await new Deno.Command(analyze.path!, {
      args: ["security", "--offline=true", unit],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const score = new TextDecoder().decode(security.stdout).match(/exposure level .*: ([\d.]+)/);
    assert.ok(score, new TextDecoder().decode(security.stderr));
    assert.ok(Number(score[1]) <= 2, `exposure ${score[1]}`);
  },
});

Deno.test("examples/foldersync.service: its ExecStart runs, ExecReload reopens the log, SIGTERM exits 0", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
  Deno.mkdirSync(t.dst);
  const unit = localUnit(t);
  const value = (key: string) => unit.match(new RegExp(`^${key}=(.*)$`, "m"))![1];
  const [program, ...args] = value("ExecStart").split(" ");
  assert.ok(args.includes("--allow-read") && args.includes("--allow-write"));
  assert.ok(!args.some((a) => /^--allow-(?!read$|write$)/.test(a)), "only the two permissions");
  const log = `${t.dir}/logs/foldersync.log`;
  // The unit's replica is a disk's mount point; here it is a temporary folder.
  const mount = args.indexOf("--require_mount");
  assert.equal(args[mount + 1], t.dst);
  args.splice(mount, 2);
  const child = new Deno.Command(program, {
    // The unit's 60 s interval is long for a test.
    args: args.map((a, i) => args[i - 1] === "--sync_interval" ? "0.2" : a),
    cwd: value("WorkingDirectory"),
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, // DENO_DIR: this machine's cache.
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    assert.ok(args.includes("--sync_interval"));
    await waitFor(() => readOr(log).includes("cycle 1 done"), 20_000, "a first cycle");
    assert.equal(readOr(`${t.dst}/d/b.txt`), "b");
    Deno.renameSync(log, `${log}.1`);
    const [kill, ...killArgs] = value("ExecReload").replace("$MAINPID", String(child.pid))
      .split(" ");
    assert.ok((await new Deno.Command(kill, { args: killArgs }).output()).success);
    await waitFor(() => readOr(log).includes("log file reopened (SIGHUP)"), 10_000, "reopened");
    assert.equal(value("KillSignal"), "SIGTERM");
    child.kill("SIGTERM"); // systemctl stop
    assert.equal((await child.status).code, 0);
    assert.match(readOr(log), /stopped\n$/);
  } finally {
    await reap(child);
  }
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
