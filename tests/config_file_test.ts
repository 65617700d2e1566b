/**
 * `--config FILE`: the TOML file's keys, defaults and overrides, its errors
 * (file, line, key, "did you mean"); and end to end, one process running two
 * folder pairs (both mirrored, names in the log, a lock each, their cycles one
 * at a time, the metrics file, `--health` for every pair).
 */
import assert from "node:assert/strict";
import { type Config, FLAGS } from "../lib/config/cli.ts";
import { ConfigError } from "../lib/config/check_config.ts";
import {
  checkPairs,
  type ConfigCommand,
  ConfigFileError,
  loadConfigFile,
  type Pair,
} from "../lib/config/config_file.ts";
import { holderRecordPath } from "../lib/loop/lock.ts";
import { parsePrometheus, sampleValue } from "./prometheus.ts";
import {
  type LiveCli,
  readOr,
  runCli,
  snap,
  spawnCli,
  tempDirs,
  testEngine,
  waitFor,
  writeTree,
} from "./helpers.ts";

/** Writes `text` as `<dir>/foldersync.toml` and loads it with these command-line flags. */
function load(dir: string, text: string, ...args: string[]): ConfigCommand {
  const file = `${dir}/foldersync.toml`;
  Deno.writeTextFileSync(file, text);
  return loadConfigFile(file, ["--config", file, ...args]);
}

function pairs(command: ConfigCommand): Map<string, Config> {
  assert.equal(command.kind, "run");
  return new Map((command as { pairs: Pair[] }).pairs.map((p) => [p.name, p.config]));
}

/** The one-line message of a bad file. */
function fileError(dir: string, text: string, ...args: string[]): string {
  try {
    load(dir, text, ...args);
  } catch (error) {
    if (error instanceof ConfigFileError) return error.message;
    throw error;
  }
  assert.fail(`accepted:\n${text}`);
}

const TWO = `
log_file = "logs/foldersync.log"
sync_interval = "5m"
health_file = "state/health.json"
backup_dir = "/var/backups/foldersync"
exclude = ["*.tmp"]

[[pair]]
name = "photos"
source_path = "/srv/photos"
replica_path = "replicas/photos"

[[pair]]
name = "docs"
source_path = "docs"
replica_path = "/mnt/backup/docs"
sync_interval = "1h"
exclude = []
health_file = "/run/docs-health.json"
once = true
`;

Deno.test("config: top-level keys are defaults, a pair's own replace them; paths from the file's folder", () => {
  using t = tempDirs();
  const p = pairs(load(t.dir, TWO));
  assert.deepEqual([...p.keys()], ["photos", "docs"]);
  const photos = p.get("photos")!;
  assert.equal(photos.source, "/srv/photos");
  assert.equal(photos.replica, `${t.dir}/replicas/photos`, "relative to the file's folder");
  assert.equal(photos.logFile, `${t.dir}/logs/foldersync.log`);
  assert.equal(photos.intervalSeconds, 300);
  assert.deepEqual(photos.filters, ["- *.tmp"]);
  assert.equal(photos.once, false);
  // A shared default file or folder becomes one per pair; a pair's own is used as it is.
  assert.equal(photos.healthFile, `${t.dir}/state/health.photos.json`);
  assert.equal(photos.backupDir, "/var/backups/foldersync/photos");
  const docs = p.get("docs")!;
  assert.equal(docs.source, `${t.dir}/docs`);
  assert.equal(docs.intervalSeconds, 3600);
  assert.deepEqual(docs.filters, [], "an empty list drops the default");
  assert.equal(docs.healthFile, "/run/docs-health.json");
  assert.equal(docs.backupDir, "/var/backups/foldersync/docs");
  assert.equal(docs.once, true);
  assert.equal(docs.logFile, photos.logFile, "one log for the process");
});

