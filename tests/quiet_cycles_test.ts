/**
 * Quiet idle cycles: a cycle that changed nothing and failed nothing logs its summary at debug,
 * and one info line at most an hour counts them. The hour is simulated with an injected clock;
 * the cycles are real (runCycle over real trees, logging to a real file).
 */
import { Owners } from "../lib/engine/owner.ts";
import { MtimeTicks } from "../lib/engine/mtime_tick.ts";
import assert from "node:assert/strict";
import { QuietCycles } from "../lib/loop/quiet_cycles.ts";
import { parseCommandLine } from "../lib/config/cli.ts";
import { type Logging, logQuietCycles, setupLogging } from "../lib/report/logging.ts";
import { type LoopState, runCycle } from "../lib/loop/run_loop.ts";
import { Speed } from "../lib/speed/speed.ts";
import { tempDirs, writeTree } from "./helpers.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

Deno.test("logQuietCycles: the span as a person says it", async () => {
  using t = tempDirs();
  const logging = await setupLogging({
    logFile: t.log,
    level: "info",
    format: "text",
    console: false,
  });
  logQuietCycles(57, HOUR + 20_000);
  logQuietCycles(1, 45 * MINUTE);
  logQuietCycles(12, 25_000);
  logQuietCycles(130, 2 * HOUR + 10 * MINUTE);
  await logging.close();
  const lines = Deno.readTextFileSync(t.log).trim().split("\n").map((l) => l.slice(25));
  assert.deepEqual(lines, [
    "INFO  57 quiet cycles in the last hour: nothing changed",
    "INFO  1 quiet cycle in the last 45 min: nothing changed",
    "INFO  12 quiet cycles in the last 25 s: nothing changed",
    "INFO  130 quiet cycles in the last 2 h 10 min: nothing changed",
  ]);
});

/** Runs `count` real cycles a minute apart on the simulated clock; `busy` changes the source first. */
async function hour(
  state: LoopState,
  config: Parameters<typeof runCycle>[0],
  clock: { now: number },
  count: number,
  busy: (i: number) => void,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    busy(i);
    const result = await runCycle(config, state);
    assert.ok(result.ok);
    clock.now += MINUTE;
  }
}

Deno.test("quiet cycles: a busy hour logs every cycle at info, an idle hour one line", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", d: { "b.txt": "b" } });
  const command = parseCommandLine(["--source_path", t.src, "--replica_path", t.dst]);
  assert.equal(command.kind, "run");
  const config = command.config;
  const clock = { now: 0 };
  // The run's workers, as lib/main.ts gives them: whole-tree cycles list and copy on them.
  using speed = new Speed();
  const state: LoopState = {
    signal: new AbortController().signal,
    speed,
    warned: new Set(),
    cycle: 0,
    owners: new Owners(),
    ticks: new MtimeTicks(),
    quiet: new QuietCycles(() => clock.now),
  };
  const info = `${t.dir}/info.log`;
  const debug = `${t.dir}/debug.log`;
  let logging: Logging | undefined;
  try {
    logging = await setupLogging({ logFile: info, level: "info", format: "text", console: false });
    // A busy hour: a file is added before every cycle (dated a minute ago: no settle wait).
    await hour(state, config, clock, 60, (i) => {
      Deno.writeTextFileSync(`${t.src}/n${i}`, `${i}`);
      const past = new Date(Date.now() - MINUTE);
      Deno.utimeSync(`${t.src}/n${i}`, past, past);
    });
    // An idle hour and its last minute (the line comes at the first quiet cycle an hour on).
    await hour(state, config, clock, 61, () => {});
    await logging.close();
    const all = Deno.readTextFileSync(info).trim().split("\n");
    const end = all.findIndex((l) => / cycle 60 done /.test(l)) + 1;
    const busy = all.slice(0, end);
    const idle = all.slice(end);
    console.log(`busy hour (${busy.length} lines):\n${busy.slice(-4).join("\n")}`);
    console.log(`idle hour (${idle.length} line):\n${idle.join("\n")}`);
    const summaries = busy.filter((l) => / INFO {2}cycle \d+ done in /.test(l));
    assert.equal(summaries.length, 60, "every busy cycle's summary at info");
    assert.equal(idle.length, 1, idle.join("\n"));
    assert.match(idle[0], / INFO {2}61 quiet cycles in the last hour: nothing changed$/);

    // At debug, every summary is there; a failure is at error however idle the cycle.
    logging = await setupLogging({
      logFile: debug,
      level: "debug",
      format: "text",
      console: false,
    });
    await hour(state, config, clock, 2, () => {});
    // A removal refused by --max-delete 0 fails the cycle, which changes nothing.
    Deno.writeTextFileSync(`${t.dst}/extra.txt`, "x");
    const failed = await runCycle({ ...config, maxDelete: 0 }, state);
    assert.equal(failed.ok, false);
    await logging.close();
    const lines = Deno.readTextFileSync(debug).trim().split("\n");
    assert.equal(lines.filter((l) => / DEBUG cycle \d+ done in .* 0 errors, /.test(l)).length, 2);
    assert.match(lines.at(-1)!, / ERROR cycle 124 failed in .*, 0 removed, 0 skipped, 1 error, /);
  } finally {
    await logging?.close();
  }
});
