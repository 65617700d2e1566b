// Replica verification: metadata of every entry, content of a sample (or all) of the files.
// Runs outside the timed region.

import { Buffer } from "node:buffer";
import { join } from "node:path";

export interface Entry {
  t: "f" | "d" | "l" | "o";
  size: number;
  mode: number;
  mtimeMs: number;
  target?: string;
}

export type Snapshot = Map<string, Entry>;

/** Walks a tree without following symlinks; keys are relative paths ("" is not included). */
export function snapshot(root: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (rel: string) => {
    const dir = rel ? join(root, rel) : root;
    for (const e of Deno.readDirSync(dir)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const path = join(root, r);
      const st = Deno.lstatSync(path);
      const mtimeMs = st.mtime ? st.mtime.getTime() : 0;
      const mode = (st.mode ?? 0) & 0o7777;
      if (st.isSymlink) {
        out.set(r, { t: "l", size: 0, mode: 0, mtimeMs: 0, target: Deno.readLinkSync(path) });
      } else if (st.isDirectory) {
        out.set(r, { t: "d", size: 0, mode, mtimeMs });
        walk(r);
      } else if (st.isFile) {
        out.set(r, { t: "f", size: st.size, mode, mtimeMs });
      } else {
        out.set(r, { t: "o", size: 0, mode, mtimeMs });
      }
    }
  };
  walk("");
  return out;
}

export interface VerifyOptions {
  /** "full": compare every file's bytes; "sample": ~5% plus `mustCheck`; "meta": no bytes. */
  content: "full" | "sample" | "meta";
  mustCheck?: Iterable<string>;
  /** rclone does not keep permission bits (local->local without --metadata). */
  ignoreMode?: boolean;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  contentChecked: number;
  problems: string[];
  /** Directory mtime differences are counted, not failures (rclone does not keep them). */
  dirMtimeDiffs: number;
  ms: number;
}

function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

const CHUNK = 8 << 20;
const bufA = new Uint8Array(CHUNK);
const bufB = new Uint8Array(CHUNK);

function readFull(f: Deno.FsFile, buf: Uint8Array): number {
  let n = 0;
  while (n < buf.length) {
    const r = f.readSync(buf.subarray(n));
    if (r === null || r === 0) break;
    n += r;
  }
  return n;
}

function sameContent(a: string, b: string, size: number): boolean {
  if (size <= CHUNK) {
    return Buffer.compare(Deno.readFileSync(a), Deno.readFileSync(b)) === 0;
  }
  const fa = Deno.openSync(a);
  const fb = Deno.openSync(b);
  try {
    while (true) {
      const na = readFull(fa, bufA);
      const nb = readFull(fb, bufB);
      if (na !== nb) return false;
      if (na === 0) return true;
      if (Buffer.compare(bufA.subarray(0, na), bufB.subarray(0, nb)) !== 0) return false;
    }
  } finally {
    fa.close();
    fb.close();
  }
}

export function verify(
  srcRoot: string,
  src: Snapshot,
  dstRoot: string,
  opts: VerifyOptions,
): VerifyResult {
  const t0 = performance.now();
  const problems: string[] = [];
  const note = (s: string) => {
    if (problems.length < 20) problems.push(s);
    else if (problems.length === 20) problems.push("...");
  };
  let dst: Snapshot;
  try {
    dst = snapshot(dstRoot);
  } catch (e) {
    return {
      ok: false,
      entries: 0,
      contentChecked: 0,
      problems: [`cannot walk replica: ${e}`],
      dirMtimeDiffs: 0,
      ms: performance.now() - t0,
    };
  }
  let bad = 0;
  let dirMtimeDiffs = 0;
  const must = new Set(opts.mustCheck ?? []);
  const toCheck: [string, number][] = [];
  for (const [rel, s] of src) {
    const d = dst.get(rel);
    if (!d) {
      bad++;
      note(`missing: ${rel}`);
      continue;
    }
    if (d.t !== s.t) {
      bad++;
      note(`type ${s.t} -> ${d.t}: ${rel}`);
      continue;
    }
    if (s.t === "l") {
      if (d.target !== s.target) {
        bad++;
        note(`symlink target ${s.target} -> ${d.target}: ${rel}`);
      }
      continue;
    }
    if (!opts.ignoreMode && d.mode !== s.mode) {
      bad++;
      note(`mode ${s.mode.toString(8)} -> ${d.mode.toString(8)}: ${rel}`);
    }
    if (s.t === "d") {
      if (d.mtimeMs !== s.mtimeMs) dirMtimeDiffs++;
      continue;
    }
    if (s.t === "f") {
      if (d.size !== s.size) {
        bad++;
        note(`size ${s.size} -> ${d.size}: ${rel}`);
        continue;
      }
      if (d.mtimeMs !== s.mtimeMs) {
        bad++;
        note(`mtime ${s.mtimeMs} -> ${d.mtimeMs}: ${rel}`);
      }
      if (
        opts.content === "full" || must.has(rel) || s.size > (1 << 20) ||
        (opts.content === "sample" && hash32(rel) % 20 === 0)
      ) {
        if (opts.content !== "meta" || must.has(rel)) toCheck.push([rel, s.size]);
      }
    }
  }
  for (const rel of dst.keys()) {
    if (!src.has(rel)) {
      bad++;
      note(`extra: ${rel}`);
    }
  }
  for (const [rel, size] of toCheck) {
    if (!sameContent(join(srcRoot, rel), join(dstRoot, rel), size)) {
      bad++;
      note(`content differs: ${rel}`);
    }
  }
  return {
    ok: bad === 0,
    entries: dst.size,
    contentChecked: toCheck.length,
    problems,
    dirMtimeDiffs,
    ms: performance.now() - t0,
  };
}
