/**
 * Crash consistency: a sync killed with SIGKILL at a random moment never
 * leaves, at any final name, content the source never had; the next normal
 * run completes the mirror and leaves no temporary files.
 */
import { equal, ok, ok as assert } from "node:assert/strict";
import {
  assertMirror,
  assertSameSnapshot,
  isTempName,
  put,
  randomBytes,
  runCli,
  sh,
  type SnapEntry,
  snapshot,
  spawnCli,
  SUMMARY,
} from "../helpers.ts";
import { tempRoot } from "./helpers.ts";

const RUNS = 20;
const MiB = 1024 * 1024;

/** Every version each path ever had in the source: file hashes, link targets, "dir". */
type Versions = Map<string, Set<string>>;

function record(versions: Versions, root: string) {
  for (const [path, node] of snapshot(root)) {
    const v = node.kind === "file"
      ? node.sha!
      : node.kind === "symlink"
      ? `-> ${node.target}`
      : node.kind;
    if (!versions.has(path)) versions.set(path, new Set());
    versions.get(path)!.add(v);
  }
}

/** Paths in the replica whose entry is not a version its source path ever had. */
function foreign(versions: Versions, replica: Map<string, SnapEntry>): string[] {
  const bad: string[] = [];
  for (const [path, node] of replica) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    if (isTempName(name)) continue;
    const v = node.kind === "file"
      ? node.sha!
      : node.kind === "symlink"
      ? `-> ${node.target}`
      : node.kind;
    if (!versions.get(path)?.has(v)) bad.push(`${path} (${node.kind})`);
  }
  return bad;
}

function buildV1(src: string) {
  const t = 1_700_000_000;
  for (let i = 0; i < 3; i++) put(src, `big/large-${i}.bin`, randomBytes(12 * MiB), t);
  for (let d = 0; d < 10; d++) {
    for (let f = 0; f < 30; f++) {
      put(src, `dir-${d}/small-${f}.txt`, `v1 ${d}/${f} ` + "x".repeat(f * 37), t);
    }
  }
  for (let f = 0; f < 50; f++) put(src, `doomed/gone-${f}.txt`, `doomed ${f}`, t);
  for (let f = 0; f < 20; f++) put(src, `extra-${f}.txt`, `extra ${f}`, t);
  put(src, "morph/inner.txt", "a directory in v1, a file in v2", t);
  Deno.symlinkSync("dir-0/small-0.txt", `${src}/link`);
}

function mutateToV2(src: string) {
  const t = 1_700_100_000;
  put(src, "big/large-0.bin", randomBytes(12 * MiB), t);
  put(src, "big/large-1.bin", randomBytes(10 * MiB), t);
  put(src, "big/large-new.bin", randomBytes(8 * MiB), t);
  for (let d = 0; d < 10; d++) {
    for (let f = 0; f < 30; f += 3) put(src, `dir-${d}/small-${f}.txt`, `v2 ${d}/${f} changed`, t);
    for (let f = 0; f < 10; f++) put(src, `dir-${d}/new-${f}.txt`, `new ${d}/${f}`, t);
  }
  Deno.removeSync(`${src}/doomed`, { recursive: true });
  for (let f = 0; f < 20; f++) Deno.removeSync(`${src}/extra-${f}.txt`);
  Deno.removeSync(`${src}/morph`, { recursive: true });
  put(src, "morph", "a file now", t);
  Deno.removeSync(`${src}/link`);
  Deno.symlinkSync("dir-1/small-1.txt", `${src}/link`);
}

Deno.test("crash consistency: SIGKILL at random moments of a sync", async () => {
  const { dir, cleanup } = await tempRoot("crash");
  try {
    const src = `${dir}/source`;
    const pristine = `${dir}/pristine`;
    const rep = `${dir}/replica`;
    const versions: Versions = new Map();

    buildV1(src);
    record(versions, src);
    const first = await runCli(["--source_path", src, "--replica_path", pristine, "--once"]);
    equal(first.code, 0, first.text);
    assertMirror(src, pristine);
    mutateToV2(src);
    record(versions, src);
    const sourceBefore = snapshot(src);
    const pristineSnap = snapshot(pristine);

    // Calibrate: how long does the uninterrupted sync take?
    await sh(["cp", "-a", pristine, rep]);
    const full = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
    equal(full.code, 0, full.text);
    assertMirror(src, rep);
    const seconds = Number(full.lines.find((l) => SUMMARY.test(l))!.match(/in ([\d.]+) s/)![1]);
    const windowMs = Math.max(20, seconds * 1000);
    console.log(`uninterrupted sync: ${seconds} s; killing within that window`);

    let midway = 0;
    let tempsSeen = 0;
    for (let run = 0; run < RUNS; run++) {
      await Deno.remove(rep, { recursive: true });
      await sh(["cp", "-a", pristine, rep]);
      const cli = await spawnCli(["--source_path", src, "--replica_path", rep, "--once"]);
      // Kill at a random moment once the sync has started changing the replica.
      await cli.waitForLine(/ INFO {2}(remove|copy|update|create) /);
      const delay = Math.random() * windowMs * 0.7;
      await new Promise((r) => setTimeout(r, delay));
      cli.kill("SIGKILL");
      const status = await cli.status;

      const after = snapshot(rep);
      const bad = foreign(versions, after);
      deepEmpty(
        bad,
        `run ${run} (killed after ${delay.toFixed(0)} ms): entries the source never had`,
      );
      const temps = [...after.keys()].filter((p) => isTempName(p.slice(p.lastIndexOf("/") + 1)));
      tempsSeen += temps.length;
      const untouched = JSON.stringify([...after]) === JSON.stringify([...pristineSnap]);
      if (status.signal === "SIGKILL" && !untouched) midway++;

      const again = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      equal(again.code, 0, `run ${run}: the run after the kill failed:\n${again.text}`);
      assertMirror(sourceBefore, rep);
    }
    console.log(
      `${RUNS} kills: ${midway} landed mid-sync, ${tempsSeen} temporary files left by kills`,
    );
    ok(
      midway >= RUNS / 4,
      `only ${midway} of ${RUNS} kills landed while the sync was changing things`,
    );
    assertSameSnapshot(sourceBefore, snapshot(src), "the source");
  } finally {
    await cleanup();
  }
});

function deepEmpty(list: string[], what: string) {
  assert(list.length === 0, `${what}: ${list.slice(0, 20).join(", ")}`);
}
