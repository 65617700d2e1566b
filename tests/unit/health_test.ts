/** The health record: what each cycle did, and `--health`'s one-line answer. */
import assert from "node:assert/strict";
import {
  checkHealth,
  type HealthRecord,
  recordCycle,
  recordedMount,
} from "../../lib/loop/health.ts";
import { tempDirs } from "../helpers.ts";

const read = (path: string): HealthRecord => JSON.parse(Deno.readTextFileSync(path));

Deno.test("health: each cycle is recorded, in a folder created when missing; a failure keeps the last success", () => {
  using t = tempDirs();
  const path = `${t.dir}/state/deeper/h.json`;
  const t0 = 1_800_000_000_000;
  recordCycle(path, { cycle: 1, status: "ok", errors: 0 }, 60, t0);
  // Each time twice: ms since the epoch for programs, ISO 8601 for people.
  assert.deepEqual(read(path), {
    lastSuccess: t0,
    lastSuccessIso: "2027-01-15T08:00:00.000Z",
    lastCycle: { cycle: 1, status: "ok", errors: 0, time: t0, timeIso: "2027-01-15T08:00:00.000Z" },
    intervalSeconds: 60,
    pid: Deno.pid,
  });
  recordCycle(path, { cycle: 2, status: "failed", errors: 3 }, 60, t0 + 60_000);
  const record = read(path);
  assert.equal(record.lastSuccess, t0);
  assert.equal(record.lastSuccessIso, "2027-01-15T08:00:00.000Z");
  assert.deepEqual(record.lastCycle, {
    cycle: 2,
    status: "failed",
    errors: 3,
    time: t0 + 60_000,
    timeIso: "2027-01-15T08:01:00.000Z",
  });

  // Within 2 x 60 + 30 s of the last success: healthy, and the failure is mentioned.
  assert.deepEqual(checkHealth(path, t0 + 72_000), {
    healthy: true,
    message: "healthy: last successful cycle 72 s ago; last cycle 12 s ago failed with 3 errors",
  });
  assert.deepEqual(checkHealth(path, t0 + 160_000), {
    healthy: false,
    message: "unhealthy: last cycle 100 s ago failed with 3 errors; last success 160 s ago",
  });
});

Deno.test("health: where the replica's filesystem is mounted is kept until a cycle says otherwise", () => {
  using t = tempDirs();
  const path = `${t.dir}/h.json`;
  assert.equal(recordedMount(path), undefined);
  recordCycle(path, { cycle: 1, status: "ok", errors: 0 }, 60, 1, "/mnt/backup");
  assert.equal(recordedMount(path), "/mnt/backup");
  recordCycle(path, { cycle: 2, status: "refused", errors: 0 }, 60, 2);
  recordCycle(path, { cycle: 3, status: "ok", errors: 0 }, 60, 3);
  assert.equal(recordedMount(path), "/mnt/backup");
  recordCycle(path, { cycle: 4, status: "ok", errors: 0 }, 60, 4, "/");
  assert.equal(recordedMount(path), "/");
});

Deno.test("health: an unhealthy answer says why, in one line", () => {
  using t = tempDirs();
  const path = `${t.dir}/h.json`;
  const now = 1_800_000_000_000;
  assert.deepEqual(checkHealth(path, now), {
    healthy: false,
    message: `unhealthy: no cycle recorded yet: health file '${path}' is missing ` +
      "(is foldersync running with this --health_file?)",
  });

  const detail = "Source '/source' does not exist: check --source_path (is its volume mounted?)";
  recordCycle(path, { cycle: 1, status: "refused", errors: 0, detail }, 60, now - 12_000);
  assert.equal(read(path).lastSuccess, undefined);
  assert.deepEqual(checkHealth(path, now), {
    healthy: false,
    message: `unhealthy: last cycle 12 s ago was refused: ${detail}; last success never`,
  });

  recordCycle(path, { cycle: 2, status: "failed", errors: 1 }, 60, now - 12_000);
  assert.equal(
    checkHealth(path, now).message,
    "unhealthy: last cycle 12 s ago failed with 1 error; last success never",
  );

  recordCycle(path, { cycle: 3, status: "stopped", errors: 0 }, 60, now - 12_000);
  assert.equal(
    checkHealth(path, now).message,
    "unhealthy: last cycle 12 s ago was stopped before it finished; last success never",
  );

  // A success long ago and nothing since: the writer is gone or stuck.
  recordCycle(path, { cycle: 4, status: "ok", errors: 0 }, 60, now - 400_000);
  assert.deepEqual(checkHealth(path, now), {
    healthy: false,
    message: "unhealthy: last cycle 400 s ago succeeded; none since (limit 150 s): " +
      "is foldersync still running?",
  });

  // A record of the older shape (last success only) is still read.
  Deno.writeTextFileSync(path, '{"lastSuccess": 1000, "intervalSeconds": 2}');
  assert.equal(
    checkHealth(path, 101_000).message,
    "unhealthy: last successful cycle 100 s ago (limit 34 s)",
  );
  assert.equal(checkHealth(path, 20_000).healthy, true);

  Deno.writeTextFileSync(path, "not json");
  const garbled = checkHealth(path, now);
  assert.equal(garbled.healthy, false);
  assert.match(garbled.message, /^unhealthy: health file '.*h\.json' cannot be read: /);
  Deno.writeTextFileSync(path, "{}");
  assert.equal(
    checkHealth(path, now).message,
    `unhealthy: health file '${path}' is not a health record`,
  );
});

Deno.test("health: a record that cannot be written is a warning, never a stopped loop", () => {
  using t = tempDirs();
  Deno.writeTextFileSync(`${t.dir}/plain-file`, "x");
  const path = `${t.dir}/plain-file/h.json`;
  recordCycle(path, { cycle: 1, status: "ok", errors: 0 }, 60, 1000);
  assert.throws(() => Deno.statSync(path), Deno.errors.NotADirectory);
  assert.equal(
    Deno.readTextFileSync(`${t.dir}/plain-file`),
    "x",
    "the file in the way is left alone",
  );
  // The loop goes on, and once the way is clear the next cycle is recorded.
  Deno.removeSync(`${t.dir}/plain-file`);
  recordCycle(path, { cycle: 2, status: "ok", errors: 0 }, 60, 2000);
  assert.equal(read(path).lastCycle?.cycle, 2);
  assert.equal(read(path).lastSuccess, 2000);
});
