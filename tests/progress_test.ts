/**
 * Reading a cycle: the live progress line on a real terminal under `script`, and never in the
 * log file or on a pipe (its text and timing on a fake clock: unit/progress_test.ts), and
 * `--log_format json`.
 */
import assert from "node:assert/strict";
import { denoArgs, ROOT, runCli, syncOnce, tempDirs, waitFor, writeTree } from "./helpers.ts";
import { createProgressLine } from "../lib/report/progress.ts";

Deno.test("progress line: copies under way count as their files grow", () => {
  using dirs = tempDirs();
  let clock = 0;
  const progress = createProgressLine({ write: () => {}, now: () => clock });
  const inflight = new Set<string>();
  progress.start();
  progress.watch(inflight);
  progress.plan(2, 3 << 20);
  progress.scanDone();
  const tmp = `${dirs.dir}/.foldersync-tmp-0123456789abcdef`;
  inflight.add(tmp);
  inflight.add(`${dirs.dir}/.foldersync-tmp-not-created-yet`);
  clock = 1000;
  assert.match(progress.text(), /0\/2 files, 0 B\/3\.0 MiB, 0 B\/s, ETA \?$/);
  const file = Deno.openSync(tmp, { write: true, create: true });
  file.writeSync(new Uint8Array(1 << 20));
  clock = 2000;
  assert.match(
    progress.text(),
    /0\/2 files, 1\.0 MiB\/3\.0 MiB, 512\.0 KiB\/s, ETA 4 s$/,
  );
  file.writeSync(new Uint8Array(1 << 20));
  file.close();
  // Renamed into place: out of the set, and its event counts it once.
  Deno.renameSync(tmp, `${dirs.dir}/big`);
  inflight.delete(tmp);
  progress.event({ action: "copy", path: "big", kind: "file", bytes: 2 << 20 });
  clock = 3000;
  assert.match(progress.text(), /1\/2 files, 2\.0 MiB\/3\.0 MiB, /);
  // A new cycle forgets the old set.
  progress.start();
  inflight.add(`${dirs.dir}/big`);
  assert.match(progress.text(), /0\/0 files, 0 B\/0 B found so far/, "and the scan is new");
  progress.stop();
});

