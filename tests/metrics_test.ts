/** `--metrics_file`: Prometheus text format, per pair, parsed by a strict reader of the format. */
import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "./prometheus.ts";
import { readOr, runCli, tempDirs, writeTree } from "./helpers.ts";

Deno.test("metrics e2e: a lone run names its pair after the replica; a refused cycle says so", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "abc" });
  const prom = `${t.dir}/metrics/foldersync.prom`;
  const ok = await runCli([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--once",
    "--metrics_file",
    prom,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  let m = parsePrometheus(readOr(prom));
  assert.equal(
    sampleValue(m, "foldersync_entries_changed_total", { pair: "dst", kind: "copied" }),
    1,
  );
  assert.equal(sampleValue(m, "foldersync_copied_bytes_total", { pair: "dst" }), 3);
  assert.equal(sampleValue(m, "foldersync_last_cycle_refused", { pair: "dst" }), 0);

  Deno.removeSync(t.src, { recursive: true });
  const refused = await runCli([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--once",
    "--metrics_file",
    prom,
  ]);
  assert.equal(refused.code, 1);
  m = parsePrometheus(readOr(prom));
  assert.equal(sampleValue(m, "foldersync_last_cycle_refused", { pair: "dst" }), 1);
  assert.equal(sampleValue(m, "foldersync_cycles_total", { pair: "dst", status: "refused" }), 1);
  assert.equal(sampleValue(m, "foldersync_last_success_timestamp_seconds", { pair: "dst" }), 0);

  // A dry run proves nothing about the replica: no metrics, as no health record.
  writeTree(t.src, { "a.txt": "abc" });
  const dry = await runCli([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--dry-run",
    "--metrics_file",
    `${t.dir}/dry.prom`,
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(readOr(`${t.dir}/dry.prom`), "");

  // Inside the replica, the mirror would delete it: refused at start like a log file there.
  const inside = await runCli([
    "--source_path",
    t.src,
    "--replica_path",
    t.dst,
    "--once",
    "--metrics_file",
    `${t.dst}/m.prom`,
  ]);
  assert.equal(inside.code, 2);
  assert.equal(
    inside.stderr,
    `foldersync: --metrics_file '${t.dst}/m.prom' is inside the replica, where the mirror would ` +
      "delete it: move it elsewhere\n",
  );
});
