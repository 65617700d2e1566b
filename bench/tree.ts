// Deterministic benchmark trees (seeded PRNG) and the incremental-scenario mutation.
//
// Three kinds: "small" (many small files in randomly nested directories), "large" (a few big
// files) and "flat" (`dirs` leaf directories of files/dirs files each, in groups of 100 under the
// root, sizes 0 to maxSize bytes; the million-file tree).
//
// A generated tree lives in .bench/trees/<key>/ with src/ (the source), and, when asked for,
// src-inc/ (src with the incremental mutation applied). A `.complete-*` marker file holding the
// parameters makes a later run reuse the tree instead of generating it again.

import { Buffer } from "node:buffer";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Bump when the generator's output changes, so cached trees are rebuilt. */
export const GENERATOR_VERSION = 3;

export interface TreeParams {
  kind: "small" | "large" | "flat";
  seed: number;
  /** Regular files (symlinks come on top). */
  files: number;
  /** Directories (besides the root), nested at random; for kind "flat", the leaf directories. */
  dirs: number;
  /** For kinds "small" and "flat": the largest file size in bytes. */
  maxSize: number;
  /** For kind "large": the size of each file in bytes. */
  largeSize: number;
  /** Symlinks to sibling files (plus two dangling ones when > 0). */
  symlinks: number;
}

/** mulberry32: a small, fast, seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a buffer with xorshift32 output (fast bulk pseudo-random bytes). */
function fillRandom(buf: Uint8Array, seed: number): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  let x = (seed >>> 0) || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < buf.length; i++) buf[i] = i * 31 + seed;
}

export function treeKey(p: TreeParams): string {
  const s = JSON.stringify({ ...p, v: GENERATOR_VERSION });
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  const size = p.kind === "large" ? `${p.largeSize >> 20}M` : `${p.files}f`;
  return `${p.kind}-${size}-s${p.seed}-${h.toString(16)}`;
}

const BASE_MTIME_MS = Date.UTC(2024, 0, 1);
const MUTATION_MTIME_MS = Date.UTC(2025, 5, 1, 12);
const DAY_MS = 86_400_000;

/** Sets mtime (and atime) to a millisecond value, keeping the sub-second part. */
function setMtime(path: string, ms: number): void {
  const d = new Date(ms);
  Deno.utimeSync(path, d, d);
}

interface Layout {
  dirs: string[]; // relative paths, index 0 = "" (root)
}

function makeLayout(p: TreeParams, rand: () => number): Layout {
  const dirs = [""];
  if (p.kind === "flat") {
    // gNNN/dNN: groups of 100 leaf directories, so no directory holds more than 100 entries
    // (given files/dirs <= 100).
    for (let g = 0; g * 100 < p.dirs; g++) {
      const group = `g${String(g).padStart(3, "0")}`;
      dirs.push(group);
      for (let i = g * 100; i < Math.min(p.dirs, (g + 1) * 100); i++) {
        dirs.push(`${group}/d${String(i % 100).padStart(2, "0")}`);
      }
    }
    return { dirs };
  }
  for (let i = 1; i <= p.dirs; i++) {
    // Parent chosen among earlier directories: a random recursive tree (depth ~ ln n), with a
    // bias to recent directories so some chains nest deeper.
    const parent = rand() < 0.3
      ? Math.max(0, i - 1 - Math.floor(rand() * 4))
      : Math.floor(rand() * i);
    const name = `d${String(i).padStart(5, "0")}`;
    dirs.push(dirs[parent] === "" ? name : `${dirs[parent]}/${name}`);
  }
  return { dirs };
}

/** Size distribution for "small" trees: 2% empty, else maxSize * u^1.3 (most files small). */
function smallSize(rand: () => number, maxSize: number): number {
  if (rand() < 0.02) return 0;
  return Math.floor(maxSize * Math.pow(rand(), 1.3));
}

function fileMode(rand: () => number): number {
  const r = rand();
  return r < 0.9 ? 0o644 : r < 0.98 ? 0o755 : 0o600;
}

const POOL_SIZE = 64 << 20;
let pool: Uint8Array | undefined;
function contentPool(seed: number): Uint8Array {
  if (!pool) {
    pool = new Uint8Array(POOL_SIZE);
    fillRandom(pool, seed ^ 0x5bd1e995);
  }
  return pool;
}

function slice(rand: () => number, size: number, seed: number): Uint8Array {
  const p = contentPool(seed);
  const off = Math.floor(rand() * (POOL_SIZE - size - 1));
  return p.subarray(off, off + size);
}

function markerPath(root: string, what: string): string {
  return join(root, `.complete-${what}`);
}

function isComplete(root: string, what: string, p: TreeParams): boolean {
  const m = markerPath(root, what);
  if (!existsSync(m)) return false;
  try {
    return readFileSync(m, "utf8") === JSON.stringify({ ...p, v: GENERATOR_VERSION });
  } catch {
    return false;
  }
}