Deno.test("progress line: drawn on a terminal (script), never in the log file or on a pipe", async (t) => {
  const script = await new Deno.Command("script", { args: ["--version"], stdout: "null" }).output()
    .catch(() => undefined);
  if (!script?.success) {
    console.log("skipped: no script(1) (util-linux) to provide a terminal");
    return;
  }
  using dirs = tempDirs();
  // Enough files that the cycle runs for more than a second (the line's delay).
  const tree: Record<string, Record<string, Uint8Array>> = {};
  const content = new Uint8Array(512);
  for (let d = 0; d < 6; d++) {
    tree[`d${d}`] = {};
    for (let i = 0; i < 250; i++) tree[`d${d}`][`f${i}`] = content;
  }
  writeTree(dirs.src, tree);
  const typescript = `${dirs.dir}/typescript`;
  const log = `${dirs.dir}/sync.log`;
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const args = ["--source_path", dirs.src, "--replica_path", dirs.dst, "--log_file", log, "--once"];
  const command = [Deno.execPath(), ...denoArgs(args)].map(quote).join(" ");
  const run = await new Deno.Command("script", {
    args: ["-qfec", command, typescript],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  assert.equal(run.code, 0);
  const terminal = Deno.readTextFileSync(typescript);
  const logText = Deno.readTextFileSync(log);
  const seconds = Number(logText.match(/cycle 1 done in ([\d.]+) s/)?.[1]);
  assert.ok(seconds > 0, "the cycle ran");
  assert.ok(!logText.includes("syncing:") && !logText.includes("\x1b"), "never in the log file");

  await t.step("on the terminal", () => {
    console.log(`cycle took ${seconds} s`);
    if (seconds < 1.5) {
      console.log(`cycle took only ${seconds} s: too short for the line to be sure to appear`);
      return;
    }
    assert.match(terminal, new RegExp(String.raw`\r\u001b\[Ksyncing: \d+/\d+ files, .*/s`));
    // Erased before the summary line: the last progress text is followed by a clear.
    const last = terminal.lastIndexOf("syncing:");
    const summary = terminal.indexOf("cycle 1 done");
    // Drawn again right below a log line printed while it was shown (on a busy machine the
    // changes may all be logged before the line first appears).
    const shown = terminal.slice(terminal.indexOf("\r\x1b[Ksyncing:"), summary);
    if (/INFO +(copy|create|update) /.test(shown)) {
      assert.match(terminal, /\r?\nsyncing: \d+\/\d+ files, /);
    }
    assert.ok(last < summary);
    assert.ok(terminal.slice(last, summary).includes("\r\x1b[K"), "cleared before the summary");
    // At most ~5 timed redraws a second (and one after each batch of log lines).
    const draws = terminal.split("\r\x1b[Ksyncing:").length - 1;
    assert.ok(draws <= seconds * 5 + 2, `${draws} draws in ${seconds} s`);
  });

  await t.step("--no-progress and a pipe show none", async () => {
    Deno.removeSync(dirs.dst, { recursive: true });
    const piped = await syncOnce(dirs);
    assert.equal(piped.code, 0);
    const output = piped.stdout + piped.stderr;
    assert.ok(!output.includes("syncing:") && !output.includes("\x1b"), output);
    Deno.removeSync(dirs.dst, { recursive: true });
    const off = `${dirs.dir}/typescript-off`;
    await new Deno.Command("script", {
      args: ["-qfec", command + " --no-progress", off],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    const text = Deno.readTextFileSync(off);
    assert.match(text, /cycle 1 done/);
    assert.doesNotMatch(text, /syncing:/);
  });
});

/** The terminal's rows once `text` is drawn: `\r`, `\n` and erase-to-end-of-line (`\x1b[K`). */
function screen(text: string): string[] {
  const rows = [""];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith("\x1b[K", i)) {
      rows[rows.length - 1] = rows[rows.length - 1].slice(0, col);
      i += 2;
    } else if (text[i] === "\r") col = 0;
    else if (text[i] === "\n") {
      rows.push("");
      col = 0;
    } else {
      const row = rows[rows.length - 1].padEnd(col);
      rows[rows.length - 1] = row.slice(0, col) + text[i] + row.slice(col + 1);
      col++;
    }
  }
  return rows;
}

Deno.test("progress line: a second Ctrl-C (exit 130) leaves no progress line on the terminal", async () => {
  const script = await new Deno.Command("script", { args: ["--version"], stdout: "null" }).output()
    .catch(() => undefined);
  if (!script?.success) {
    console.log("skipped: no script(1) (util-linux) to provide a terminal");
    return;
  }
  using dirs = tempDirs();
  // A first copy of 20,000 small files: long enough that the line shows while it runs.
  const tree: Record<string, Record<string, string>> = {};
  for (let d = 0; d < 100; d++) {
    tree[`d${d}`] = {};
    for (let i = 0; i < 200; i++) tree[`d${d}`][`f${i}`] = "x";
  }
  writeTree(dirs.src, tree);
  const typescript = `${dirs.dir}/typescript`;
  const pidFile = `${dirs.dir}/pid`;
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const args = ["--source_path", dirs.src, "--replica_path", dirs.dst, "--once"];
  const command = [Deno.execPath(), ...denoArgs(args)].map(quote).join(" ");
  const run = new Deno.Command("script", {
    args: ["-qfec", `echo $$ > ${quote(pidFile)}; exec ${command}`, typescript],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const read = () => {
      try {
        return Deno.readTextFileSync(typescript);
      } catch {
        return "";
      }
    };
    await waitFor(() => read().includes("syncing:"), 30_000, "the progress line");
    const pid = Number(Deno.readTextFileSync(pidFile));
    // Two stop signals at once: SIGINT and SIGTERM are both pending when it resumes.
    Deno.kill(pid, "SIGSTOP");
    Deno.kill(pid, "SIGINT");
    Deno.kill(pid, "SIGTERM");
    Deno.kill(pid, "SIGCONT");
    // script(1) stops itself when its child stops, and waits for a SIGCONT of its own.
    let exited = false;
    const status = run.status.finally(() => exited = true);
    await waitFor(
      () => {
        if (!exited) Deno.kill(run.pid, "SIGCONT");
        return exited;
      },
      10_000,
      "script to exit",
    );
    assert.equal((await status).code, 130, "the second signal ends it at once");
  } finally {
    try {
      run.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await run.status;
  }
  const terminal = Deno.readTextFileSync(typescript);
  const rows = screen(terminal.slice(0, terminal.lastIndexOf("Script done")));
  // The row the cursor was left on, where the shell's prompt goes next.
  assert.equal(rows.at(-2), "", `a line left on the terminal:\n${rows.slice(-4).join("\n")}`);
  // The first signal's line is there; copies finishing between the two signals may log after it.
  assert.ok(rows.some((row) => /SIGINT received|SIGTERM received/.test(row)), rows.join("\n"));
  assert.doesNotMatch(rows.at(-3)!, /syncing:/);
});

Deno.test("progress line: one big copy on a 50-column terminal (script) moves the byte count", async () => {
  const script = await new Deno.Command("script", { args: ["--version"], stdout: "null" }).output()
    .catch(() => undefined);
  if (!script?.success) {
    console.log("skipped: no script(1) (util-linux) to provide a terminal");
    return;
  }
  using dirs = tempDirs();
  // 512 MiB of real (non-sparse, non-zero) data: a copy that takes a while on any disk.
  const source = `${dirs.dir}/big`;
  const chunk = new Uint8Array(8 << 20).map((_, i) => (i * 131 + 7) % 251);
  const file = Deno.openSync(source, { write: true, create: true });
  for (let i = 0; i < 64; i++) file.writeSync(chunk);
  file.close();
  Deno.mkdirSync(dirs.dst);
  const typescript = `${dirs.dir}/typescript`;
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const driver = [Deno.execPath(), "run", "--quiet", "--allow-read", "--allow-write"]
    .concat([`${ROOT}/tests/progress_copy.ts`, source, dirs.dst]).map(quote).join(" ");
  const run = await new Deno.Command("script", {
    args: ["-qfec", `stty cols 50 rows 20 && ${driver}`, typescript],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  assert.equal(run.code, 0);
  assert.equal(Deno.statSync(`${dirs.dst}/big`).size, 512 << 20);
  const terminal = Deno.readTextFileSync(typescript);
  const done = terminal.indexOf("copy big done");
  assert.ok(done > 0, terminal);
  // Every drawn line fits in 49 columns; the bytes done move during the copy, never back.
  const draws = terminal.slice(0, done).split("\r\x1b[K").slice(1).map((d) => d.trimEnd())
    .filter((d) => d !== "");
  for (const d of draws) assert.ok(d.length <= 49, `'${d}' is ${d.length} columns`);
  const mib = draws.map((d) => {
    const m = d.match(/^(?:syncing: )?(?:\d\/1 files, )?([\d.]+) (B|KiB|MiB)\/512\.0 MiB, /);
    assert.ok(m, `'${d}'`);
    return Number(m[1]) / (m[2] === "MiB" ? 1 : m[2] === "KiB" ? 1024 : 2 ** 20);
  });
  const during = [...new Set(mib.filter((v) => v > 0 && v < 512))];
  console.log(`${draws.length} draws during the copy, bytes done (MiB): ${during.join(" ")}`);
  assert.ok(during.length >= 2, `the count moved during the copy: ${mib.join(" ")}`);
  for (let i = 1; i < mib.length; i++) assert.ok(mib[i] >= mib[i - 1], mib.join(" "));
  // Drawn again right below the log line (the file count left out when the rate is too wide
  // for 50 columns, as on a slow disk), then complete at the next redraw.
  assert.match(
    terminal.slice(done),
    /^copy big done\r?\n(?:\d\/1 files, )?[\d.]+ (?:B|KiB|MiB)\/512\.0 MiB, /,
  );
  assert.match(terminal.slice(done), /512\.0 MiB\/512\.0 MiB, .*ETA 0 s/);
});

Deno.test("--log_format json: one object per line on the console and in the file", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "hello", sub: { "b.txt": "b" } });
  writeTree(t.dst, { "extra.txt": "x" });
  const result = await syncOnce(t, "--log_format", "json");
  assert.equal(result.code, 0, result.stderr);
  for (const text of [result.stdout, Deno.readTextFileSync(t.log)]) {
    const lines = text.trim().split("\n");
    const objects = lines.map((line) => JSON.parse(line));
    for (const o of objects) {
      assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(["debug", "info", "warning", "error"].includes(o.level), o.level);
    }
    const events = objects.filter((o) => o.action && o.action !== "summary");
    assert.deepEqual(
      events.map((o) => [o.action, o.kind, o.path, o.bytes]).sort(),
      [
        ["copy", "file", "a.txt", 5],
        ["copy", "file", "sub/b.txt", 1],
        ["create", "dir", "sub", undefined],
        ["remove", "file", "extra.txt", undefined],
      ],
    );
    const summaries = objects.filter((o) => o.action === "summary");
    assert.equal(summaries.length, 1);
    assert.deepEqual(
      { ...summaries[0], time: undefined, seconds: undefined },
      {
        time: undefined,
        level: "info",
        action: "summary",
        cycle: 1,
        status: "done",
        seconds: undefined,
        create: 1,
        copy: 2,
        update: 0,
        remove: 1,
        backup: 0,
        backupRemoved: 0,
        skip: 0,
        error: 0,
        bytes: 6,
        scanned: 3,
        future: 0,
        aborted: false,
        dryRun: false,
      },
    );
    assert.ok(objects.some((o) => typeof o.message === "string" && /mirroring/.test(o.message)));
  }
});

Deno.test("--log_format json with --watch: the watch summary carries watchDirs", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(["--source_path", t.src, "--replica_path", t.dst, "--watch"].concat(
      ["--sync_interval", "1h", "--log_format", "json"],
    )),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) stdout += chunk;
  })();
  const stderr = new Response(child.stderr).text();
  const until = async (re: RegExp) => {
    const deadline = Date.now() + 10_000;
    while (!re.test(stdout)) {
      if (Date.now() > deadline) throw new Error(`no ${re} in:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await until(/"action":"summary"/);
    Deno.writeTextFileSync(`${t.src}/b.txt`, "b");
    await until(/"watchDirs":1/);
  } finally {
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await reading;
    await stderr;
  }
  const summaries = stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((o) =>
    o.action === "summary"
  );
  assert.equal(summaries[0].watchDirs, undefined);
  assert.equal(summaries[1].watchDirs, 1);
  assert.equal(summaries[1].copy, 1);
});

Deno.test("help text lists --watch, --debounce and --no-progress", async () => {
  const help = await runCli(["--help"]);
  for (const flag of ["--watch", "--debounce DUR", "--no-progress"]) {
    assert.ok(help.stdout.includes(flag), flag);
  }
});
