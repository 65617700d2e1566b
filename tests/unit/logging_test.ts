/** Text log lines: a file name can neither forge a line nor reach the terminal as control codes. */
import assert from "node:assert/strict";
import {
  escapeControl,
  logEvent,
  logMessage,
  logQuietCycles,
  logSummary,
  setupLogging,
} from "../../lib/report/logging.ts";
import { emptyStats } from "../../lib/engine/types.ts";
import { tempDirs } from "../helpers.ts";

Deno.test("escapeControl: C0, DEL and C1 controls become visible escapes; a backslash doubles", () => {
  assert.equal(escapeControl("plain name.txt"), "plain name.txt");
  assert.equal(escapeControl("a\nb"), "a\\nb");
  assert.equal(escapeControl("a\rb\tc"), "a\\rb\\tc");
  assert.equal(escapeControl("\x1b[31mred"), "\\x1b[31mred");
  assert.equal(
    escapeControl("nul\x00 del\x7f csi\x9b nel\x85"),
    "nul\\x00 del\\x7f csi\\x9b nel\\x85",
  );
  assert.equal(escapeControl("back\\slash"), "back\\\\slash");
  // Unambiguous: a name that spells an escape is told apart from one that holds the control.
  assert.notEqual(escapeControl("a\\nb"), escapeControl("a\nb"));
  assert.equal(escapeControl("é ü 日本 \u00a0"), "é ü 日本 \u00a0", "printable text is left alone");
});

Deno.test("text log: event paths and free-form messages are escaped; JSON keeps the exact name", async () => {
  using t = tempDirs();
  const forged = "a\n2026-01-01T00:00:00.000Z ERROR forged line\x1b[31m\\";
  const textLog = await setupLogging({
    logFile: t.log,
    level: "info",
    format: "text",
    console: false,
  });
  logEvent({ action: "copy", path: forged, kind: "file", bytes: 1 });
  logMessage("warning", `cannot read '${forged}'`);
  await textLog.close();
  const lines = Deno.readTextFileSync(t.log).split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 2, "one line per record");
  assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT/.test(l)));
  assert.ok(!Deno.readTextFileSync(t.log).includes("\x1b"));
  const escaped = "a\\n2026-01-01T00:00:00.000Z ERROR forged line\\x1b[31m\\\\";
  assert.match(lines[0], / INFO {2}copy {3}file {4}/);
  assert.ok(lines[0].endsWith(`${escaped} (1 B)`), lines[0]);
  assert.ok(lines[1].endsWith(`WARN  cannot read '${escaped}'`), lines[1]);

  const json = `${t.dir}/logs/json.log`;
  const jsonLog = await setupLogging({
    logFile: json,
    level: "info",
    format: "json",
    console: false,
  });
  logEvent({ action: "copy", path: forged, kind: "file", bytes: 1 });
  await jsonLog.close();
  const objects = Deno.readTextFileSync(json).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(objects.length, 1);
  assert.equal(objects[0].path, forged);
});

Deno.test("text log: a name with braces is logged as it is, at each event's level", async () => {
  using t = tempDirs();
  const log = await setupLogging({
    logFile: t.log,
    level: "debug",
    format: "text",
    console: false,
  });
  logEvent({ action: "copy", path: "d/{text} {{x}}.txt", kind: "file", bytes: 1 });
  logEvent({ action: "remove", path: "d/}{", kind: "file" });
  logEvent({ action: "skip", path: "d/{pair}", kind: "other", detail: "a socket" });
  logEvent({ action: "error", path: "d/plain", kind: "file", detail: "failed" });
  logEvent({ action: "skip", path: "d/again", kind: "other", detail: "a socket", repeat: true });
  await log.close();
  const lines = Deno.readTextFileSync(t.log).split("\n").filter((l) => l !== "");
  assert.deepEqual(lines.map((l) => l.slice(25)), [
    "INFO  copy   file    d/{text} {{x}}.txt (1 B)",
    "INFO  remove file    d/}{",
    "WARN  skip   other   d/{pair}: a socket",
    "ERROR error  file    d/plain: failed",
    "DEBUG skip   other   d/again: a socket",
  ]);
});