Deno.test("config: flags on the command line override the file, top level and pairs alike", () => {
  using t = tempDirs();
  const p = pairs(
    load(t.dir, TWO, "--sync-interval", "10", "--exclude", "*.bak", "--exclude=*.old", "--once"),
  );
  for (const config of p.values()) {
    assert.equal(config.intervalSeconds, 10);
    assert.deepEqual(config.filters, ["- *.bak", "- *.old"]);
    assert.equal(config.once, true);
  }
  // A health file given on the command line is a default too: one per pair.
  const h = pairs(load(t.dir, TWO, "--health_file", "/tmp/h.json"));
  assert.equal(h.get("photos")!.healthFile, "/tmp/h.photos.json");
  assert.equal(h.get("docs")!.healthFile, "/tmp/h.docs.json");
  // A bad value on the command line is the command line's mistake, named as usual.
  assert.throws(
    () => load(t.dir, TWO, "--sync_interval", "soon"),
    (e: Error) =>
      e.name === "UsageError" && /^--sync_interval 'soon' is not a duration/.test(e.message),
  );
  // --health checks every pair's health file.
  const health = load(t.dir, TWO, "--health");
  assert.deepEqual(health, {
    kind: "health",
    pairs: [
      { name: "photos", healthFile: `${t.dir}/state/health.photos.json` },
      { name: "docs", healthFile: "/run/docs-health.json" },
    ],
  });
});

Deno.test("config: an unknown key names the file, the line and the nearest valid key", () => {
  using t = tempDirs();
  const file = `${t.dir}/foldersync.toml`;
  const pair = '[[pair]]\nname = "p"\nsource_path = "s"\nreplica_path = "r"\n';
  assert.equal(
    fileError(t.dir, `sync_intervl = "5m"\n${pair}`),
    `${file}:1: unknown key 'sync_intervl': did you mean 'sync_interval'?`,
  );
  assert.equal(
    fileError(t.dir, `${pair}\n# a comment\nexlude = ["*.tmp"]\n`),
    `${file}:7: unknown key 'exlude' in [[pair]]: did you mean 'exclude'?`,
  );
  assert.equal(
    fileError(t.dir, `${pair}replica-path = "x"\n`),
    `${file}:5: unknown key 'replica-path' in [[pair]]: did you mean 'replica_path'?`,
  );
  assert.equal(fileError(t.dir, `colour = "blue"\n${pair}`), `${file}:1: unknown key 'colour'`);
  assert.equal(
    fileError(t.dir, `${pair}[[pairs]]\nname = "q"\n`),
    `${file}:5: unknown key 'pairs': did you mean 'pair'?`,
  );
  assert.equal(
    fileError(t.dir, `health = true\n${pair}`),
    `${file}:1: 'health' is not a setting: give --health on the command line`,
  );
  // Settings of the whole process belong at the top.
  assert.equal(
    fileError(t.dir, `${pair}log_level = "debug"\n`),
    `${file}:5: log_level applies to the whole process: set it at the top of the file, ` +
      "before the first [[pair]]",
  );
});

Deno.test({
  name: "config: engine is a top-level key, the command line overrides it; native without FFI " +
    "names its line",
  ignore: Deno.permissions.querySync({ name: "ffi" }).state === "granted",
  fn() {
    using t = tempDirs();
    const file = `${t.dir}/foldersync.toml`;
    const pair = '[[pair]]\nname = "p"\nsource_path = "s"\nreplica_path = "r"\n';
    assert.equal(pairs(load(t.dir, `engine = "portable"\n${pair}`)).get("p")!.engine, "portable");
    assert.equal(
      fileError(t.dir, `engine = "native"\n${pair}`),
      `${file}:1: engine native needs --allow-ffi (unscoped): add it to deno run (or deno ` +
        "compile), or use engine portable",
    );
    const overridden = load(t.dir, `engine = "native"\n${pair}`, "--engine", "portable");
    assert.equal(pairs(overridden).get("p")!.engine, "portable");
    assert.equal(
      fileError(t.dir, `${pair}engine = "portable"\n`),
      `${file}:5: engine applies to the whole process: set it at the top of the file, ` +
        "before the first [[pair]]",
    );
  },
});

