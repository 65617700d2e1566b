import assert from "node:assert/strict";
import { commandName, parseCommandLine, UsageError } from "../../lib/config/cli.ts";
import { formatDuration, parseDuration } from "../../lib/report/duration.ts";
import { tempDirs } from "../helpers.ts";

const base = ["--source_path", "s", "--replica_path", "r"];

function config(args: string[]) {
  const command = parseCommandLine([...base, ...args]);
  assert.equal(command.kind, "run");
  return (command as Extract<typeof command, { kind: "run" }>).config;
}

Deno.test("cli: the contract's flag names, and kebab-case aliases", () => {
  const a = config(["--sync_interval", "60", "--log_file", "l"]);
  assert.equal(a.source, "s");
  assert.equal(a.replica, "r");
  assert.equal(a.intervalSeconds, 60);
  assert.equal(a.logFile, "l");
  const command = parseCommandLine([
    "--source-path",
    "s",
    "--replica-path",
    "r",
    "--sync-interval",
    "5m",
    "--log-file",
    "l",
    "--dry_run",
    "--allow_empty_source",
  ]);
  assert.equal(command.kind, "run");
  const b = (command as Extract<typeof command, { kind: "run" }>).config;
  assert.equal(b.intervalSeconds, 300);
  assert.equal(b.dryRun, true);
  assert.equal(b.allowEmptySource, true);
});

Deno.test("cli: defaults", () => {
  const c = config([]);
  assert.equal(c.intervalSeconds, 60);
  assert.equal(c.once, false);
  assert.equal(c.logLevel, "info");
  assert.equal(c.logFormat, "text");
  assert.deepEqual(c.filters, []);
  assert.equal(c.deleteExcluded, false);
  assert.equal(c.maxDelete, undefined);
  assert.equal(c.hardLinks, false, "--hard-links is off by default, as in rsync");
});

Deno.test("cli: --hard-links, under both spellings", () => {
  assert.equal(config(["--hard-links"]).hardLinks, true);
  assert.equal(config(["--hard_links"]).hardLinks, true);
});

Deno.test("cli: --modify-window, in seconds, under both spellings; 0 by default", () => {
  assert.equal(config([]).modifyWindowSeconds, 0);
  assert.equal(config(["--modify-window", "2"]).modifyWindowSeconds, 2);
  assert.equal(config(["--modify_window", "0.5"]).modifyWindowSeconds, 0.5);
  assert.equal(config(["--modify-window", "500ms"]).modifyWindowSeconds, 0.5);
});

Deno.test("cli: --exclude and --include keep the order given, as rsync's rules", () => {
  assert.deepEqual(config(["--exclude", "a", "--exclude", "b/**"]).filters, ["- a", "- b/**"]);
  assert.deepEqual(config(["--exclude=a", "--exclude", "c"]).filters, ["- a", "- c"]);
  assert.deepEqual(
    config(["--include", "*/", "--exclude=*.o", "--include", "*.c", "--exclude", "*"]).filters,
    ["+ */", "- *.o", "+ *.c", "- *"],
  );
  // rsync's prefixes and "!" (clear the rules before it) in a flag's value; an empty value is none.
  assert.deepEqual(
    config(["--exclude", "+ keep", "--include", "- drop", "--exclude", "!", "--exclude", ""])
      .filters,
    ["+ keep", "- drop", "!"],
  );
  assert.equal(config(["--delete-excluded"]).deleteExcluded, true);
  assert.equal(config(["--delete_excluded"]).deleteExcluded, true);
});

Deno.test("cli: --exclude-from and --include-from read rules in place, as rsync does", () => {
  using t = tempDirs();
  Deno.writeTextFileSync(`${t.dir}/ex`, "# build output\n*.o\n\n; scratch\n+ keep.o\ntmp/\n");
  Deno.writeTextFileSync(`${t.dir}/in`, "*.c\r\n*/\r\n");
  assert.deepEqual(
    config([
      "--include",
      "a.o",
      "--exclude-from",
      `${t.dir}/ex`,
      "--include_from",
      `${t.dir}/in`,
      "--exclude",
      "*",
    ]).filters,
    ["+ a.o", "- *.o", "+ keep.o", "- tmp/", "+ *.c", "+ */", "- *"],
  );
  assert.match(
    usageError([...base, "--exclude-from", `${t.dir}/missing`]),
    new RegExp(`^--exclude-from '${t.dir}/missing' cannot be read: no such file or directory$`),
  );
  Deno.writeTextFileSync(`${t.dir}/bad`, "ok\n# fine\n[a-\n");
  assert.equal(
    usageError([...base, "--include-from", `${t.dir}/bad`]),
    `--include-from '${t.dir}/bad' line 3: '[a-' is not a valid pattern: ` +
      "'[' without a closing ']'",
  );
});