function markComplete(root: string, what: string, p: TreeParams): void {
  writeFileSync(markerPath(root, what), JSON.stringify({ ...p, v: GENERATOR_VERSION }));
}

/** Writes the source tree into root/src unless a matching marker says it is there already. */
export function ensureSource(root: string, p: TreeParams, log: (s: string) => void): string {
  const src = join(root, "src");
  if (isComplete(root, "src", p)) return src;
  const t0 = performance.now();
  rmSync(root, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const rand = prng(p.seed);
  const { dirs } = makeLayout(p, rand);
  for (const d of dirs) if (d) mkdirSync(join(src, d), { recursive: true });
  let bytes = 0;
  if (p.kind === "large") {
    const chunk = new Uint8Array(8 << 20);
    for (let i = 0; i < p.files; i++) {
      const path = join(src, dirs[i % dirs.length], `large${i}.bin`);
      const f = Deno.openSync(path, { write: true, create: true, truncate: true });
      for (let off = 0, c = 0; off < p.largeSize; off += chunk.length, c++) {
        fillRandom(chunk, (p.seed * 7919 + i * 104729 + c * 31) >>> 0);
        const n = Math.min(chunk.length, p.largeSize - off);
        let w = 0;
        while (w < n) w += f.writeSync(chunk.subarray(w, n));
      }
      f.close();
      setMtime(path, BASE_MTIME_MS + Math.floor(rand() * 300 * DAY_MS));
      bytes += p.largeSize;
    }
  } else if (p.kind === "flat") {
    const leaves = dirs.filter((d) => d.includes("/"));
    const perDir = Math.ceil(p.files / leaves.length);
    for (let i = 0; i < p.files; i++) {
      const path = join(src, leaves[Math.floor(i / perDir)], `f${String(i).padStart(7, "0")}.dat`);
      const size = Math.floor(rand() * (p.maxSize + 1));
      const mode = fileMode(rand);
      Deno.writeFileSync(path, slice(rand, size, p.seed), { mode });
      if (mode !== 0o644) Deno.chmodSync(path, mode);
      setMtime(path, BASE_MTIME_MS + Math.floor(rand() * 300 * DAY_MS));
      bytes += size;
      if ((i + 1) % 100_000 === 0) log(`generating ${src}: ${i + 1} of ${p.files} files`);
    }
  } else {
    const siblings: { dir: string; name: string }[] = [];
    for (let i = 0; i < p.files; i++) {
      const dir = dirs[Math.floor(rand() * dirs.length)];
      const ext = rand() < 0.3 ? "txt" : "dat";
      const name = `f${String(i).padStart(6, "0")}.${ext}`;
      const path = join(src, dir, name);
      const size = smallSize(rand, p.maxSize);
      const mode = fileMode(rand);
      Deno.writeFileSync(path, slice(rand, size, p.seed), { mode });
      if (mode !== 0o644) Deno.chmodSync(path, mode);
      setMtime(path, BASE_MTIME_MS + Math.floor(rand() * 300 * DAY_MS));
      bytes += size;
      siblings.push({ dir, name });
    }
    for (let i = 0; i < p.symlinks && siblings.length; i++) {
      // A relative symlink beside a file, pointing at it by its bare name.
      const { dir, name } = siblings[Math.floor(rand() * siblings.length)];
      Deno.symlinkSync(name, join(src, dir, `link${String(i).padStart(5, "0")}`));
    }
    if (p.symlinks > 0) {
      Deno.symlinkSync("does/not/exist", join(src, "dangling-link"));
      // A symlink to a directory (not an ancestor, so a tool that follows links does not loop).
      if (dirs.length > 1) Deno.symlinkSync(dirs[1], join(src, "dir-link"));
    }
  }
  // Directory mtimes last, deepest first (writing entries changes the parent's mtime).
  const byDepth = [...dirs].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const d of byDepth) {
    setMtime(join(src, d), BASE_MTIME_MS + Math.floor(rand() * 300 * DAY_MS));
  }
  markComplete(root, "src", p);
  log(
    `generated ${src}: ${p.files} files, ${dirs.length - 1} dirs, ${(bytes / 1e6).toFixed(1)} MB ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return src;
}

export interface Mutation {
  modified: string[];
  added: string[];
  deleted: string[];
}

function listFiles(src: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? join(src, rel) : src)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(r);
      else if (e.isFile) out.push(r);
    }
  };
  walk("");
  return out.sort();
}

function listDirs(src: string): string[] {
  const out: string[] = [""];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? join(src, rel) : src)) {
      if (!e.isDirectory) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      walk(r);
    }
  };
  walk("");
  return out.sort();
}

/**
 * Builds root/src-inc: a copy of src with `pct`% of the regular files modified (new content,
 * half of them a new size, and a new mtime), `pct`% added and `pct`% deleted. At least one file
 * is modified. Deterministic for a given tree and pct. Returns the list of touched paths.
 */
export function ensureMutated(
  root: string,
  p: TreeParams,
  pct: number,
  log: (s: string) => void,
): { dir: string; mutation: Mutation } {
  const inc = join(root, "src-inc");
  const what = `inc-${pct}`;
  const mpath = join(root, `mutation-${pct}.json`);
  if (isComplete(root, what, p) && existsSync(mpath)) {
    return { dir: inc, mutation: JSON.parse(readFileSync(mpath, "utf8")) };
  }
  const t0 = performance.now();
  rmSync(inc, { recursive: true, force: true });
  const cp = new Deno.Command("cp", { args: ["-a", join(root, "src"), inc] }).outputSync();
  if (!cp.success) throw new Error(`cp -a failed: ${new TextDecoder().decode(cp.stderr)}`);
  const files = listFiles(inc);
  const dirs = listDirs(inc);
  const rand = prng(p.seed ^ 0x1234567);
  const n = files.length;
  const nMod = Math.max(1, Math.round((n * pct) / 100));
  const nAdd = Math.round((n * pct) / 100);
  const nDel = Math.round((n * pct) / 100);
  // Pick distinct indices: first nMod are modified, next nDel deleted.
  const idx = new Set<number>();
  const picked: number[] = [];
  while (picked.length < Math.min(n, nMod + nDel)) {
    const i = Math.floor(rand() * n);
    if (!idx.has(i)) {
      idx.add(i);
      picked.push(i);
    }
  }
  const touchedDirs = new Set<string>();
  const parent = (rel: string) => (rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "");
  const modified: string[] = [];
  const deleted: string[] = [];
  const added: string[] = [];
  for (const [k, i] of picked.entries()) {
    const rel = files[i];
    const path = join(inc, rel);
    if (k < nMod) {
      const st = Deno.statSync(path);
      const size = p.kind === "large"
        ? st.size
        : (rand() < 0.5 ? st.size : smallSize(rand, p.maxSize));
      const f = Deno.openSync(path, { read: true, write: true });
      if (p.kind === "large") {
        // Rewrite 4 MiB in the middle (same size): a partial change to a big file.
        const buf = new Uint8Array(4 << 20);
        fillRandom(buf, (p.seed ^ i ^ 0xabcdef) >>> 0);
        f.seekSync(Math.floor(st.size / 2), Deno.SeekMode.Start);
        let w = 0;
        while (w < buf.length) w += f.writeSync(buf.subarray(w));
        f.close();
      } else {
        f.close();
        const old = Deno.readFileSync(path);
        let data = Buffer.from(slice(rand, size, p.seed));
        if (size === old.length) {
          data = Buffer.from(data); // own copy before any change
          if (size === 0) {
            // An empty file can only change by growing.
            data = Buffer.from("changed\n");
          } else if (Buffer.compare(data, old) === 0) data[0] ^= 0xff;
        }
        Deno.writeFileSync(path, data);
      }
      setMtime(path, MUTATION_MTIME_MS + k * 1001);
      modified.push(rel);
    } else {
      Deno.removeSync(path);
      deleted.push(rel);
    }
    touchedDirs.add(parent(rel));
  }
  // Added files: 90% in existing directories, 10% in a few new directories.
  const newDirs: string[] = [];
  for (let i = 0; i < Math.max(1, Math.round(nAdd / 100)) && nAdd > 0; i++) {
    const base = dirs[Math.floor(rand() * dirs.length)];
    const nd = base ? `${base}/new${i}` : `new${i}`;
    mkdirSync(join(inc, nd));
    newDirs.push(nd);
    touchedDirs.add(base);
  }
  for (let i = 0; i < nAdd; i++) {
    const dir = rand() < 0.1 && newDirs.length
      ? newDirs[Math.floor(rand() * newDirs.length)]
      : dirs[Math.floor(rand() * dirs.length)];
    const rel = `${dir ? dir + "/" : ""}added${String(i).padStart(6, "0")}.dat`;
    const size = p.kind === "large" ? p.largeSize : smallSize(rand, p.maxSize);
    Deno.writeFileSync(join(inc, rel), slice(rand, Math.min(size, POOL_SIZE - 2), p.seed));
    setMtime(join(inc, rel), MUTATION_MTIME_MS + (nMod + i) * 1001);
    added.push(rel);
    touchedDirs.add(dir);
  }
  for (const d of [...touchedDirs, ...newDirs]) setMtime(join(inc, d), MUTATION_MTIME_MS);
  const mutation = { modified, added, deleted };
  writeFileSync(mpath, JSON.stringify(mutation));
  markComplete(root, what, p);
  log(
    `mutated copy ${inc}: ${modified.length} modified, ${added.length} added, ` +
      `${deleted.length} deleted in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { dir: inc, mutation };
}