Deno.test("config: a bad value names the file, the line and the key, in the flag's own words", () => {
  using t = tempDirs();
  const file = `${t.dir}/foldersync.toml`;
  const pair = '[[pair]]\nname = "p"\nsource_path = "s"\nreplica_path = "r"\n';
  const cases: [string, string][] = [
    [
      `${pair}sync_interval = "5 parsecs"\n`,
      `5: [[pair]] 'p': sync_interval '5 parsecs' is not a duration: use seconds (60, 0.5) or 90s, 5m, 1h`,
    ],
    [
      `sync_interval = "abc"\n${pair}`,
      `1: sync_interval 'abc' is not a duration: use seconds (60, 0.5) or 90s, 5m, 1h`,
    ],
    [
      `${pair}max_delete = -3\n`,
      `5: [[pair]] 'p': max_delete takes a whole number of at least 0, got '-3'`,
    ],
    [`${pair}once = "yes"\n`, `5: once takes true or false, got "yes"`],
    [`${pair}exclude = [1, {}]\n`, `5: exclude takes text or a list of text, got a table`],
    [`${pair}max_delete = [1]\n`, `5: max_delete takes one value, not a list, got a list`],
    [`source_path = 5\n${pair}`, `1: source_path takes a path in quotes, got 5`],
    [
      `${pair}exclude = ["[a-"]\n`,
      `5: [[pair]] 'p': exclude '[a-' is not a valid pattern: '[' without a closing ']'`,
    ],
    [`${pair}backup_keep = "1d"\n`, `5: [[pair]] 'p': backup_keep needs backup_dir DIR`],
    [
      `${pair}watch = true\nonce = true\n`,
      `5: [[pair]] 'p': watch and once do not go together: drop one of them`,
    ],
    [
      `${pair}sync_interval = 1979-05-27\n`,
      `5: sync_interval takes one value (text or a number), got a date (1979-05-27)`,
    ],
    [
      '[[pair]]\nname = "p"\nsource_path = "s"\n',
      `1: [[pair]] 'p': missing replica_path (the folder to keep as its mirror)`,
    ],
    ['x = 1\n\n[[pair]]\nsource_path = "s"\n', `1: unknown key 'x'`],
    ['\n[[pair]]\nsource_path = "s"\n', `2: [[pair]] needs a name (name = "photos")`],
    [
      '[[pair]]\nname = "my photos"\n',
      `2: name must be letters, digits, '.', '_' or '-' (it names files and metrics), got "my photos"`,
    ],
    [`${pair}\n${pair}`, `7: name 'p' is taken by the [[pair]] at line 2: give each pair its own`],
    [
      '[pair]\nname = "p"\n',
      `1: 'pair' must be [[pair]] tables (name, source_path, replica_path, ...)`,
    ],
    [
      'sync_interval = "5m\n',
      `1:20: not valid TOML: control characters are not allowed in strings`,
    ],
  ];
  for (const [text, message] of cases) assert.equal(fileError(t.dir, text), `${file}:${message}`);
  assert.equal(
    fileError(t.dir, 'sync_interval = "5m"\n'),
    `${file}: no [[pair]]: add one with name, source_path and replica_path`,
  );
  assert.throws(
    () => loadConfigFile(`${t.dir}/missing.toml`, []),
    (e: Error) =>
      e instanceof ConfigFileError &&
      e.message === `--config '${t.dir}/missing.toml' cannot be read: no such file or directory`,
  );
});

