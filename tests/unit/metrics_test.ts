/** `--metrics_file`: Prometheus text format, per pair, parsed by a strict reader of the format. */
import assert from "node:assert/strict";
import { recordCycle } from "../../lib/loop/health.ts";
import { createMetrics } from "../../lib/loop/metrics.ts";
import { emptyStats } from "../../lib/engine/types.ts";
import { parsePrometheus, sampleValue } from "../prometheus.ts";
import { readOr, tempDirs } from "../helpers.ts";

Deno.test("metrics: every family has HELP and TYPE, a series per pair; the last cycle and the totals", () => {
  using t = tempDirs();
  const path = `${t.dir}/textfile/foldersync.prom`;
  const health = `${t.dir}/health.json`;
  recordCycle(health, { cycle: 9, status: "ok", errors: 0 }, 60, 1_700_000_000_000);
  const metrics = createMetrics(path, [{ name: "photos", healthFile: health }, { name: 'a"b\\c' }]);
  metrics.write();
  let m = parsePrometheus(readOr(path));
  // A restart keeps the last success the health file knows; a pair without one says 0.
  const photos = { pair: "photos" };
  const odd = { pair: 'a"b\\c' }; // Escaped in the file, read back as it is.
  assert.equal(sampleValue(m, "foldersync_last_success_timestamp_seconds", photos), 1_700_000_000);
  assert.equal(sampleValue(m, "foldersync_last_success_timestamp_seconds", odd), 0);

  const stats = { ...emptyStats(), create: 2, copy: 5, update: 1, remove: 3, backup: 1 };
  metrics.record("photos", {
    full: true,
    status: "ok",
    seconds: 2.5,
    stats: { ...stats, bytes: 4096 },
    now: 1_800_000_000_000,
  });
  // A --watch cycle adds to the totals; the last-cycle gauges follow full cycles only.
  metrics.record("photos", {
    full: false,
    status: "failed",
    seconds: 0.1,
    stats: { ...emptyStats(), copy: 1, error: 2, bytes: 10 },
    now: 1_800_000_001_000,
  });
  metrics.record('a"b\\c', {
    full: true,
    status: "refused",
    seconds: 0.01,
    now: 1_800_000_002_000,
  });
  const text = readOr(path);
  m = parsePrometheus(text);
  const expected: [string, Record<string, string>, number][] = [
    ["foldersync_last_success_timestamp_seconds", photos, 1_800_000_000],
    ["foldersync_last_cycle_timestamp_seconds", photos, 1_800_000_000],
    ["foldersync_last_cycle_duration_seconds", photos, 2.5],
    ["foldersync_last_cycle_errors", photos, 0],
    ["foldersync_last_cycle_refused", photos, 0],
    ["foldersync_cycles_total", { ...photos, status: "ok" }, 1],
    ["foldersync_cycles_total", { ...photos, status: "failed" }, 0],
    ["foldersync_entries_changed_total", { ...photos, kind: "created" }, 2],
    ["foldersync_entries_changed_total", { ...photos, kind: "copied" }, 6],
    ["foldersync_entries_changed_total", { ...photos, kind: "updated" }, 1],
    ["foldersync_entries_changed_total", { ...photos, kind: "removed" }, 3],
    ["foldersync_entries_changed_total", { ...photos, kind: "backed_up" }, 1],
    ["foldersync_copied_bytes_total", photos, 4106],
    ["foldersync_errors_total", photos, 2],
    ["foldersync_last_cycle_refused", odd, 1],
    ["foldersync_last_cycle_timestamp_seconds", odd, 1_800_000_002],
    ["foldersync_last_success_timestamp_seconds", odd, 0],
    ["foldersync_cycles_total", { ...odd, status: "refused" }, 1],
  ];
  for (const [name, labels, value] of expected) {
    assert.equal(sampleValue(m, name, labels), value, `${name}${JSON.stringify(labels)}`);
  }
  for (const [name, family] of m) {
    assert.match(name, /^foldersync_[a-z_]+$/);
    assert.ok(family.help.length > 10, `${name} has help`);
    assert.equal(family.type, name.endsWith("_total") ? "counter" : "gauge", name);
  }
  assert.match(text, /^foldersync_last_cycle_refused\{pair="a\\"b\\\\c"\} 1$/m);
  assert.deepEqual([...Deno.readDirSync(`${t.dir}/textfile`)].map((e) => e.name), [
    "foldersync.prom",
  ]);
});

Deno.test("metrics: the reader of the format refuses what the collector would", () => {
  const bad = [
    "foldersync_x 1", // No final newline.
    'foldersync_x{pair="a"} one\n',
    "# TYPE foldersync_x gauge\n# TYPE foldersync_x gauge\nfoldersync_x 1\n",
    'foldersync_x{pair="a"} 1\nfoldersync_x{pair="a"} 2\n',
    "foldersync_x 1\nfoldersync_y 1\nfoldersync_x 2\n",
    "foldersync_x{pair=a} 1\n",
    "foldersync_x 1\n# TYPE foldersync_x gauge\n",
  ];
  for (const text of bad) assert.throws(() => parsePrometheus(text), Error, JSON.stringify(text));
});
