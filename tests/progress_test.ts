/**
 * Reading a cycle: the live progress line (its text and timing with a fake
 * clock; on a real terminal under `script`, and never in the log file or on
 * a pipe) and `--log_format json`.
 */
import assert from "node:assert/strict";
import { MAIN, ROOT, runCli, syncOnce, tempDirs, writeTree } from "./helpers.ts";
import { createProgressLine } from "../lib/progress.ts";

Deno.test("progress line: counts, rate, ETA; delayed, throttled, erased around log lines", async () => {
  let clock = 0;
  let out = "";
  const progress = createProgressLine({
    write: (text) => out += text,
    columns: () => 200,
    now: () => clock,
    delayMs: 1000,
    intervalMs: 5,
  });
  const tick = () => new Promise((r) => setTimeout(r, 20)); // Let the redraw timer run.
  progress.start();
  progress.plan(4, 4 << 20);
  progress.event({ action: "copy", path: "a", kind: "file", bytes: 1 << 20 });
  await tick();
  assert.equal(out, "", "nothing before the delay");
  clock = 2000;
  await tick();
  assert.equal(
    out,
    "\r\x1b[Ksyncing: 1/4 files, 1.0 MiB/4.0 MiB found so far, 512.0 KiB/s, ETA 6 s",
  );
  out = "";
  await tick();
  assert.equal(out, "", "no redraw when nothing changed");

  let printed = "";
  progress.around(() => printed = out);
  assert.equal(printed, "\r\x1b[K", "erased before the log line prints");
  out = "";
  progress.around(() => {});
  assert.equal(out, "", "erased only once");
  await tick();
  assert.ok(out.startsWith("\r\x1b[Ksyncing: 1/4 files"), "back at the next redraw");

  // Removals and skips are not progress; updates are; the walk finds more.
  progress.event({ action: "remove", path: "b", kind: "file" });
  progress.event({ action: "update", path: "c", kind: "file", bytes: 3 << 20 });
  progress.plan(2, 0);
  clock = 4000;
  out = "";
  await tick();
  assert.match(
    out,
    /syncing: 2\/6 files, 4\.0 MiB\/4\.0 MiB found so far, 1\.0 MiB\/s, ETA 0 s$/,
  );

  out = "";
  progress.stop();
  assert.equal(out, "\r\x1b[K", "erased at the end");
  out = "";
  await tick();
  assert.equal(out, "", "not drawn after the cycle");

  // Never wider than the terminal (one column is left free so it never wraps).
  const draws: string[] = [];
  const narrow = createProgressLine({
    write: (t) => draws.push(t),
    columns: () => 20,
    now: () => clock,
    intervalMs: 5,
  });
  narrow.start();
  clock += 5000;
  await tick();
  narrow.stop();
  assert.deepEqual(draws, ["\r\x1b[Ksyncing: 0/0 files,", "\r\x1b[K"]);
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
  const command = [Deno.execPath(), "run", "--quiet", "--allow-read", "--allow-write", MAIN]
    .concat(["--source_path", dirs.src, "--replica_path", dirs.dst, "--log_file", log, "--once"])
    .map(quote).join(" ");
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
    const line = new RegExp(
      String.raw`\r\u001b\[Ksyncing: \d+/\d+ files, .* found so far, .*/s, ETA `,
    );
    assert.match(terminal, line);
    // Erased before the summary line: the last progress text is followed by a clear.
    const last = terminal.lastIndexOf("syncing:");
    const summary = terminal.indexOf("cycle 1 done");
    assert.ok(last < summary);
    assert.ok(terminal.slice(last, summary).includes("\r\x1b[K"), "cleared before the summary");
    // At most ~5 redraws a second.
    const draws = terminal.split("syncing:").length - 1;
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
        skip: 0,
        error: 0,
        bytes: 6,
        scanned: 3,
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
    args: ["run", "--quiet", "--allow-read", "--allow-write", MAIN, "--source_path", t.src]
      .concat(["--replica_path", t.dst, "--watch", "--sync_interval", "1h"])
      .concat(["--log_format", "json"]),
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
