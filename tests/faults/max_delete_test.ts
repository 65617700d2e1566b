/**
 * `--max-delete N`: a cycle that would remove more than N entries removes
 * none, says why and fails; at or under the limit the removals happen.
 */
import { equal, ok } from "node:assert/strict";
import { assertMirror, assertSameSnapshot, put, runCli, snapshot, spawnCli } from "../helpers.ts";
import { tempRoot } from "./helpers.ts";

async function setup(dir: string) {
  const src = `${dir}/source`;
  const rep = `${dir}/replica`;
  const t = 1_700_000_000;
  for (let i = 0; i < 5; i++) put(src, `keep-${i}.txt`, `keep ${i}`, t);
  for (let i = 0; i < 7; i++) put(src, `del-${i}.txt`, `delete ${i}`, t);
  put(src, "deldir/a.txt", "a", t);
  put(src, "deldir/b.txt", "b", t);
  const first = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
  equal(first.code, 0, first.text);
  // 7 files and a directory holding 2: 10 removals.
  for (let i = 0; i < 7; i++) Deno.removeSync(`${src}/del-${i}.txt`);
  Deno.removeSync(`${src}/deldir`, { recursive: true });
  put(src, "new.txt", "new", t + 10);
  return { src, rep };
}

/** One `--once` run of src into rep with `--max-delete N`. */
function onceWithMaxDelete(src: string, rep: string, n: string) {
  return runCli(["--source_path", src, "--replica_path", rep, "--once", "--max-delete", n]);
}

Deno.test("--max-delete: over the limit nothing is removed, the cycle fails and says why", async () => {
  const { dir, cleanup } = await tempRoot("maxdel");
  try {
    const { src, rep } = await setup(dir);
    const sourceBefore = snapshot(src);
    const replicaBefore = snapshot(rep, { dirTimes: false });

    const over = await onceWithMaxDelete(src, rep, "9");
    equal(over.code, 1, over.text);
    ok(
      over.lines.some((l) =>
        /ERROR/.test(l) && /would remove 10 entries, more than --max-delete 9/.test(l)
      ),
      over.text,
    );
    ok(
      !over.lines.some((l) => /^\S+ INFO {2}remove /.test(l)),
      `something was removed:\n${over.text}`,
    );
    const now = snapshot(rep, { dirTimes: false });
    for (const [path, node] of replicaBefore) {
      if (node.kind === "dir") continue;
      equal(JSON.stringify(now.get(path)), JSON.stringify(node), `${path} was removed or changed`);
    }
    // Other changes still go through.
    equal(Deno.readTextFileSync(`${rep}/new.txt`), "new");
    ok(/cycle 1 failed/.test(over.text), over.text);

    // At the limit: removals happen.
    const at = await onceWithMaxDelete(src, rep, "10");
    equal(at.code, 0, at.text);
    ok(/10 removed/.test(at.text), at.text);
    assertMirror(src, rep);
    assertSameSnapshot(sourceBefore, snapshot(src), "the source");
  } finally {
    await cleanup();
  }
});

Deno.test("--max-delete in loop mode: every cycle over the limit refuses, and the loop keeps running", async () => {
  const { dir, cleanup } = await tempRoot("maxdel-loop");
  try {
    const { src, rep } = await setup(dir);
    const sourceBefore = snapshot(src);
    const cli = await spawnCli([
      "--source_path",
      src,
      "--replica_path",
      rep,
      "--sync_interval",
      "0.05",
      "--max-delete",
      "3",
    ]);
    await cli.waitForLine(/cycle 3 failed/);
    cli.kill("SIGTERM");
    equal((await cli.status).code, 0);
    equal(
      cli.lines.filter((l) => /would remove 10 entries, more than --max-delete 3/.test(l)).length >=
        3,
      true,
    );
    ok(Deno.statSync(`${rep}/del-0.txt`).isFile, "a removal happened over the limit");
    ok(Deno.statSync(`${rep}/deldir/a.txt`).isFile, "a removal happened over the limit");
    const zero = await onceWithMaxDelete(src, rep, "0");
    equal(zero.code, 1, zero.text);
    const ok10 = await onceWithMaxDelete(src, rep, "100");
    equal(ok10.code, 0, ok10.text);
    assertMirror(src, rep);
    const idle = await onceWithMaxDelete(src, rep, "0");
    equal(idle.code, 0, `a cycle with nothing to remove must pass --max-delete 0:\n${idle.text}`);
    assertSameSnapshot(sourceBefore, snapshot(src), "the source");
  } finally {
    await cleanup();
  }
});
