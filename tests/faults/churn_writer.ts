/**
 * The churn writer of the fault tests: a separate process that keeps
 * creating, rewriting (in place, same size or truncated), renaming and
 * deleting files and directories in a source tree, every file content a whole
 * version (see `makeVersion`), until a stop file appears.
 *
 * ```sh
 * deno run --allow-read --allow-write tests/faults/churn_writer.ts ROOT STOP_FILE [init FILES] [pace_ms] [pause_every]
 * ```
 *
 * In churn mode it logs the time of every step of every operation (each
 * write's open and chunks, each rename and delete) and writes that log to
 * `ROOT/../writer-log.json` when it stops, so the test can tell where the
 * writer stood still in the middle of a file (see churn_judge.ts). With
 * `pause_every` N > 0, every Nth write stands still for 300 ms after its open
 * or its first chunk, as a writer on a loaded machine may. Prints one line at
 * the end: `writer: N operations, ...`.
 *
 * @module
 */
import { makeVersion } from "./helpers.ts";
import { longestPause, SETTLE_MS, TICK_MS, type WriterOp } from "./churn_judge.ts";

const [root, stopFile, mode = "churn", arg = "0", paceArg = "1", pauseEveryArg = "0"] = Deno.args;
const pace = Number(paceArg);
const pauseEvery = Number(pauseEveryArg);
const PAUSE_MS = 300;
const log: WriterOp[] = [];
let writes = 0;
let deliberate = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Logs a rename or delete of `rel` (for a directory: everything under it). */
function touched(rel: string, at: number) {
  log.push({ op: "touch", path: rel, steps: [at, Date.now()] });
}

interface FileState {
  id: number;
  version: number;
  length: number;
}

const files = new Map<string, FileState>();
const dirs = new Set<string>([""]);
let nextId = 1;
let nextName = 1;

function pick<T>(items: Iterable<T>): T | undefined {
  const list = [...items];
  return list.length ? list[Math.floor(Math.random() * list.length)] : undefined;
}

function randomLength(): number {
  const r = Math.random();
  if (r < 0.6) return 1 + Math.floor(Math.random() * 8 * 1024);
  if (r < 0.9) return 8 * 1024 + Math.floor(Math.random() * 120 * 1024);
  return 256 * 1024 + Math.floor(Math.random() * 768 * 1024);
}

function abs(rel: string): string {
  return rel === "" ? root : `${root}/${rel}`;
}

/**
 * Writes bytes in chunks, yielding between them, so readers can catch it half
 * done; logs the start and end time of the open and of each chunk.
 */
async function writeChunked(rel: string, state: FileState, data: Uint8Array, truncate: boolean) {
  const steps: number[] = [];
  log.push({ op: "write", path: rel, id: state.id, version: state.version, steps });
  const chunk = 16 * 1024;
  // A deliberate pause comes after the open or, alternately, the first of several chunks.
  let pauseAt = pauseEvery > 0 && ++writes % pauseEvery === 0 ? deliberate++ % 2 : -1;
  if (pauseAt === 1 && data.length <= chunk) pauseAt = 0;
  let start = Date.now();
  using file = await Deno.open(abs(rel), { write: true, create: true, truncate });
  steps.push(start, Date.now());
  if (pauseAt === 0) await sleep(PAUSE_MS);
  for (let at = 0; at < data.length; at += chunk) {
    start = Date.now();
    let view = data.subarray(at, Math.min(data.length, at + chunk));
    while (view.length) view = view.subarray(await file.write(view));
    steps.push(start, Date.now());
    if (pauseAt === 1 && at === 0) await sleep(PAUSE_MS);
  }
}

async function create(dir: string) {
  const rel = (dir ? dir + "/" : "") + `f${nextName++}.dat`;
  const state = { id: nextId++, version: 1, length: randomLength() };
  files.set(rel, state);
  await writeChunked(rel, state, makeVersion(state.id, state.version, state.length), true);
}

async function rewrite(sameSize: boolean) {
  const rel = pick(files.keys());
  if (!rel) return;
  const state = files.get(rel)!;
  state.version++;
  if (!sameSize) state.length = randomLength();
  // Same size: overwrite in place without truncating (size never changes).
  await writeChunked(rel, state, makeVersion(state.id, state.version, state.length), !sameSize);
}

