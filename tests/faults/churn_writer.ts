/**
 * The churn writer of the fault tests: a separate process that keeps
 * creating, rewriting (in place, same size or truncated), renaming and
 * deleting files and directories in a source tree, every file content a whole
 * version (see `makeVersion`), until a stop file appears.
 *
 * ```sh
 * deno run --allow-read --allow-write tests/faults/churn_writer.ts ROOT STOP_FILE [init FILES] [pace_ms]
 * ```
 *
 * Prints one line at the end: `writer: N operations`.
 *
 * @module
 */
import { makeVersion } from "./helpers.ts";

const [root, stopFile, mode = "churn", arg = "0", paceArg = "1"] = Deno.args;
const pace = Number(paceArg);

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

/** Writes bytes in chunks, yielding between them, so readers can catch it half done. */
async function writeChunked(path: string, data: Uint8Array, truncate: boolean) {
  using file = await Deno.open(path, { write: true, create: true, truncate });
  const chunk = 16 * 1024;
  for (let at = 0; at < data.length; at += chunk) {
    let view = data.subarray(at, Math.min(data.length, at + chunk));
    while (view.length) view = view.subarray(await file.write(view));
  }
}

async function create(dir: string) {
  const rel = (dir ? dir + "/" : "") + `f${nextName++}.dat`;
  const state = { id: nextId++, version: 1, length: randomLength() };
  await writeChunked(abs(rel), makeVersion(state.id, state.version, state.length), true);
  files.set(rel, state);
}

async function rewrite(sameSize: boolean) {
  const rel = pick(files.keys());
  if (!rel) return;
  const state = files.get(rel)!;
  state.version++;
  if (!sameSize) state.length = randomLength();
  // Same size: overwrite in place without truncating (size never changes).
  await writeChunked(abs(rel), makeVersion(state.id, state.version, state.length), !sameSize);
}

async function replaceAtomically() {
  const rel = pick(files.keys());
  if (!rel) return;
  const state = files.get(rel)!;
  state.version++;
  state.length = randomLength();
  const tmp = abs(rel) + ".writing";
  await Deno.writeFile(tmp, makeVersion(state.id, state.version, state.length));
  await Deno.rename(tmp, abs(rel));
}

function moveFile() {
  const rel = pick(files.keys());
  const dir = pick(dirs);
  if (!rel || dir === undefined) return;
  const to = (dir ? dir + "/" : "") + `f${nextName++}.dat`;
  Deno.renameSync(abs(rel), abs(to));
  files.set(to, files.get(rel)!);
  files.delete(rel);
}

function removeFile() {
  const rel = pick(files.keys());
  if (!rel) return;
  Deno.removeSync(abs(rel));
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
  Deno.renameSync(abs(rel), abs(to));
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
  Deno.removeSync(abs(rel), { recursive: true });
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
  await new Promise((resolve) => setTimeout(resolve, pace));
}
console.log(`writer: ${operations} operations`);
