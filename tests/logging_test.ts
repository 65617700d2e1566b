/** Text log lines: a file name can neither forge a line nor reach the terminal as control codes. */
import assert from "node:assert/strict";
import { closeLogging, escapeControl, logEvent, logMessage, setupLogging } from "../lib/logging.ts";
import { tempDirs } from "./helpers.ts";

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
  await setupLogging({ logFile: t.log, level: "info", format: "text", console: false });
  logEvent({ action: "copy", path: forged, kind: "file", bytes: 1 });
  logMessage("warning", `cannot read '${forged}'`);
  await closeLogging();
  const lines = Deno.readTextFileSync(t.log).split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 2, "one line per record");
  assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT/.test(l)));
  assert.ok(!Deno.readTextFileSync(t.log).includes("\x1b"));
  const escaped = "a\\n2026-01-01T00:00:00.000Z ERROR forged line\\x1b[31m\\\\";
  assert.match(lines[0], / INFO {2}copy {3}file {4}/);
  assert.ok(lines[0].endsWith(`${escaped} (1 B)`), lines[0]);
  assert.ok(lines[1].endsWith(`WARN  cannot read '${escaped}'`), lines[1]);

  const json = `${t.dir}/logs/json.log`;
  await setupLogging({ logFile: json, level: "info", format: "json", console: false });
  logEvent({ action: "copy", path: forged, kind: "file", bytes: 1 });
  await closeLogging();
  const objects = Deno.readTextFileSync(json).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(objects.length, 1);
  assert.equal(objects[0].path, forged);
});