async function replaceAtomically() {
  const rel = pick(files.keys());
  if (!rel) return;
  const state = files.get(rel)!;
  state.version++;
  state.length = randomLength();
  const tmp = rel + ".writing";
  const data = makeVersion(state.id, state.version, state.length);
  const start = Date.now();
  await Deno.writeFile(abs(tmp), data);
  log.push({
    op: "write",
    path: tmp,
    id: state.id,
    version: state.version,
    steps: [start, Date.now()],
  });
  const renamed = Date.now();
  await Deno.rename(abs(tmp), abs(rel));
  touched(tmp, renamed);
  touched(rel, renamed);
}

function moveFile() {
  const rel = pick(files.keys());
  const dir = pick(dirs);
  if (!rel || dir === undefined) return;
  const to = (dir ? dir + "/" : "") + `f${nextName++}.dat`;
  const at = Date.now();
  Deno.renameSync(abs(rel), abs(to));
  touched(rel, at);
  files.set(to, files.get(rel)!);
  files.delete(rel);
}

function removeFile() {
  const rel = pick(files.keys());
  if (!rel) return;
  const at = Date.now();
  Deno.removeSync(abs(rel));
  touched(rel, at);
  files.delete(rel);
}

function makeDir() {
  const parent = pick([...dirs].filter((d) => d.split("/").length < 4));
  if (parent === undefined) return;
  const rel = (parent ? parent + "/" : "") + `d${nextName++}`;
  Deno.mkdirSync(abs(rel));
  dirs.add(rel);
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + "/");
}

function moveDir() {
  const rel = pick([...dirs].filter((d) => d !== ""));
  if (!rel) return;
  const parent = pick([...dirs].filter((d) => !under(d, rel)));
  if (parent === undefined) return;
  const to = (parent ? parent + "/" : "") + `d${nextName++}`;
  const at = Date.now();
  Deno.renameSync(abs(rel), abs(to));
  touched(rel, at);
  const moved = (p: string) => to + p.slice(rel.length);
  for (const d of [...dirs]) {
    if (under(d, rel)) {
      dirs.delete(d);
      dirs.add(moved(d));
    }
  }
  for (const [p, s] of [...files]) {
    if (under(p, rel)) {
      files.delete(p);
      files.set(moved(p), s);
    }
  }
}

function removeDir() {
  const rel = pick([...dirs].filter((d) => d !== ""));
  if (!rel) return;
  const at = Date.now();
  Deno.removeSync(abs(rel), { recursive: true });
  touched(rel, at);
  for (const d of [...dirs]) if (under(d, rel)) dirs.delete(d);
  for (const p of [...files.keys()]) if (under(p, rel)) files.delete(p);
}

function stopped(): boolean {
  try {
    Deno.lstatSync(stopFile);
    return true;
  } catch {
    return false;
  }
}

if (mode === "init") {
  for (let i = 0; i < 8; i++) makeDir();
  for (let i = 0; i < Number(arg); i++) await create(pick(dirs)!);
  console.log(`writer: created ${files.size} files in ${dirs.size} directories`);
  Deno.writeTextFileSync(
    `${root}/../writer-state.json`,
    JSON.stringify({ files: [...files], dirs: [...dirs], nextId, nextName }),
  );
  Deno.exit(0);
}

// Churn: carry on from the state the init run left.
const saved = JSON.parse(Deno.readTextFileSync(`${root}/../writer-state.json`));
for (const [p, s] of saved.files) files.set(p, s);
for (const d of saved.dirs) dirs.add(d);
nextId = saved.nextId;
nextName = saved.nextName;

let operations = 0;
while (!stopped()) {
  const r = Math.random();
  if (r < 0.30) await rewrite(true);
  else if (r < 0.50) await rewrite(false);
  else if (r < 0.58) await replaceAtomically();
  else if (r < 0.70 || files.size < 50) await create(pick(dirs)!);
  else if (r < 0.80) moveFile();
  else if (r < 0.88 && files.size > 150) removeFile();
  else if (r < 0.92 && dirs.size < 30) makeDir();
  else if (r < 0.96) moveDir();
  else if (r < 0.98 && dirs.size > 6) removeDir();
  operations++;
  await sleep(pace);
}
Deno.writeTextFileSync(`${root}/../writer-log.json`, JSON.stringify(log));
const paused = log.filter((op) => op.op === "write" && longestPause(op) >= SETTLE_MS - TICK_MS)
  .length;
const longest = Math.max(0, ...log.map((op) => op.op === "write" ? longestPause(op) : 0));
console.log(
  `writer: ${operations} operations, ${paused} writes paused ${
    SETTLE_MS - TICK_MS
  } ms or more (${deliberate} on purpose), longest pause ${longest} ms`,
);
