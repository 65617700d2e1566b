/** The live progress line's text and timing, on a fake clock (on a terminal: ../progress_test.ts). */
import assert from "node:assert/strict";
import { createProgressLine } from "../../lib/report/progress.ts";
import { FakeClock } from "../fixtures.ts";

Deno.test("progress line: counts, rate, ETA; delayed, throttled, redrawn around log lines", () => {
  const fake = new FakeClock(0);
  using _intervals = fake.installIntervals();
  let out = "";
  const progress = createProgressLine({
    write: (text) => out += text,
    columns: () => 200,
    now: () => fake.now(),
    delayMs: 1000,
    intervalMs: 5,
  });
  const tick = () => fake.fire(); // Let the redraw timer run.
  progress.start();
  progress.plan(4, 4 << 20);
  progress.event({ action: "copy", path: "a", kind: "file", bytes: 1 << 20 });
  tick();
  assert.equal(out, "", "nothing before the delay");
  fake.time = 2000;
  tick();
  assert.equal(out, "\r\x1b[Ksyncing: 1/4 files, 1.0 MiB/4.0 MiB found so far, 512.0 KiB/s");
  out = "";
  progress.scanDone(); // The totals are final: now an ETA.
  tick();
  assert.equal(out, "\r\x1b[Ksyncing: 1/4 files, 1.0 MiB/4.0 MiB, 512.0 KiB/s, ETA 6 s");
  out = "";
  tick();
  assert.equal(out, "", "no redraw when nothing changed");

  // A log line: the progress line is erased, the line printed, the progress line drawn below it.
  let printed = "";
  progress.around(() => {
    printed = out;
    out += "log line\n";
  });
  assert.equal(printed, "\r\x1b[K", "erased before the log line prints");
  assert.equal(
    out,
    "\r\x1b[Klog line\nsyncing: 1/4 files, 1.0 MiB/4.0 MiB, 512.0 KiB/s, ETA 6 s",
    "drawn again right after it",
  );
  out = "";
  tick();
  assert.equal(out, "", "and not again until something changes");

  // Removals and skips are not progress; updates are; the walk finds more.
  progress.event({ action: "remove", path: "b", kind: "file" });
  progress.event({ action: "update", path: "c", kind: "file", bytes: 3 << 20 });
  progress.plan(2, 0);
  fake.time = 4000;
  out = "";
  tick();
  assert.match(out, /syncing: 2\/6 files, 4\.0 MiB\/4\.0 MiB, 1\.0 MiB\/s, ETA 0 s$/);

  out = "";
  progress.stop();
  assert.equal(out, "\r\x1b[K", "erased at the end");
  out = "";
  progress.around(() => out += "after\n");
  assert.equal(out, "after\n", "a log line after the cycle brings nothing back");
  out = "";
  tick();
  assert.equal(out, "", "not drawn after the cycle");
});

Deno.test("progress line: the rate is recent, and no ETA before there is one", () => {
  let clock = 0;
  const progress = createProgressLine({ write: () => {}, now: () => clock });
  progress.start();
  progress.plan(3, 100 << 20);
  progress.scanDone();
  clock = 500;
  progress.event({ action: "copy", path: "a", kind: "file", bytes: 10 << 20 });
  assert.match(progress.text(), /10\.0 MiB\/100\.0 MiB, \? B\/s, ETA \?$/);
  // A slow start (10 MiB in the first 10 s) then 10 MiB/s: the ETA follows the last 5 s.
  clock = 10_000;
  progress.text();
  for (let s = 11; s <= 16; s++) {
    clock = s * 1000;
    progress.event({ action: "copy", path: `b${s}`, kind: "file", bytes: 10 << 20 });
    progress.text(); // A redraw: one sample a second.
  }
  assert.match(progress.text(), /70\.0 MiB\/100\.0 MiB, 10\.0 MiB\/s, ETA 3 s$/);
  // Nothing moves for longer than the window: no rate, no ETA.
  clock = 30_000;
  progress.text();
  clock = 36_000;
  assert.match(progress.text(), /, 0 B\/s, ETA \?$/);
  progress.stop();
});

Deno.test("progress line: no ETA while the walk is still finding files; found so far instead", () => {
  let clock = 0;
  const progress = createProgressLine({ write: () => {}, now: () => clock });
  progress.start();
  // The walk has found 10 small files of a tree it has not finished listing.
  progress.plan(10, 10 << 20);
  for (let s = 1; s <= 6; s++) {
    clock = s * 1000;
    progress.event({ action: "copy", path: `f${s}`, kind: "file", bytes: 1 << 20 });
    progress.text();
  }
  // At this rate the files found so far are done in 4 s: not an ETA for the cycle.
  assert.equal(progress.text(), "syncing: 6/10 files, 6.0 MiB/10.0 MiB found so far, 1.0 MiB/s");
  assert.doesNotMatch(progress.text(), /ETA/);
  progress.plan(990, 990 << 20);
  progress.scanDone();
  assert.equal(
    progress.text(),
    "syncing: 6/1000 files, 6.0 MiB/1000.0 MiB, 1.0 MiB/s, ETA 16 min 34 s",
  );
  clock = 8000;
  progress.start();
  progress.plan(5, 5000);
  progress.event({ action: "copy", path: "h", kind: "file", bytes: 600.4 });
  clock = 9000;
  assert.match(progress.text(), /, 600 B\/s$/, "a rate under 1 KiB/s in whole bytes");
  assert.doesNotMatch(progress.text(), /ETA/, "a new cycle scans anew");
  progress.stop();
});

Deno.test("progress line: never wider than the terminal, 50 columns keep bytes and ETA", () => {
  const fake = new FakeClock(0);
  using _intervals = fake.installIntervals();
  const lines = (columns: number) => {
    const draws: string[] = [];
    const line = createProgressLine({
      write: (t) => draws.push(t),
      columns: () => columns,
      now: () => fake.now(),
      intervalMs: 5,
    });
    return { line, draws };
  };
  for (const columns of [200, 80, 50, 30, 20]) {
    const { line, draws } = lines(columns);
    fake.time = 0;
    line.start();
    line.plan(67_890, 6 * 2 ** 30);
    line.scanDone();
    for (let i = 0; i < 12_345; i++) {
      line.event({ action: "copy", path: "f", kind: "file", bytes: 1 });
    }
    line.event({ action: "copy", path: "big", kind: "file", bytes: 1023.9 * 2 ** 20 });
    fake.time = 1000;
    fake.fire();
    line.stop();
    const drawn = draws[0].replace("\r\x1b[K", "");
    assert.ok(drawn.length <= columns - 1, `${columns} columns: '${drawn}' (${drawn.length})`);
    if (columns >= 50) assert.match(drawn, /1023\.9 MiB\/6\.0 GiB.*, ETA 6 s$/, `${columns}`);
    if (columns === 50) assert.equal(drawn, "1023.9 MiB/6.0 GiB, 1023.9 MiB/s, ETA 6 s");
    if (columns === 30) assert.equal(drawn, "1023.9 MiB/6.0 GiB, ETA 6 s");
    if (columns === 20) assert.equal(drawn, "1023.9 MiB/6.0 GiB,");
  }
});