Deno.test("config: every flag in lib/config/cli.ts's table is a key, by its snake_case name", () => {
  using t = tempDirs();
  const commands = new Set(["config", "health", "help", "version"]);
  for (const [key, spec] of Object.entries(FLAGS)) {
    if (commands.has(key)) continue;
    const value = spec.type === "boolean" ? "true" : spec.multiple ? '["x"]' : '"x"';
    const text = `[[pair]]\nname = "p"\nsource_path = "s"\nreplica_path = "r"\n${key} = ${value}\n`;
    const top = `${key} = ${value}\n[[pair]]\nname = "p"\nsource_path = "s"\nreplica_path = "r"\n`;
    for (const file of [text, top]) {
      try {
        load(t.dir, file);
      } catch (error) {
        // A value the flag refuses is fine ("x" is no duration); a key it does not know is not.
        if (!(error instanceof ConfigFileError)) throw error;
        assert.doesNotMatch(error.message, /unknown key/, key);
      }
    }
  }
});

Deno.test("checkPairs: replicas apart, and no file foldersync writes inside another pair's trees", () => {
  const pair = (name: string, source: string, replica: string, extra: Partial<Config> = {}) => ({
    name,
    config: { source, replica, ...extra } as Config,
  });
  checkPairs([pair("a", "/srv/a", "/mnt/a"), pair("b", "/srv/a", "/mnt/b")]); // One source, two disks.
  checkPairs([pair("a", "/srv/a", "/mnt/a"), pair("b", "/mnt/a", "/mnt/b")]); // A chain.
  const refused = (pairs: { name: string; config: Config }[], message: RegExp) =>
    assert.throws(
      () => checkPairs(pairs),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
    );
  refused(
    [pair("a", "/srv/a", "/mnt/x"), pair("b", "/srv/b", "/mnt/x")],
    /^pairs 'a' and 'b' have the same replica '\/mnt\/x': give each its own$/,
  );
  refused(
    [pair("a", "/srv/a", "/mnt/x"), pair("b", "/srv/b", "/mnt/x/b")],
    /^pair 'b' has its replica inside the replica of pair 'a', whose mirror would delete it/,
  );
  refused(
    [pair("a", "/srv/a", "/mnt/a", { healthFile: "/mnt/b/h.json" }), pair("b", "/srv/b", "/mnt/b")],
    /^health_file '\/mnt\/b\/h\.json' of pair 'a' overlaps the replica of pair 'b'/,
  );
  refused(
    [pair("a", "/srv/a", "/mnt/a", { backupDir: "/srv/b/old" }), pair("b", "/srv/b", "/mnt/b")],
    /^backup_dir '\/srv\/b\/old' of pair 'a' overlaps the source of pair 'b'/,
  );
  refused(
    [
      pair("a", "/srv/a", "/mnt/a", { healthFile: "/run/h.json" }),
      pair("b", "/srv/b", "/mnt/b", { healthFile: "/run/h.json" }),
    ],
    /^pairs 'a' and 'b' share the health file '\/run\/h\.json'/,
  );
});

/** SIGTERM, and SIGKILL if that has not stopped it within 10 s (a hung run fails, not hangs). */
async function stop(child: LiveCli): Promise<number> {
  child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)));
  const status = await Promise.race([child.status, late]);
  clearTimeout(timer);
  if (status) return status.code;
  child.kill("SIGKILL");
  await child.status;
  return -1;
}