Deno.test("cli: --require_mount repeats, under both spellings; an empty one is refused", () => {
  assert.deepEqual(config([]).requireMount, []);
  assert.deepEqual(
    config(["--require_mount", "/mnt/a", "--require-mount", "/mnt/b"]).requireMount,
    ["/mnt/a", "/mnt/b"],
  );
  assert.throws(() => config(["--require_mount", ""]), /--require_mount needs a path/);
});

Deno.test("cli: bad values throw a UsageError naming the flag", () => {
  const bad: [string[], RegExp][] = [
    [["--sync_interval", "0"], /--sync_interval/],
    [["--sync_interval", "-5"], /--sync_interval/],
    [["--sync_interval", "soon"], /--sync_interval/],
    [["--log_level", "loud"], /--log_level/],
    [["--log_format", "xml"], /--log_format/],
    [["--max-delete", "x"], /--max-delete/],
    [["--max_delete", "x"], /--max_delete/],
    [["--concurrency", "0"], /--concurrency/],
    [["--bogus"], /unknown flag --bogus/],
    [["stray"], /unexpected argument 'stray'/],
    [["--sync_interval"], /--sync_interval needs a value/],
    [["--source-path", "t"], /given twice/],
    [["--modify-window", "-1"], /--modify-window/],
    [["--modify-window", "soon"], /--modify-window/],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parseCommandLine([...base, ...args]), (error: unknown) => {
      assert.ok(error instanceof UsageError, `${args} should be a UsageError`);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => parseCommandLine(["--replica_path", "r"]), /missing --source_path/);
  assert.throws(() => parseCommandLine(["--source_path", "s"]), /missing --replica_path/);
});

Deno.test("cli: help, version and health", () => {
  assert.equal(parseCommandLine(["--help"]).kind, "help");
  assert.equal(parseCommandLine(["-h"]).kind, "help");
  assert.equal(parseCommandLine(["--version"]).kind, "version");
  assert.deepEqual(parseCommandLine(["--health", "--health_file", "h.json"]), {
    kind: "health",
    healthFile: "h.json",
  });
  assert.throws(() => parseCommandLine(["--health"]), /--health_file/);
});

Deno.test("cli: messages name each flag as the user wrote it", () => {
  assert.match(usageError([...base, "--max_delete", "-1"]), /^--max_delete takes/);
  assert.match(usageError([...base, "--max-delete", "-1"]), /^--max-delete takes/);
  assert.match(usageError([...base, "--log-level", "loud"]), /^--log-level 'loud'/);
  assert.match(usageError([...base, "--log-format", "xml"]), /^--log-format 'xml'/);
  assert.match(usageError([...base, "--backup-keep", "1d"]), /^--backup-keep needs --backup_dir/);
  assert.match(
    usageError([...base, "--backup_dir", "b", "--backup-keep", "0"]),
    /^--backup-keep '0' is not a duration of more than zero/,
  );
  assert.match(usageError([...base, "--debounce", "x"]), /^--debounce 'x'/);
  assert.match(usageError([...base, "--sync-interval", "0"]), /^--sync-interval must be more/);
});

Deno.test("cli: --once has no interval: --sync_interval 0 goes with it", () => {
  const once = config(["--sync_interval", "0", "--once"]);
  assert.equal(once.once, true);
  assert.equal(once.intervalSeconds, 60, "the unused interval keeps its default");
  assert.equal(config(["--sync_interval", "0", "--dry-run"]).once, true);
  assert.equal(config(["--sync_interval", "2m", "--once"]).intervalSeconds, 120);
  // Still refused where the loop would use it, and a non-duration is refused anyway.
  assert.match(usageError([...base, "--sync_interval", "0"]), /must be more than zero/);
  assert.match(
    usageError([...base, "--sync_interval", "0", "--dry-run", "--watch"]),
    /must be more than zero/,
  );
  assert.match(usageError([...base, "--sync_interval", "soon", "--once"]), /is not a duration/);
});

Deno.test("cli: --quiet and --one-file-system, under both spellings", () => {
  const c = config([]);
  assert.equal(c.quiet, false);
  assert.equal(c.oneFileSystem, false);
  assert.equal(c.progress, true);
  const q = config(["--quiet", "--one-file-system"]);
  assert.equal(q.quiet, true);
  assert.equal(q.progress, false, "--quiet draws no progress line either");
  assert.equal(q.oneFileSystem, true);
  assert.equal(config(["--one_file_system"]).oneFileSystem, true);
});

Deno.test("duration: written back as a person writes it, and read back the same", () => {
  const cases: [number, string][] = [
    [600, "10m"],
    [60, "1m"],
    [90, "1m30s"],
    [5400, "1h30m"],
    [86400, "1d"],
    [2592000, "30d"],
    [45, "45s"],
    [0.5, "500ms"],
    [0.25, "250ms"],
    [1.5, "1.5s"],
  ];
  for (const [seconds, text] of cases) {
    assert.equal(formatDuration(seconds), text);
    assert.equal(parseDuration(text), seconds, text);
  }
});

Deno.test("duration: seconds, units and combinations", () => {
  assert.equal(parseDuration("3600"), 3600);
  assert.equal(parseDuration("0.5"), 0.5);
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("5m"), 300);
  assert.equal(parseDuration("1h"), 3600);
  assert.equal(parseDuration("1h30m"), 5400);
  assert.equal(parseDuration("250ms"), 0.25);
  assert.equal(parseDuration("-5"), -5);
  assert.equal(parseDuration(""), undefined);
  assert.equal(parseDuration("5 minutes"), undefined);
  assert.equal(parseDuration("m5"), undefined);
});