Deno.test("escapeControl: a name byte that is not UTF-8 (a surrogateescape lone surrogate) is \\xNN", () => {
  assert.equal(escapeControl("a\udcffb"), "a\\xffb");
  assert.equal(escapeControl("\udc80\udcc3\udca9.txt"), "\\x80\\xc3\\xa9.txt");
  // Unambiguous: a name that spells the escape keeps its backslash doubled.
  assert.equal(escapeControl("a\\xffb"), "a\\\\xffb");
  // Lone surrogates a byte cannot give are escaped too, as \uXXXX, never written out raw.
  assert.equal(escapeControl("a\ud800b\udc7f"), "a\\ud800b\\udc7f");
  // A well-formed pair is a character like any other, even when its low half is in DC80..DCFF.
  assert.equal(escapeControl("\ud800\udc80 \u{1f600}"), "\u{10080} \u{1f600}");
});

Deno.test("log: a name that is not UTF-8 reads \\xNN in the text log, exactly in JSON, never U+FFFD", async () => {
  using t = tempDirs();
  const textLog = await setupLogging({
    logFile: t.log,
    level: "info",
    format: "text",
    console: false,
  });
  logEvent({ action: "copy", path: "dir/a\udcffb", kind: "file", bytes: 1 });
  await textLog.close();
  const text = Deno.readTextFileSync(t.log);
  assert.match(text, / INFO {2}copy {3}file {4}dir\/a\\xffb \(1 B\)\n$/);
  assert.ok(!text.includes("\ufffd"), text);

  const json = `${t.dir}/logs/json.log`;
  const jsonLog = await setupLogging({
    logFile: json,
    level: "info",
    format: "json",
    console: false,
  });
  logEvent({ action: "copy", path: "dir/a\udcffb", kind: "file", bytes: 1 });
  await jsonLog.close();
  const line = Deno.readTextFileSync(json);
  assert.ok(line.includes('"path":"dir/a\\udcffb"'), line);
  assert.equal(JSON.parse(line).path, "dir/a\udcffb");
});

Deno.test("summary line: '1 error', removals kept in the backup folder, seconds to the ms in JSON", async () => {
  using t = tempDirs();
  const stats = { ...emptyStats(), copy: 2, remove: 5, backup: 7, backupRemoved: 5, scanned: 9 };
  const textLog = await setupLogging({
    logFile: t.log,
    level: "debug",
    format: "text",
    console: false,
  });
  logSummary(3, 0.9589957969999999, { ...stats, update: 2, error: 1 }, false, undefined, "/b/S");
  logSummary(4, 0.5, { ...emptyStats(), remove: 5, backup: 5, backupRemoved: 5 }, false, 1, "/b/T");
  logSummary(5, 0.5, { ...emptyStats(), error: 2 });
  logSummary(6, 0.5, { ...emptyStats(), scanned: 9 }, false, undefined, undefined, true);
  await textLog.close();
  const lines = Deno.readTextFileSync(t.log).trim().split("\n").map((l) => l.slice(25));
  assert.deepEqual(lines, [
    "ERROR cycle 3 failed in 0.96 s: 0 created, 2 copied, 2 updated (old versions kept in /b/S), " +
    "5 removed (kept there too), 0 skipped, 1 error, 0 B copied, 9 scanned",
    "INFO  cycle 4 done in 0.50 s: 0 created, 0 copied, 0 updated, 5 removed (kept in /b/T), " +
    "0 skipped, 0 errors, 0 B copied, 0 scanned (watch: 1 dir)",
    "ERROR cycle 5 failed in 0.50 s: 0 created, 0 copied, 0 updated, 0 removed, 0 skipped, " +
    "2 errors, 0 B copied, 0 scanned",
    "DEBUG cycle 6 done in 0.50 s: 0 created, 0 copied, 0 updated, 0 removed, 0 skipped, " +
    "0 errors, 0 B copied, 9 scanned",
  ]);

  const json = `${t.dir}/logs/json.log`;
  const jsonLog = await setupLogging({
    logFile: json,
    level: "info",
    format: "json",
    console: false,
  });
  logSummary(3, 0.9589957969999999, stats);
  logQuietCycles(57, 3_600_000);
  await jsonLog.close();
  const [summary, quiet] = Deno.readTextFileSync(json).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(summary.seconds, 0.959);
  assert.equal(summary.remove, 5);
  assert.equal(summary.backupRemoved, 5);
  assert.deepEqual({ ...quiet, time: undefined }, {
    time: undefined,
    level: "info",
    action: "quiet",
    cycles: 57,
    seconds: 3600,
  });
});