/** Two sources of `n` files each, and a config file for them in `dir`. */
function twoPairs(dir: string, n: number, top = ""): string {
  const files = (tag: string) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${tag}-${i}.txt`, `${tag} ${i}\n`]));
  writeTree(`${dir}/photos`, { ...files("photo"), "skip.tmp": "x", album: { "a.jpg": "jpg" } });
  writeTree(`${dir}/docs`, { ...files("doc"), "notes.md": "# notes\n" });
  Deno.mkdirSync(`${dir}/replicas`); // Only a replica's last folder is created.
  const file = `${dir}/foldersync.toml`;
  Deno.writeTextFileSync(
    file,
    `log_file = "logs/foldersync.log"
metrics_file = "metrics/foldersync.prom"
health_file = "state/health.json"
exclude = ["*.tmp"]
${top}
[[pair]]
name = "photos"
source_path = "photos"
replica_path = "replicas/photos"

[[pair]]
name = "docs"
source_path = "docs"
replica_path = "replicas/docs"
`,
  );
  return file;
}

Deno.test("config e2e: two pairs in one process: both mirrored, names in the log, metrics and health per pair", async () => {
  using t = tempDirs();
  const file = twoPairs(t.dir, 3);
  const run = await runCli(["--config", file, "--once"]);
  assert.equal(run.code, 0, run.stderr);
  const { "skip.tmp": _, ...photos } = snap(`${t.dir}/photos`);
  assert.deepEqual(snap(`${t.dir}/replicas/photos`), photos);
  assert.deepEqual(snap(`${t.dir}/replicas/docs`), snap(`${t.dir}/docs`));

  const log = readOr(`${t.dir}/logs/foldersync.log`);
  assert.match(log, /^\S+Z INFO {2}\[photos\] copy {3}file {4}album\/a\.jpg \(3 B\)$/m);
  assert.match(log, /^\S+Z INFO {2}\[photos\] cycle 1 done in [\d.]+ s: 2 created, 4 copied/m);
  assert.match(log, /^\S+Z INFO {2}\[docs\] cycle 1 done in [\d.]+ s: 1 created, 4 copied/m);
  assert.match(
    log,
    new RegExp(
      `^\\S+Z INFO {2}\\[docs\\] mirroring '\\S+/docs' to '\\S+/replicas/docs' once, engine ${testEngine()}$`,
      "m",
    ),
  );
  for (const line of log.split("\n")) {
    if (/ (copy|create|cycle \d+) /.test(line)) assert.match(line, / \[(photos|docs)\] /, line);
  }

  // The metrics file parses, one series per pair.
  const metrics = parsePrometheus(readOr(`${t.dir}/metrics/foldersync.prom`));
  for (const [pair, copied, bytes] of [["photos", 4, 27], ["docs", 4, 26]] as const) {
    assert.equal(
      sampleValue(metrics, "foldersync_entries_changed_total", { pair, kind: "copied" }),
      copied,
    );
    assert.equal(sampleValue(metrics, "foldersync_copied_bytes_total", { pair }), bytes);
    assert.equal(sampleValue(metrics, "foldersync_cycles_total", { pair, status: "ok" }), 1);
    assert.equal(sampleValue(metrics, "foldersync_last_cycle_refused", { pair }), 0);
    const success = sampleValue(metrics, "foldersync_last_success_timestamp_seconds", { pair });
    assert.ok(Math.abs(success - Date.now() / 1000) < 600, `${success}`);
  }

  // --health checks each pair's own file; one missing says so.
  const healthy = await runCli(["--config", file, "--health"]);
  assert.equal(healthy.code, 0, healthy.stderr);
  assert.match(
    healthy.stdout,
    /^\[photos\] healthy: last successful cycle \d+ s ago\n\[docs\] healthy: /,
  );
  Deno.removeSync(`${t.dir}/state/health.docs.json`);
  const missing = await runCli(["--config", file, "--health"]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    `[docs] unhealthy: no cycle recorded yet: health file '${t.dir}/state/health.docs.json' is ` +
      "missing (is foldersync running with this --health_file?)\n",
  );

  // JSON lines carry a `pair` field; a bad key is exit 2 naming the file and line.
  const json = await runCli(["--config", file, "--once", "--log_format", "json"]);
  assert.equal(json.code, 0, json.stderr);
  const summaries = json.stdout.trim().split("\n").map((l) => JSON.parse(l))
    .filter((o) => o.action === "summary");
  assert.deepEqual(summaries.map((o) => [o.pair, o.cycle]), [["photos", 1], ["docs", 1]]);
  Deno.writeTextFileSync(file, readOr(file).replace("exclude =", "exclud ="));
  const bad = await runCli(["--config", file, "--once"]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    `foldersync: ${file}:4: unknown key 'exclud': did you mean 'exclude'?\n`,
  );
});

Deno.test("config e2e: each pair holds its own lock; a second process on either replica exits 1 naming the holder", async () => {
  using t = tempDirs();
  const file = twoPairs(t.dir, 2, 'sync_interval = "1h"');
  const log = `${t.dir}/logs/foldersync.log`;
  const holder = await spawnCli(["--config", file]);
  try {
    await waitFor(
      () =>
        /\[docs\] cycle 1 done/.test(readOr(log)) && /\[photos\] cycle 1 done/.test(readOr(log)),
      20_000,
      "both first cycles",
    );
    for (const pair of ["photos", "docs"]) {
      const record = holderRecordPath(`${log}.${pair}`);
      assert.equal(JSON.parse(readOr(record)).pid, holder.pid, `${pair}'s lock record`);
      // A lone run on this pair's replica, logging beside the same log file's pair record.
      const second = await runCli([
        "--source_path",
        `${t.dir}/${pair}`,
        "--replica_path",
        `${t.dir}/replicas/${pair}`,
        "--log_file",
        `${log}.${pair}`,
        "--once",
      ]);
      assert.equal(second.code, 1, second.stdout);
      assert.match(
        second.stderr,
        new RegExp(
          String.raw`ERROR replica '${t.dir}/replicas/${pair}' is in use by another foldersync ` +
            String.raw`process \(pid ${holder.pid}, since \S+Z, mirroring '${t.dir}/${pair}'`,
        ),
      );
    }
    // The same config again: exit 1 at start, nothing synced by it.
    const again = await runCli(["--config", file, "--once"]);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /ERROR \[photos\] replica '\S+\/replicas\/photos' is in use by another foldersync process \(pid \d+/,
    );
    assert.doesNotMatch(again.stdout, /cycle \d+ done/);
  } finally {
    assert.equal(await stop(holder), 0);
  }
  for (const pair of ["photos", "docs"]) {
    assert.equal(readOr(holderRecordPath(`${log}.${pair}`)), "", "records removed on exit");
  }
});

