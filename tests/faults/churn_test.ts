/**
 * Churn while syncing: a writer process changes the source throughout 50
 * back-to-back cycles; no cycle crashes, the replica holds a torn file only
 * where the guarantee allows one (the writer stood still mid-file for the
 * settle time, as on a loaded machine or on purpose every 150th write, or a
 * new copy came out empty in a truncate's instant) and the next cycle repairs
 * it, and one more cycle after the writer stops makes the replica exactly
 * equal.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  assertMirror,
  DENO,
  isTempName,
  parseSummary,
  runCli,
  spawnCli,
  SUMMARY,
  tempFiles,
} from "../helpers.ts";
import { checkVersion, tempRoot } from "./helpers.ts";
import {
  type CycleEnd,
  judgeTear,
  longestPause,
  type TornSighting,
  type WriterOp,
} from "./churn_judge.ts";

const CYCLES = 50;
/** Every this many writes, the writer stands still mid-file for 300 ms. */
const PAUSE_EVERY = 150;
const HEADER = /^FSV (\d{8}) (\d{8}) \d{10} [0-9a-f]{64}\n/;
const WRITER = new URL("./churn_writer.ts", import.meta.url).pathname;

/** Torn files among the replica's files at their final names (vanishing ones are fine). */
function tornFiles(root: string): TornSighting[] {
  const torn: TornSighting[] = [];
  const visit = (dir: string) => {
    let names: Deno.DirEntry[];
    try {
      names = [...Deno.readDirSync(dir)];
    } catch {
      return; // removed under us
    }
    for (const e of names) {
      const path = `${dir}/${e.name}`;
      if (isTempName(e.name)) continue;
      if (e.isDirectory) visit(path);
      else if (e.isFile) {
        let data: Uint8Array;
        const readFrom = Date.now();
        try {
          data = Deno.readFileSync(path);
        } catch {
          continue; // replaced or removed under us
        }
        const readTo = Date.now();
        const why = checkVersion(data);
        if (!why) continue;
        const header = new TextDecoder().decode(data.subarray(0, 97)).match(HEADER);
        torn.push({
          path: path.slice(root.length + 1),
          why,
          id: header ? Number(header[1]) : undefined,
          version: header ? Number(header[2]) : undefined,
          readFrom,
          readTo,
        });
      }
    }
  };
  visit(root);
  return torn;
}

/** What the writer and the engine did to a torn file's path, for the failure message. */
function history(seen: TornSighting, ops: WriterOp[], lines: string[]): string {
  const name = seen.path.split("/").at(-1)!;
  const ours = ops.filter((op) => op.path === seen.path || seen.path.startsWith(op.path + "/"))
    .map((op) => `  writer ${op.op} ${op.path} v${op.version ?? ""} at ${op.steps.join(",")}`);
  const engine = lines.filter((l) => l.includes(name)).slice(-8).map((l) => `  engine ${l}`);
  return [`  read at ${seen.readFrom}-${seen.readTo}`, ...ours.slice(-8), ...engine].join("\n");
}

/** A summary line's cycle and the time at its start (the text log's ISO time). */
function cycleEnd(line: string): CycleEnd | undefined {
  const summary = parseSummary(line);
  const time = Date.parse(line.split(" ")[0]);
  return summary && !Number.isNaN(time) ? { cycle: summary.cycle, time } : undefined;
}

Deno.test("churn judge: a torn copy is allowed only after a pause, and only until the next cycle", () => {
  const paused: WriterOp = { op: "write", path: "d1/f7.dat", id: 7, version: 3, steps: [] };
  paused.steps.push(1000, 1001, 1250, 1252, 1252, 1253); // 250 ms between truncate and write
  const brisk: WriterOp = { op: "write", path: "f8.dat", id: 8, version: 2, steps: [] };
  brisk.steps.push(1000, 1001, 1003, 1004, 1004, 1006);
  const ops = [paused, brisk];
  const cycles = [1100, 1200, 1300, 1400].map((time, i) => ({ cycle: i + 1, time }));
  const seen = (path: string, at: number, id?: number, version?: number): TornSighting => ({
    path,
    why: "torn",
    id,
    version,
    readFrom: at,
    readTo: at + 1,
  });
  equal(longestPause(paused), 252);
  equal(judgeTear(seen("d1/f7.dat", 1210), ops, cycles), undefined);
  equal(judgeTear(seen("d1/f7.dat", 1210, 7, 3), ops, cycles), undefined);
  ok(judgeTear(seen("d1/f7.dat", 1210, 7, 2), ops, cycles)?.includes("no write of it paused"));
  ok(judgeTear(seen("f8.dat", 1210), ops, cycles)?.includes("longest 4 ms"));
  ok(judgeTear(seen("elsewhere.dat", 1210), ops, cycles)?.includes("no write of it"));
  // Empty: a new copy of 0 bytes logged after the write began (a truncate half done), until
  // the next cycle after the write.
  const empty = { ...seen("f8.dat", 1050), why: "only 0 bytes, shorter than a header" };
  equal(judgeTear(empty, ops, cycles, [{ path: "f8.dat", time: 1001 }]), undefined);
  ok(judgeTear(empty, ops, cycles, [{ path: "f8.dat", time: 990 }])?.includes("longest 4 ms"));
  ok(judgeTear(empty, ops, cycles)?.includes("longest 4 ms"));
  const later = { ...empty, readFrom: 1210, readTo: 1211 };
  ok(judgeTear(later, ops, cycles, [{ path: "f8.dat", time: 1001 }])?.includes("still torn"));
  // The writer finished at 1253; cycle 4 started after cycle 3's summary (1300) and ended 1400.
  equal(judgeTear(seen("d1/f7.dat", 1390), ops, cycles), undefined);
  ok(judgeTear(seen("d1/f7.dat", 1410), ops, cycles)?.includes("still torn after cycle 4"));
  // A rename of its directory at 1350 gives the repair one more cycle.
  const moved = [...ops, { op: "touch" as const, path: "d1", steps: [1350, 1351] }];
  equal(judgeTear(seen("d1/f7.dat", 1410), moved, cycles), undefined);
});