function usageError(args: string[]): string {
  try {
    parseCommandLine(args);
  } catch (error) {
    assert.ok(error instanceof UsageError, `${args.join(" ")} should be a UsageError: ${error}`);
    return error.message;
  }
  assert.fail(`${args.join(" ")} was accepted`);
}

Deno.test("cli: a value starting with '-' reaches the value check, for every value-taking flag", () => {
  assert.equal(
    usageError([...base, "--sync_interval", "-1"]),
    "--sync_interval must be more than zero, got '-1'",
  );
  assert.equal(
    usageError([...base, "--sync-interval", "-5m"]),
    "--sync-interval '-5m' is not a duration: use seconds (60, 0.5) or 90s, 5m, 1h",
  );
  assert.equal(
    usageError([...base, "--max-delete", "-1"]),
    "--max-delete takes a whole number of at least 0, got '-1'",
    "the flag as the user wrote it",
  );
  assert.match(usageError([...base, "--concurrency", "-2"]), /--concurrency takes a whole number/);
  assert.match(usageError([...base, "--debounce", "-1"]), /--debounce '-1' is not a duration/);
  assert.match(usageError([...base, "--log_level", "-v"]), /--log_level '-v' is not one of/);
  // A dash value is a value: a log file named "-x" is what was asked for.
  assert.equal(config(["--log_file", "-x"]).logFile, "-x");
  // A flag where a value should be: that value is missing.
  assert.equal(usageError([...base, "--log_file", "--once"]), "--log_file needs a value");
  assert.equal(usageError([...base, "--log_file", "-h"]), "--log_file needs a value");
});

Deno.test("cli: an unknown flag close to a known one gets 'did you mean', in the spelling typed", () => {
  assert.equal(
    usageError(["--source_pth", "s"]),
    "unknown flag --source_pth: did you mean --source_path?",
  );
  assert.equal(
    usageError(["--replica-paht", "r"]),
    "unknown flag --replica-paht: did you mean --replica-path?",
  );
  assert.equal(usageError(["--dryrun"]), "unknown flag --dryrun: did you mean --dry_run?");
  assert.equal(
    usageError(["--sync_intervall=5"]),
    "unknown flag --sync_intervall: did you mean --sync_interval?",
  );
  assert.equal(usageError(["--bogus"]), "unknown flag --bogus");
  assert.equal(usageError(["--verbose"]), "unknown flag --verbose");
});

Deno.test("cli: a pattern that can never match is a usage error naming it", () => {
  assert.equal(
    usageError([...base, "--exclude", "ok/**", "--exclude", "[a-"]),
    "--exclude '[a-' is not a valid pattern: '[' without a closing ']'",
  );
  assert.equal(
    usageError([...base, "--include", "/[z-a]"]),
    "--include '/[z-a]' is not a valid pattern: range out of order in character class",
  );
  // Braces are plain characters, as in rsync.
  assert.deepEqual(config(["--exclude", "{a,b}", "--exclude", "{a,b"]).filters, [
    "- {a,b}",
    "- {a,b",
  ]);
});

Deno.test("cli: --dry-run runs one cycle, unless --watch", () => {
  assert.equal(config(["--dry-run"]).once, true);
  assert.equal(config(["--dry-run", "--once"]).once, true);
  const watching = config(["--dry-run", "--watch"]);
  assert.equal(watching.once, false);
  assert.equal(watching.dryRun, true);
  assert.equal(config([]).once, false);
});

Deno.test("cli: hints name the command the user ran", () => {
  assert.equal(
    commandName({ standalone: false, mainModule: "file:///app/main.ts", cwd: "/app" }),
    "deno run main.ts",
  );
  assert.equal(
    commandName({ standalone: false, mainModule: "file:///src/fs/main.ts", cwd: "/src" }),
    "deno run fs/main.ts",
  );
  assert.equal(
    commandName({ standalone: false, mainModule: "file:///app/main.ts", cwd: "/home/me" }),
    "deno run /app/main.ts",
  );
  assert.equal(
    commandName({ standalone: false, mainModule: "https://example.com/fs/main.ts" }),
    "deno run https://example.com/fs/main.ts",
  );
  assert.equal(
    commandName({ standalone: true, execPath: "/usr/local/bin/mirror-tool" }),
    "mirror-tool",
  );
  // This test process is `deno test`, not a compiled binary.
  assert.match(commandName(), /^deno run /);
});
