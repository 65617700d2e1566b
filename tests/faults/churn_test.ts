/**
 * Churn while syncing: a writer process changes the source throughout 50
 * back-to-back cycles; no cycle crashes, the replica never holds a torn file,
 * and one more cycle after the writer stops makes the replica exactly equal.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  assertMirror,
  checkVersion,
  DENO,
  isTempName,
  parseSummary,
  runCli,
  spawnCli,
  SUMMARY,
  tempFiles,
  tempRoot,
} from "./helpers.ts";

const CYCLES = 50;
const WRITER = new URL("./churn_writer.ts", import.meta.url).pathname;

/** Torn files among the replica's files at their final names (vanishing ones are fine). */
function tornFiles(root: string): string[] {
  const torn: string[] = [];
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
        try {
          data = Deno.readFileSync(path);
        } catch {
          continue; // replaced or removed under us
        }
        const why = checkVersion(data);
        if (why) torn.push(`${path.slice(root.length + 1)}: ${why}`);
      }
    }
  };
  visit(root);
  return torn;
}

Deno.test("churn: a writer changes the source during 50 cycles; nothing torn, then equal", async () => {
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
    ]);
    await cli.waitForLine(SUMMARY); // the first cycle copies the initial tree
    const writer = new Deno.Command(DENO, {
      args: ["run", "--allow-read", "--allow-write", WRITER, src, stop, "churn", "0", "1"],
      stdout: "piped",
    }).spawn();

    const started = performance.now();
    const torn: string[] = [];
    let checks = 0;
    let seen = 0;
    let from = 0;
    while (seen < CYCLES) {
      from = (await cli.waitForLine(SUMMARY, from)) + 1;
      seen++;
      // Look at the replica while the engine keeps working: never a torn file.
      torn.push(...tornFiles(rep).map((t) => `after summary ${seen}: ${t}`));
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
    ok(torn.length === 0, `torn files seen in the replica:\n${torn.slice(0, 15).join("\n")}`);

    const retried = cli.lines.filter((l) =>
      /changed while being copied|vanished during the run/.test(l)
    ).length;
    const failedCycles = summaries.filter((s) => s.status === "failed").length;
    console.log(
      `${summaries.length} cycles in ${elapsed.toFixed(1)} s with ${
        new TextDecoder().decode(writerOut.stdout).trim()
      }; ${failedCycles} cycles logged errors, ${retried} changed/vanished-file events; replica checked ${checks} times`,
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
