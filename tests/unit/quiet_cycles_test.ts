/**
 * Quiet idle cycles: which cycles are quiet, and one report an hour at most, on an injected
 * clock (real cycles logged to a real file: ../quiet_cycles_test.ts).
 */
import assert from "node:assert/strict";
import { isQuiet, QuietCycles } from "../../lib/loop/quiet_cycles.ts";
import { emptyStats } from "../../lib/engine/types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

Deno.test("isQuiet: nothing changed, failed or newly warned about", () => {
  const idle = { ...emptyStats(), scanned: 500, skip: 2 }; // Skips already reported: at debug.
  assert.equal(isQuiet(idle, 0), true);
  for (
    const key of ["create", "copy", "update", "remove", "backup", "error", "future"] as const
  ) {
    assert.equal(isQuiet({ ...idle, [key]: 1 }, 0), false, key);
  }
  assert.equal(isQuiet({ ...idle, aborted: true }, 0), false, "a cycle cut short");
  assert.equal(isQuiet(idle, 1), false, "a new warning");
});

Deno.test("QuietCycles: one report an hour at most; busy cycles do not reset the count", () => {
  let clock = 0;
  const quiet = new QuietCycles(() => clock);
  const reports: { at: number; cycles: number; ms: number }[] = [];
  const cycle = () => {
    const report = quiet.note();
    if (report) reports.push({ at: clock, ...report });
  };
  // Three idle hours at one cycle a minute.
  for (let minute = 0; minute <= 180; minute++) {
    clock = minute * MINUTE;
    cycle();
  }
  assert.deepEqual(reports, [
    { at: 1 * HOUR, cycles: 61, ms: HOUR }, // Minutes 0 to 60.
    { at: 2 * HOUR, cycles: 60, ms: HOUR },
    { at: 3 * HOUR, cycles: 60, ms: HOUR },
  ]);
  // Busy and quiet cycles mixed: the quiet ones are still counted once an hour.
  reports.length = 0;
  for (let minute = 181; minute <= 240; minute++) {
    clock = minute * MINUTE;
    if (minute % 2 === 0) cycle(); // Every other cycle changed something (its own summary).
  }
  assert.deepEqual(reports, [{ at: 4 * HOUR, cycles: 30, ms: HOUR }]);
  // After a busy hour, the first quiet cycle starts a new hour instead of a report of one.
  reports.length = 0;
  clock = 6 * HOUR;
  cycle();
  assert.deepEqual(reports, []);
  clock = 6 * HOUR + 30 * MINUTE;
  cycle();
  assert.deepEqual(quiet.flush(), { cycles: 2, ms: 30 * MINUTE }, "what is left, at stop");
  assert.equal(quiet.flush(), undefined, "nothing left after");
});