Deno.test("churn: a writer changes the source during 50 cycles; torn only after a pause, then equal", async () => {
  const { dir, cleanup } = await tempRoot("churn");
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    const stop = `${dir}/stop-writer`;
    Deno.mkdirSync(src);
    const init = await new Deno.Command(DENO, {
      args: ["run", "--allow-read", "--allow-write", WRITER, src, stop, "init", "200"],
    }).output();
    ok(init.success, "the writer could not build the initial tree");

    const cli = await spawnCli([
      "--source_path",
      src,
      "--replica_path",
      rep,
      "--sync_interval",
      "0.05",
      "--log_level", // Every cycle's summary, quiet ones too.
      "debug",
    ]);
    // The first cycle copies the initial tree; the churn cycles are counted after it.
    const first = await cli.waitForLine(SUMMARY);
    const writer = new Deno.Command(DENO, {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        WRITER,
        src,
        stop,
        "churn",
        "0",
        "1",
        String(PAUSE_EVERY),
      ],
      stdout: "piped",
    }).spawn();

    const started = performance.now();
    const torn: TornSighting[] = [];
    let checks = 0;
    let seen = 0;
    let from = first + 1;
    while (seen < CYCLES) {
      from = (await cli.waitForLine(SUMMARY, from)) + 1;
      seen++;
      // Look at the replica while the engine keeps working: never a torn file.
      torn.push(...tornFiles(rep));
      checks++;
    }
    const elapsed = (performance.now() - started) / 1000;
    Deno.writeTextFileSync(stop, "");
    const writerOut = await writer.output();
    ok(writerOut.success, "the writer failed");
    cli.kill("SIGTERM");
    const status = await cli.status;

    // Failed cycles log to stderr, others to stdout: order by cycle number.
    const summaries = cli.lines.map(parseSummary).filter((s) => s !== undefined)
      .sort((a, b) => a.cycle - b.cycle);
    const crashes = cli.lines.filter((l) => /unexpected error|panicked|Uncaught/.test(l));
    deepEqual(crashes, [], "a cycle crashed");
    equal(status.code, 0, "the loop did not exit cleanly on SIGTERM");
    deepEqual(
      summaries.map((s) => s.cycle),
      summaries.map((_, i) => i + 1),
      "cycles are missing from the log",
    );
    ok(summaries.length >= CYCLES + 1);
    // A torn copy is allowed only where the writer stood still mid-file for the settle
    // time, and only until the next cycle after it moved on (churn_judge.ts).
    const ops: WriterOp[] = JSON.parse(Deno.readTextFileSync(`${dir}/writer-log.json`));
    const cycleEnds = cli.lines.map(cycleEnd).filter((c) => c !== undefined)
      .sort((a, b) => a.cycle - b.cycle);
    equal(cycleEnds.length, summaries.length, "summary lines without a time");
    const emptyNew = cli.lines.flatMap((line) => {
      const copy = line.match(/^(\S+) +INFO +copy +file +(.+) \(0 B\)$/);
      return copy ? [{ path: copy[2], time: Date.parse(copy[1]) }] : [];
    });
    const broken = torn.flatMap((t) => {
      const why = judgeTear(t, ops, cycleEnds, emptyNew);
      return why === undefined ? [] : [`${why}\n${history(t, ops, cli.lines)}`];
    });
    ok(broken.length === 0, `torn files seen in the replica:\n${broken.slice(0, 5).join("\n")}`);
    const tornCopies = new Set(torn.map((t) => `${t.path} ${t.id} ${t.version} ${t.why}`)).size;

    const retried = cli.lines.filter((l) =>
      /changed while being copied|vanished during the run/.test(l)
    ).length;
    const failedCycles = summaries.filter((s) => s.status === "failed").length;
    console.log(
      `${summaries.length} cycles in ${elapsed.toFixed(1)} s with ${
        new TextDecoder().decode(writerOut.stdout).trim()
      }; ${failedCycles} cycles logged errors, ${retried} changed/vanished-file events; replica checked ${checks} times, ${tornCopies} torn copies seen, each after a pause and repaired`,
    );
    ok(retried > 0, "the churn never hit a file mid-copy: the test is too gentle");

    const last = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
    equal(last.code, 0, last.text);
    assertMirror(src, rep);
    deepEqual(tornFiles(rep), []);
    deepEqual(tempFiles(src), [], "the engine wrote into the source");
  } finally {
    await cleanup();
  }
});