Deno.test("config e2e: the pairs' cycles run one at a time, never interleaved", async () => {
  using t = tempDirs();
  // Cycles long enough to overlap if they could: many files each, --watch adding cycles.
  const file = twoPairs(t.dir, 400, 'sync_interval = "0.3"');
  const log = `${t.dir}/logs/foldersync.log`;
  const child = await spawnCli(["--config", file, "--watch"]);
  try {
    for (let round = 0; round < 5; round++) {
      for (const pair of ["photos", "docs"]) {
        for (let i = 0; i < 40; i++) {
          Deno.writeTextFileSync(`${t.dir}/${pair}/${pair}-${i}.txt`, `round ${round}\n`);
        }
      }
      await waitFor(
        () =>
          ["photos", "docs"].every((p) =>
            readOr(`${t.dir}/replicas/${p}/${p}-39.txt`) === `round ${round}\n`
          ),
        20_000,
        `round ${round} mirrored`,
      );
    }
  } finally {
    await stop(child);
  }
  // Between a pair's change and its cycle's summary, no other pair's line.
  let running: string | undefined;
  let overlaps = 0;
  let cycles = 0;
  for (const line of readOr(log).split("\n")) {
    const m = line.match(/ \[(\w+)\] (create|copy|update|remove|cycle \d+ \w+ in)\b/);
    if (!m) continue;
    const [, pair, what] = m;
    if (running !== undefined && running !== pair) overlaps++;
    if (what.startsWith("cycle")) {
      running = undefined;
      cycles++;
    } else running = pair;
  }
  assert.ok(cycles >= 10, `${cycles} cycles`);
  assert.equal(overlaps, 0);
});
