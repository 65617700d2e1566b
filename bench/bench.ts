// foldersync benchmark: `deno task bench [options]` (see --help).
//
// Times foldersync (`main.ts --once`, as a whole process) against rsync, rclone and cp -a on
// deterministic trees, checks every replica against its source after every run (outside the
// timed region), prints markdown tables and PASS/MISS against the targets, and writes JSON.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureMutated, ensureSource, type Mutation, treeKey, type TreeParams } from "./tree.ts";
import { type Snapshot, snapshot, verify, type VerifyResult } from "./verify.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH_DIR = join(REPO, ".bench");

type TreeName = "small" | "large" | "scale" | "million";
type Scenario =
  | "initial"
  | "fresh"
  | "future"
  | "nochange"
  | "incremental"
  | "incremental-future";
const TREES: TreeName[] = ["small", "large", "scale", "million"];
/** The million tree is opt-in: it takes minutes per run and ~10 GB of tmpfs. */
const DEFAULT_TREES: TreeName[] = ["small", "large", "scale"];
const SCENARIOS: Scenario[] = [
  "initial",
  "fresh",
  "future",
  "nochange",
  "incremental",
  "incremental-future",
];
const DEFAULT_SCENARIOS: Record<TreeName, Scenario[]> = {
  small: ["initial", "fresh", "future", "nochange", "incremental", "incremental-future"],
  large: ["initial", "nochange", "incremental"],
  scale: ["nochange", "incremental"],
  million: ["initial", "nochange"],
};
/** Scenarios whose replica starts empty (the rest start from the source or the unmutated one). */
const FIRST_COPY: Scenario[] = ["initial", "fresh", "future"];
const INCREMENTAL: Scenario[] = ["incremental", "incremental-future"];
/**
 * Scenarios that give source files new mtimes before every run (untimed), in a copy of the
 * source: every regular file ("all") or the incremental mutation's modified and added files
 * ("changed"), dated `ahead` ms after the moment the tool is started. "scan": when foldersync
 * begins its cycle, so every file it plans in its first 100 ms has not settled (the first
 * line of the previous foldersync run's log, less its start; before that run, Deno's start-up
 * time). Dating them "now" instead would leave them settled by the time the scan sees them:
 * Deno's start-up alone is about the 100 ms settle time, and dating 20,000 files takes more.
 */
const REDATE: Partial<Record<Scenario, { files: "all" | "changed"; ahead: number | "scan" }>> = {
  fresh: { files: "all", ahead: "scan" },
  future: { files: "all", ahead: 5000 },
  "incremental-future": { files: "changed", ahead: 5000 },
};

const HELP = `deno task bench [options]

  --tree LIST       small,large,scale,million (default: small,large,scale). million
                    (opt-in, tmpfs only): --million-files files of 0-1 KiB, 100 per directory,
                    in groups of 100 directories (1,000,000 files: ~10 GB of tmpfs for the
                    source and one replica; tools share one replica in nochange)
  --scenario LIST   initial,fresh,future,nochange,incremental,incremental-future
                    (default: all six for small; initial,nochange,incremental for large;
                    nochange,incremental for scale; initial,nochange for million)
                      fresh: initial, but right before every run (untimed) each source file's
                        mtime is set to the moment foldersync begins its scan (learnt from the
                        previous foldersync run's log; Deno's start-up time before that), so
                        the files it plans in its first 100 ms have not settled
                      future: initial, with every file's mtime 5 s after the tool's start
                      incremental-future: incremental, with the modified and added files'
                        mtimes 5 s after the tool's start
                    These three work on a copy of the source (so each takes as much room
                    again). Scenarios compared with one another run interleaved, in the same
                    rounds: initial, fresh and future; incremental and incremental-future.
  --tools LIST      foldersync,foldersync-native,foldersync-warn,foldersync-allowall,
                    deno-scan-floor,rsync,rclone,cp,
                    foldersync-noprefetch,foldersync-nocopiers,foldersync-smallheap,
                    foldersync-maxdelete
                    (default: all installed but the last four, which are opt-in: foldersync
                    without its prefetch worker (initial, nochange, incremental), without its
                    copy workers (initial, incremental), with
                    --v8-flags=--max-semi-space-size=2 (initial, nochange), and with
                    --max-delete 1000000 (nochange, incremental: what holding removals costs);
                    foldersync-native is foldersync's native engine (--allow-ffi),
                    foldersync-warn is foldersync with --log_level warning,
                    foldersync-allowall runs it with --allow-all instead of --allow-read
                    --allow-write, to show what Deno's permission checks cost;
                    deno-scan-floor (nochange only) walks both trees with readDirSync and
                    lstatSync on one thread and does nothing else; cp runs first copies
                    only: initial, fresh, future)
  --runs N          timed runs per tool and scenario (default 5), after --warmup runs (default 1)
  --files N         files in the "small" tree (default 20000; ~N/10 directories)
  --scale-files N   files in the "scale" tree (default 100000)
  --million-files N files in the "million" tree (default 1000000; N/100 directories)
  --large-mib N     size of each "large" file in MiB (default 256); --large-count N (default 4)
  --churn PCT       incremental: % of files modified, added and deleted each (default 1)
  --seed N          PRNG seed (default 42)
  --verify MODE     sample (default: all metadata, ~5% of contents + every changed file and all
                    files > 1 MiB), full (all contents), meta (no contents), none
  --timeout S       kill a tool run after S seconds (default 900)
  --dir PATH        where trees and replicas live; source and replica always share it.
                    Default: .bench/tmpfs when a tmpfs is mounted there, else .bench/data.
                    Why tmpfs: on this VM's ext4 root, creating files right after deleting many
                    is several times slower and gets worse run after run (cp -a of the 20k tree:
                    2.5 s, then 9.4 s, then 20 s), which swamps what is measured. Mount one with
                      mkdir -p .bench/tmpfs && mount -t tmpfs -o size=16g tmpfs .bench/tmpfs
                    (/dev/shm will not do: Deno wants --allow-all for paths under /dev).
  --json PATH       results file (default .bench/results.json; merged with earlier results)
  --no-signal       skip the SIGTERM check. By default, when the scale tree's nochange scenario
                    runs foldersync, foldersync is also started in loop mode on that tree --runs
                    times and sent SIGTERM part-way through its first scan (at 30% to 80% of the
                    nochange median); the check reports how long it took to exit, its exit code,
                    and whether the signal landed mid-scan (the cycle's summary says "stopped").
`;

// ---------------------------------------------------------------------------------------------
// Options

const args = parseArgs({
  args: Deno.args,
  options: {
    tree: { type: "string" },
    scenario: { type: "string" },
    tools: { type: "string" },
    runs: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    files: { type: "string", default: "20000" },
    "scale-files": { type: "string", default: "100000" },
    "million-files": { type: "string", default: "1000000" },
    "large-mib": { type: "string", default: "256" },
    "large-count": { type: "string", default: "4" },
    churn: { type: "string", default: "1" },
    seed: { type: "string", default: "42" },
    verify: { type: "string", default: "sample" },
    timeout: { type: "string", default: "900" },
    json: { type: "string", default: join(BENCH_DIR, "results.json") },
    dir: { type: "string" },
    "no-signal": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});
if (args.values.help) {
  console.log(HELP);
  Deno.exit(0);
}

function list<T extends string>(v: string | undefined, allowed: readonly T[], what: string): T[] {
  if (!v) return [];
  const out = v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of out) {
    if (!allowed.includes(s as T)) {
      console.error(`unknown ${what} "${s}" (expected one of ${allowed.join(", ")})`);
      Deno.exit(2);
    }
  }
  return out as T[];
}
function int(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} wants a non-negative integer, got "${v}"`);
    Deno.exit(2);
  }
  return n;
}

const opt = {
  trees: list(args.values.tree, TREES, "tree"),
  scenarios: list(args.values.scenario, SCENARIOS, "scenario"),
  tools: list(
    args.values.tools,
    [
      "foldersync",
      "foldersync-native",
      "foldersync-warn",
      "foldersync-allowall",
      "foldersync-noprefetch",
      "foldersync-nocopiers",
      "foldersync-smallheap",
      "foldersync-maxdelete",
      "deno-scan-floor",
      "rsync",
      "rclone",
      "cp",
    ] as const,
    "tool",
  ),
  runs: int("runs", args.values.runs),
  warmup: int("warmup", args.values.warmup),
  files: int("files", args.values.files),
  scaleFiles: int("scale-files", args.values["scale-files"]),
  millionFiles: int("million-files", args.values["million-files"]),
  largeMiB: int("large-mib", args.values["large-mib"]),
  largeCount: int("large-count", args.values["large-count"]),
  churn: Number(args.values.churn),
  seed: int("seed", args.values.seed),
  verify: args.values.verify as "sample" | "full" | "meta" | "none",
  timeout: int("timeout", args.values.timeout),
  json: resolve(args.values.json!),
  signal: !args.values["no-signal"],
  dir: resolve(
    args.values.dir ??
      (isTmpfs(join(BENCH_DIR, "tmpfs")) ? join(BENCH_DIR, "tmpfs") : join(BENCH_DIR, "data")),
  ),
};
function isTmpfs(p: string): boolean {
  // Not via /proc/mounts: Deno wants --allow-all for /proc.
  try {
    const out = new Deno.Command("stat", { args: ["-f", "-c", "%T", p], stderr: "null" })
      .outputSync();
    return out.success && new TextDecoder().decode(out.stdout).trim() === "tmpfs";
  } catch {
    return false;
  }
}
if (!["sample", "full", "meta", "none"].includes(opt.verify)) {
  console.error(`--verify wants sample, full, meta or none`);
  Deno.exit(2);
}
if (opt.trees.length === 0) opt.trees = [...DEFAULT_TREES];
if (opt.trees.includes("million") && !isTmpfs(opt.dir)) {
  console.error(
    `--tree million wants a tmpfs at ${opt.dir}: ` +
      `mkdir -p .bench/tmpfs && mount -t tmpfs -o size=16g tmpfs .bench/tmpfs (or --dir)`,
  );
  Deno.exit(2);
}
if (opt.runs < 1) opt.runs = 1;

function treeParams(t: TreeName): TreeParams {
  if (t === "large") {
    return {
      kind: "large",
      seed: opt.seed,
      files: opt.largeCount,
      dirs: 0,
      maxSize: 0,
      largeSize: opt.largeMiB << 20,
      symlinks: 0,
    };
  }
  if (t === "million") {
    return {
      kind: "flat",
      seed: opt.seed + 2,
      files: opt.millionFiles,
      dirs: Math.max(1, Math.round(opt.millionFiles / 100)),
      maxSize: 1024,
      largeSize: 0,
      symlinks: 0,
    };
  }
  const files = t === "small" ? opt.files : opt.scaleFiles;
  return {
    kind: "small",
    seed: t === "small" ? opt.seed : opt.seed + 1,
    files,
    dirs: Math.max(1, Math.round(files / 10)),
    maxSize: 16 << 10,
    largeSize: 0,
    symlinks: Math.round(files / 200),
  };
}

// ---------------------------------------------------------------------------------------------
// Tools

const DENO = existsSync(join(REPO, "node_modules/.bin/deno"))
  ? join(REPO, "node_modules/.bin/deno")
  : Deno.execPath();
const MAIN_TS = join(REPO, "main.ts");
const VARIANT_TS = join(REPO, "bench", "variant.ts");
const FLOOR_TS = join(REPO, "bench", "scan_floor.ts");

function which(cmd: string): string | undefined {
  for (const d of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    const p = join(d, cmd);
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}

interface Tool {
  name: string;
  available: () => string | true; // true or why not
  cmd: (src: string, dst: string, log: string) => string[];
  scenarios?: Scenario[];
  /** Left out unless named in --tools. */
  optIn?: boolean;
  /** rclone (local -> local, without --metadata) does not keep permission bits. */
  ignoreMode?: boolean;
}

/** `deno run <perms> main.ts` with the three path flags, then `extra`. */
const fsArgv = (
  src: string,
  dst: string,
  log: string,
  extra: string[],
  perms: string[],
  script = [MAIN_TS],
) => [
  DENO,
  "run",
  ...perms,
  ...script,
  "--source_path",
  src,
  "--replica_path",
  dst,
  "--log_file",
  log,
  ...extra,
];
const USER_PERMS = ["--allow-read", "--allow-write"];
const fsCmd =
  (extra: string[], perms = USER_PERMS, script?: string[]) =>
  (src: string, dst: string, log: string) =>
    fsArgv(src, dst, log, ["--once", ...extra], perms, script);

const ALL_TOOLS: Tool[] = [
  {
    name: "foldersync",
    available: () => existsSync(MAIN_TS) || "main.ts not found",
    cmd: fsCmd([]),
  },
  {
    // The native engine (libc through FFI): what --allow-ffi, the container and the unit run.
    name: "foldersync-native",
    available: () => existsSync(MAIN_TS) || "main.ts not found",
    cmd: fsCmd(["--engine", "native"], [...USER_PERMS, "--allow-ffi"]),
  },
  {
    name: "foldersync-warn",
    available: () => existsSync(MAIN_TS) || "main.ts not found",
    cmd: fsCmd(["--log_level", "warning"]),
  },
  {
    // Not how users run it: shows what Deno's per-call permission checks cost (with -A it
    // skips them; with --allow-read/--allow-write every open resolves symlinks component by
    // component with readlink(2), and every relative path costs a getcwd(2)). The portable
    // engine: -A grants FFI, which would choose the native one.
    name: "foldersync-allowall",
    available: () => existsSync(MAIN_TS) || "main.ts not found",
    cmd: fsCmd(["--engine", "portable"], ["--allow-all"]),
  },
  {
    // Not how users run it: bench/variant.ts with the source listed on the main thread (no
    // prefetch worker), to show what the worker earns.
    name: "foldersync-noprefetch",
    optIn: true,
    available: () => existsSync(VARIANT_TS) || "bench/variant.ts not found",
    cmd: fsCmd([], USER_PERMS, [VARIANT_TS, "no-prefetch"]),
    scenarios: ["initial", "nochange", "incremental"],
  },
  {
    // Likewise, with every copy made on the main thread (no copy workers).
    name: "foldersync-nocopiers",
    optIn: true,
    available: () => existsSync(VARIANT_TS) || "bench/variant.ts not found",
    cmd: fsCmd([], USER_PERMS, [VARIANT_TS, "no-copiers"]),
    scenarios: ["initial", "incremental"],
  },
  {
    // V8's young generation capped at 2 MiB per semi-space: what the peak RSS owes to V8's
    // sizing of its heap rather than to what the program holds.
    name: "foldersync-smallheap",
    optIn: true,
    available: () => existsSync(MAIN_TS) || "main.ts not found",
    cmd: fsCmd([], ["--v8-flags=--max-semi-space-size=2", ...USER_PERMS]),
    scenarios: ["initial", "nochange"],
  },
  {
    // --max-delete never reached: what holding the removals to the walk's end costs.
    name: "foldersync-maxdelete",
    optIn: true,
    available: () => existsSync(MAIN_TS) || "main.ts not found",
    cmd: fsCmd(["--max-delete", "1000000"]),
    scenarios: ["nochange", "incremental"],
  },
  {
    // Not a mirror: bench/scan_floor.ts only walks both trees (readDirSync + lstatSync, one
    // thread), the least a Deno rescan can do under the same permission flags.
    name: "deno-scan-floor",
    available: () => existsSync(FLOOR_TS) || "bench/scan_floor.ts not found",
    cmd: (src, dst) => [DENO, "run", "--allow-read", FLOOR_TS, src, dst],
    scenarios: ["nochange"],
  },
  {
    name: "rsync",
    available: () => !!which("rsync") || "rsync not installed",
    cmd: (src, dst) => ["rsync", "-a", "--delete", `${src}/`, `${dst}/`],
  },
  {
    // --links: keep symlinks as symlinks; --create-empty-src-dirs: mirror empty directories.
    // No --checksum (size + mtime, like rsync); no --metadata: in rclone 1.60 it chmods through
    // symlinks and fails on dangling ones, so rclone's replicas are checked without modes.
    name: "rclone",
    available: () => !!which("rclone") || "rclone not installed",
    cmd: (src, dst) => ["rclone", "sync", src, dst, "--links", "--create-empty-src-dirs"],
    ignoreMode: true,
  },
  {
    name: "cp",
    available: () => !!which("cp") || "cp not found",
    cmd: (src, dst) => ["cp", "-a", `${src}/.`, `${dst}/`],
    scenarios: FIRST_COPY,
  },
];

// ---------------------------------------------------------------------------------------------
// Running and timing

interface RunResult {
  wall: number; // seconds, measured here around the process
  rssKiB: number;
  user: number;
  sys: number;
  code: number;
  err: string;
}

function run(cmd: string[], errFile: string): RunResult {
  const timeFile = errFile + ".time";
  // /usr/bin/time measures the whole tool process (peak RSS = max RSS of it and its children);
  // stdout goes to /dev/null and stderr to a file so the harness does no work while timing.
  const script = 'tf=$1; ef=$2; shift 2; exec /usr/bin/time -f "%e %M %U %S" -o "$tf" ' +
    `timeout -k 5 ${opt.timeout} "$@" >/dev/null 2>"$ef"`;
  const t0 = performance.now();
  const out = new Deno.Command("bash", {
    args: ["-c", script, "bash", timeFile, errFile, ...cmd],
    cwd: REPO,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).outputSync();
  const wall = (performance.now() - t0) / 1000;
  const lines = readFileSync(timeFile, "utf8").trim().split("\n");
  const [, m, u, s] = lines[lines.length - 1].split(" ").map(Number);
  let err = "";
  if (out.code !== 0) {
    try {
      err = readFileSync(errFile, "utf8").trim().split("\n").slice(-5).join("\n");
    } catch { /* none */ }
  }
  return { wall, rssKiB: m, user: u, sys: s, code: out.code, err };
}

function sh(cmd: string[], what: string): void {
  const out = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "piped" })
    .outputSync();
  if (!out.success) {
    throw new Error(`${what} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const syncDisks = () => sh(["sync"], "sync");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Results

interface ToolResult {
  times: number[];
  rssKiB: number[];
  cpu: number[];
  median: number;
  peakRssMiB: number;
  verified: boolean;
  verifyProblems: string[];
  dirMtimeDiffs: number;
  errors: string[];
  at: string;
}
type TreeResults = {
  params: TreeParams & { key: string; entries: number; bytes: number };
  scenarios: Partial<Record<Scenario, Record<string, ToolResult>>>;
  signal?: SignalResult;
};

/** The SIGTERM check: foldersync stopped part-way through a scan of the tree. */
interface SignalResult {
  /** Per run: seconds after start when SIGTERM was sent. */
  sentAt: number[];
  /** Per run: seconds from SIGTERM to the process's exit. */
  latency: number[];
  /** Per run: the exit code. */
  codes: number[];
  /** Per run: entries scanned when it stopped (from the cycle summary), or null when the
   * signal came after the first cycle had finished. */
  scanned: (number | null)[];
  /** The worst latency over the runs that were stopped mid-scan with exit 0. */
  worst: number | null;
  at: string;
}
interface Results {
  meta: Record<string, unknown>;
  trees: Partial<Record<TreeName, TreeResults>>;
  targets?: TargetResult[];
}

function loadResults(): Results {
  try {
    return JSON.parse(readFileSync(opt.json, "utf8"));
  } catch {
    return { meta: {}, trees: {} };
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmark driver

const log = (s: string) => console.error(`[bench] ${s}`);
/** Median start-up time of a bare Deno process (`deno eval 0`), measured in main(). */
let startupS = 0;

function versionOf(cmd: string[]): string {
  try {
    const out = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "null" })
      .outputSync();
    return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
  } catch {
    return "not installed";
  }
}

/**
 * Sets the mtime (and atime) of `paths` to `ahead` ms after the moment a run started now would
 * begin once this is done (now + `lastMs`, how long the previous call took). Returns the mtime
 * set (ms since the epoch) and how long this call took.
 */
function stamp(paths: string[], ahead: number, lastMs: number): { at: number; ms: number } {
  const t0 = Date.now();
  const at = t0 + lastMs + ahead;
  const d = new Date(at);
  for (const p of paths) Deno.utimeSync(p, d, d);
  return { at, ms: Date.now() - t0 };
}

/** The time (ms since the epoch) of a foldersync text log's first line, if it has one. */
function firstLogTime(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined; // not foldersync, or nothing logged at this level
  }
  const t = Date.parse(text.slice(0, text.indexOf(" ")));
  return Number.isFinite(t) ? t : undefined;
}

/** Runs the tree's scenarios; returns the source tree's path and the scenarios run. */
function benchTree(tree: TreeName, results: Results): { src: string; scenarios: Scenario[] } {
  const p = treeParams(tree);
  const key = treeKey(p);
  const root = join(opt.dir, "trees", key);
  const src = ensureSource(root, p, log);
  const t0 = performance.now();
  const srcSnap = snapshot(src);
  let bytes = 0;
  for (const e of srcSnap.values()) bytes += e.size;
  log(
    `${tree}: ${src}: ${srcSnap.size} entries, ${(bytes / 1e6).toFixed(1)} MB ` +
      `(walked in ${((performance.now() - t0) / 1000).toFixed(2)} s)`,
  );

  const prev = results.trees[tree];
  const tr: TreeResults = prev && prev.params.key === key
    ? prev
    : { params: { ...p, key, entries: srcSnap.size, bytes }, scenarios: {} };
  results.trees[tree] = tr;

  const scenarios = opt.scenarios.length ? opt.scenarios : DEFAULT_SCENARIOS[tree];
  let inc: { dir: string; mutation: Mutation; snap: Snapshot } | undefined;
  if (scenarios.some((s) => INCREMENTAL.includes(s))) {
    const m = ensureMutated(root, p, opt.churn, log);
    inc = { ...m, snap: snapshot(m.dir) };
  }

  const wanted = opt.tools.length
    ? opt.tools
    : ALL_TOOLS.filter((t) => !t.optIn).map((t) => t.name);
  const tools: Tool[] = [];
  for (const t of ALL_TOOLS) {
    if (!wanted.includes(t.name as never)) continue;
    const a = t.available();
    if (a === true) tools.push(t);
    else log(`skipping ${t.name}: ${a}`);
  }

  const work = join(opt.dir, "work", tree);
  /** Sets a scenario up (untimed); returns its runs and its wrap-up. */
  const setup = (scenario: Scenario) => {
    const ts = tools.filter((t) => !t.scenarios || t.scenarios.includes(scenario));
    const incremental = INCREMENTAL.includes(scenario);
    let from = incremental ? inc!.dir : src;
    let fromSnap = incremental ? inc!.snap : srcSnap;
    const must = incremental ? [...inc!.mutation.modified, ...inc!.mutation.added] : [];
    // The million tree's nochange runs share one replica (memory: a replica is ~5 GB of tmpfs);
    // nochange must leave it as it is, which verification checks after every run.
    const shared = tree === "million" && scenario === "nochange";
    const replica = (t: Tool) => join(work, shared ? "shared" : t.name, "replica");
    const logFile = (t: Tool) => join(work, t.name, "foldersync.log");
    const nochangeSetup = (t: Tool) => {
      rmSync(replica(t), { recursive: true, force: true });
      mkdirSync(dirname(replica(t)), { recursive: true });
      sh(["cp", "-a", src, replica(t)], "cp -a (setup)");
    };
    // Setup (untimed): nochange starts from an exact copy (cp -a) of the source.
    for (const t of ts) {
      mkdirSync(join(work, t.name), { recursive: true });
      if (scenario === "nochange" && (!shared || t === ts[0])) nochangeSetup(t);
    }
    // Re-dated scenarios work on a copy of their source, whose files get new mtimes before
    // every run (the cached trees keep theirs).
    const redate = REDATE[scenario];
    let dated: string[] = [];
    let stampMs = 0;
    if (redate) {
      const copy = join(work, `src-${scenario}`);
      rmSync(copy, { recursive: true, force: true });
      sh(["cp", "-a", from, copy], "cp -a (setup)");
      dated = redate.files === "changed"
        ? must.map((rel) => join(copy, rel))
        : [...fromSnap].filter(([, e]) => e.t === "f").map(([rel]) => join(copy, rel));
      from = copy;
      stampMs = stamp(dated, 0, 0).ms; // how long it takes, to date the next ones ahead of it
    }
    let ahead = redate?.ahead === "scan" ? Math.round(startupS * 1000) : redate?.ahead ?? 0;
    const acc = new Map<string, ToolResult>();
    for (const t of ts) {
      acc.set(t.name, {
        times: [],
        rssKiB: [],
        cpu: [],
        median: NaN,
        peakRssMiB: NaN,
        verified: true,
        verifyProblems: [],
        dirMtimeDiffs: 0,
        errors: [],
        at: new Date().toISOString(),
      });
    }
    const runOne = (t: Tool, i: number) => {
      const r = acc.get(t.name)!;
      const dst = replica(t);
      // Reset (untimed).
      if (FIRST_COPY.includes(scenario)) {
        rmSync(dst, { recursive: true, force: true });
        mkdirSync(dst, { recursive: true });
      } else if (incremental) {
        sh(["rsync", "-a", "--delete", `${src}/`, `${dst}/`], "rsync (reset)");
      }
      rmSync(logFile(t), { force: true });
      syncDisks(); // no dirty pages from the reset or earlier runs left to write back
      // Re-dating comes last (untimed), dated from when the run is expected to start.
      let dating = "";
      let mtime = 0;
      if (redate) {
        const s = stamp(dated, ahead, stampMs);
        stampMs = s.ms;
        const late = Date.now() - (s.at - ahead);
        dating = `, ${dated.length} mtimes set to start+${ahead} ms in ${s.ms} ms ` +
          `(started ${late} ms after the planned start)`;
        mtime = s.at;
      }
      const spawned = Date.now();
      const res = run(t.cmd(from, dst, logFile(t)), join(work, t.name, "stderr.txt"));
      const logged = redate ? firstLogTime(logFile(t)) : undefined;
      if (logged !== undefined) {
        dating += `, its log began at mtime${logged >= mtime ? "+" : ""}${logged - mtime} ms`;
        if (redate?.ahead === "scan") ahead = logged - spawned;
      }
      const warm = i < opt.warmup;
      if (redate) fromSnap = snapshot(from); // the source's new mtimes, for verification
      if (res.code !== 0) {
        const msg = `${warm ? "warm-up" : `run ${i - opt.warmup + 1}`}: exit ${res.code}: ` +
          res.err;
        r.errors.push(msg);
        log(`${tree}/${scenario}/${t.name} ${msg}`);
      }
      let v: VerifyResult | undefined;
      if (opt.verify !== "none") {
        v = verify(from, fromSnap, dst, {
          content: opt.verify,
          mustCheck: must,
          ignoreMode: t.ignoreMode,
        });
        if (!v.ok) {
          r.verified = false;
          if (r.verifyProblems.length === 0) r.verifyProblems = v.problems;
        }
        r.dirMtimeDiffs = Math.max(r.dirMtimeDiffs, v.dirMtimeDiffs);
        if (shared && (!v.ok || v.dirMtimeDiffs)) nochangeSetup(t); // for the next tool
      }
      log(
        `${tree}/${scenario}/${t.name} ${warm ? "warm-up" : `run ${i - opt.warmup + 1}`}: ` +
          `${res.wall.toFixed(3)} s, ${(res.rssKiB / 1024).toFixed(0)} MiB, ` +
          `cpu ${(res.user + res.sys).toFixed(2)} s` +
          (v
            ? `, verify ${v.ok ? "ok" : "FAILED"} (${v.entries} entries, ` +
              `${v.contentChecked} contents, ${(v.ms / 1000).toFixed(2)} s)` +
              (v.ok ? "" : `: ${v.problems.slice(0, 3).join("; ")}`)
            : "") +
          dating,
      );
      // Free the memory (tmpfs) of a full copy that the next reset would delete anyway.
      if (FIRST_COPY.includes(scenario)) rmSync(dst, { recursive: true, force: true });
      if (!warm) {
        r.times.push(res.wall);
        r.rssKiB.push(res.rssKiB);
        r.cpu.push(res.user + res.sys);
      }
    };
    const finish = () => {
      const out: Record<string, ToolResult> = tr.scenarios[scenario] ?? {};
      for (const [name, r] of acc) {
        r.median = median(r.times);
        r.peakRssMiB = Math.max(...r.rssKiB) / 1024;
        out[name] = r;
      }
      tr.scenarios[scenario] = out;
      for (const t of ts) rmSync(replica(t), { recursive: true, force: true }); // free tmpfs memory
      if (redate) rmSync(from, { recursive: true, force: true });
    };
    return { ts, runOne, finish };
  };
  // Scenarios compared with one another (initial, fresh and future; incremental and
  // incremental-future) run in the same rounds, interleaved like the tools, so that load
  // drifting between them cannot pass for a difference.
  const group = (s: Scenario) =>
    FIRST_COPY.includes(s) ? "first" : INCREMENTAL.includes(s) ? "incremental" : s;
  const groups = [...new Set(scenarios.map(group))].map((g) =>
    scenarios.filter((s) => group(s) === g)
  );
  const total = opt.warmup + opt.runs;
  for (const g of groups) {
    const cases = g.map(setup);
    for (let i = 0; i < total; i++) {
      // Rotate the order each round so no scenario and no tool always runs first.
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + i) % cases.length];
        for (let j = 0; j < c.ts.length; j++) c.runOne(c.ts[(j + i) % c.ts.length], i);
      }
    }
    for (const c of cases) c.finish();
    // Save after each group so a long run can be interrupted without losing everything.
    results.targets = evaluateTargets(results);
    saveResults(results);
  }
  return { src, scenarios };
}

/**
 * The issue's "a long scan must not block signal handling for seconds": starts foldersync in
 * loop mode on an equal replica of `src` (so its first cycle is nothing but a scan), sends
 * SIGTERM part-way through that scan, and times how long the process takes to exit. The cycle's
 * summary in the log tells whether the signal landed mid-scan ("cycle 1 stopped ... N scanned").
 */
async function signalCheck(tree: TreeName, src: string, results: Results): Promise<void> {
  const tr = results.trees[tree]!;
  const nochange = get(results, tree, "nochange", "foldersync")?.median ?? 1;
  const work = join(opt.dir, "work", tree, "signal");
  const dst = join(work, "replica");
  const logPath = join(work, "foldersync.log");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  sh(["cp", "-a", src, dst], "cp -a (setup)");
  const r: SignalResult = {
    sentAt: [],
    latency: [],
    codes: [],
    scanned: [],
    worst: null,
    at: new Date().toISOString(),
  };
  for (let i = 0; i < opt.runs; i++) {
    rmSync(logPath, { force: true });
    syncDisks();
    const frac = opt.runs === 1 ? 0.5 : 0.3 + (0.5 * i) / (opt.runs - 1);
    const delayMs = Math.round(frac * nochange * 1000);
    const [cmd, ...argv] = fsArgv(src, dst, logPath, ["--sync_interval", "3600"], USER_PERMS);
    const child = new Deno.Command(cmd, {
      args: argv,
      cwd: REPO,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const sent = performance.now();
    child.kill("SIGTERM");
    const status = await child.status;
    const latency = (performance.now() - sent) / 1000;
    let logText = "";
    try {
      logText = readFileSync(logPath, "utf8");
    } catch { /* killed before its log was set up: no summary */ }
    const summary = logText.match(/cycle 1 (\w+) in [\d.]+ s: .* (\d+) scanned/);
    const scanned = summary && summary[1] === "stopped" ? Number(summary[2]) : null;
    const sentAt = (sent - started) / 1000;
    r.sentAt.push(sentAt);
    r.latency.push(latency);
    r.codes.push(status.code);
    r.scanned.push(scanned);
    log(
      `${tree}/sigterm/foldersync run ${i + 1}: SIGTERM at ${sentAt.toFixed(2)} s, ` +
        `exited ${latency.toFixed(3)} s later with code ${status.code}, ` +
        (scanned === null
          ? `the first cycle had ${summary ? summary[1] : "not logged its summary"}`
          : `mid-scan (${scanned} entries scanned)`),
    );
  }
  const mid = r.latency.filter((_, k) => r.scanned[k] !== null && r.codes[k] === 0);
  r.worst = mid.length === r.latency.length ? Math.max(...mid) : null;
  tr.signal = r;
  rmSync(work, { recursive: true, force: true });
  results.targets = evaluateTargets(results);
  saveResults(results);
}

function saveResults(results: Results): void {
  mkdirSync(dirname(opt.json), { recursive: true });
  writeFileSync(opt.json, JSON.stringify(results, null, 2) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Targets and report

interface TargetResult {
  target: string;
  value: number | null;
  limit: number;
  status: "PASS" | "MISS" | "n/a";
}

function get(r: Results, tree: TreeName, sc: Scenario, tool: string): ToolResult | undefined {
  const x = r.trees[tree]?.scenarios[sc]?.[tool];
  return x && Number.isFinite(x.median) ? x : undefined;
}

function ratio(r: Results, tree: TreeName, sc: Scenario, tool = "foldersync"): number | null {
  const a = get(r, tree, sc, tool);
  const b = get(r, tree, sc, "rsync");
  return a && b ? a.median / b.median : null;
}

/** Peak RSS of a tool over the scenarios that both trees have results for. */
function peakRss(r: Results, tree: TreeName, scs: Scenario[], tool = "foldersync"): number | null {
  const xs = scs.map((s) => get(r, tree, s, tool)?.peakRssMiB).filter((x) => x !== undefined);
  return xs.length ? Math.max(...(xs as number[])) : null;
}

/** foldersync's median in scenario `a` over its median in `b`, on the same tree. */
function relative(r: Results, tree: TreeName, a: Scenario, b: Scenario): number | null {
  const x = get(r, tree, a, "foldersync");
  const y = get(r, tree, b, "foldersync");
  return x && y ? x.median / y.median : null;
}

function commonScenarios(r: Results): Scenario[] {
  return SCENARIOS.filter((s) =>
    get(r, "small", s, "foldersync") && get(r, "scale", s, "foldersync")
  );
}

function scaling(r: Results) {
  const a = get(r, "small", "nochange", "foldersync");
  const b = get(r, "scale", "nochange", "foldersync");
  const cs = commonScenarios(r);
  const ra = peakRss(r, "small", cs);
  const rb = peakRss(r, "scale", cs);
  return {
    timeRatio: a && b ? b.median / a.median : null,
    rssScale: rb,
    rssRatio: ra && rb ? rb / ra : null,
    rssScenarios: cs,
  };
}

function evaluateTargets(r: Results): TargetResult[] {
  const sc = scaling(r);
  const mRss = get(r, "million", "nochange", "foldersync")?.peakRssMiB ?? null;
  const sRss = get(r, "scale", "nochange", "foldersync")?.peakRssMiB ?? null;
  const t = (target: string, value: number | null, limit: number): TargetResult => ({
    target,
    value,
    limit,
    status: value === null ? "n/a" : value <= limit ? "PASS" : "MISS",
  });
  return [
    t("nochange small: foldersync/rsync", ratio(r, "small", "nochange"), 0.9),
    t("initial small: foldersync/rsync", ratio(r, "small", "initial"), 0.75),
    t("initial large: foldersync/rsync", ratio(r, "large", "initial"), 1.0),
    t("incremental small: foldersync/rsync", ratio(r, "small", "incremental"), 0.9),
    t("nochange scale: foldersync/rsync", ratio(r, "scale", "nochange"), 0.9),
    t("nochange time scale/small (foldersync)", sc.timeRatio, 5.5),
    t("peak RSS scale (foldersync, MiB)", sc.rssScale, 150),
    t("peak RSS scale/small (foldersync)", sc.rssRatio, 1.3),
    t("SIGTERM mid-scan scale: worst exit latency, s", r.trees.scale?.signal?.worst ?? null, 1.0),
    // Issue 14.
    t("fresh small: foldersync fresh/initial", relative(r, "small", "fresh", "initial"), 1.2),
    t("future small: foldersync future/initial", relative(r, "small", "future", "initial"), 1.2),
    t(
      "incremental-future small: foldersync incr.-future/incremental",
      relative(r, "small", "incremental-future", "incremental"),
      1.0,
    ),
    // Issue 22: the native engine.
    t("initial small: native/rsync", ratio(r, "small", "initial", "foldersync-native"), 1.0),
    t("nochange small: native/rsync", ratio(r, "small", "nochange", "foldersync-native"), 1.0),
    t(
      "incremental small: native/rsync",
      ratio(r, "small", "incremental", "foldersync-native"),
      1.0,
    ),
    t("initial million: native/rsync", ratio(r, "million", "initial", "foldersync-native"), 1.2),
    t("nochange million: native/rsync", ratio(r, "million", "nochange", "foldersync-native"), 1.0),
    t(
      "peak RSS million (native, MiB)",
      Math.max(
        get(r, "million", "initial", "foldersync-native")?.peakRssMiB ?? 0,
        get(r, "million", "nochange", "foldersync-native")?.peakRssMiB ?? 0,
      ) || null,
      100,
    ),
    t("nochange million: foldersync/rsync", ratio(r, "million", "nochange"), 1.0),
    t("initial million: foldersync/rsync", ratio(r, "million", "initial"), 1.4),
    t("peak RSS nochange million (foldersync, MiB)", mRss, 150),
    t(
      "peak RSS nochange million/scale (foldersync)",
      mRss && sRss ? mRss / sRss : null,
      1.2,
    ),
    t(
      "peak RSS initial million (foldersync, MiB)",
      get(r, "million", "initial", "foldersync")?.peakRssMiB ?? null,
      200,
    ),
  ];
}

const f = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d);

function report(r: Results): string {
  const out: string[] = [];
  for (const tree of TREES) {
    const tr = r.trees[tree];
    if (!tr) continue;
    const p = tr.params;
    const desc = p.kind === "large"
      ? `${p.files} x ${p.largeSize >> 20} MiB`
      : p.kind === "flat"
      ? `${p.files} files of 0-${p.maxSize} B, ${p.dirs} dirs of ${p.files / p.dirs}, ` +
        `${(p.bytes / 1e6).toFixed(0)} MB`
      : `${p.files} files, ${p.dirs} dirs, ${p.symlinks + (p.symlinks ? 2 : 0)} symlinks, ` +
        `${(p.bytes / 1e6).toFixed(0)} MB`;
    out.push(`### ${tree} (${desc})`, "");
    out.push(
      "| scenario | tool | median s | ratio to rsync | peak RSS MiB | min-max s | cpu s | verified |",
    );
    out.push("|---|---|---:|---:|---:|---:|---:|---|");
    for (const sc of SCENARIOS) {
      const tools = tr.scenarios[sc];
      if (!tools) continue;
      for (const [name, x] of Object.entries(tools)) {
        const rs = tools["rsync"];
        const rat = rs && Number.isFinite(rs.median) ? x.median / rs.median : NaN;
        const v = x.errors.length
          ? `ERR (${x.errors.length})`
          : x.verified
          ? (x.dirMtimeDiffs ? `ok (dir mtimes differ: ${x.dirMtimeDiffs})` : "ok")
          : "FAIL";
        out.push(
          `| ${sc} | ${name} | ${f(x.median, 3)} | ${f(rat)} | ${f(x.peakRssMiB, 0)} | ` +
            `${f(Math.min(...x.times), 3)}-${f(Math.max(...x.times), 3)} | ` +
            `${f(median(x.cpu))} | ${v} |`,
        );
      }
    }
    out.push("");
  }
  const sc = scaling(r);
  const ps = r.trees.scale?.params.files ?? opt.scaleFiles;
  const pm = r.trees.small?.params.files ?? opt.files;
  out.push(
    `Scaling ${ps / 1000}k/${pm / 1000}k (foldersync): nochange time ratio ${f(sc.timeRatio)}, ` +
      `peak RSS ratio ${f(sc.rssRatio)} (peak RSS at ${ps / 1000}k: ${f(sc.rssScale, 0)} MiB, ` +
      `over ${sc.rssScenarios.join("+") || "-"})`,
    "",
  );
  // Re-dated mtimes against the same tree's settled ones.
  const redated: string[] = [];
  for (const tree of TREES) {
    for (
      const [a, b] of [["fresh", "initial"], ["future", "initial"], [
        "incremental-future",
        "incremental",
      ]] as const
    ) {
      const x = relative(r, tree, a, b);
      if (x !== null) redated.push(`${tree} ${a}/${b} ${f(x)}`);
    }
  }
  if (redated.length) {
    out.push(`Re-dated mtimes, foldersync time relative to settled: ${redated.join(", ")}`, "");
  }
  const mn = get(r, "million", "nochange", "foldersync");
  const sn = get(r, "scale", "nochange", "foldersync");
  if (mn && sn) {
    out.push(
      `Peak RSS nochange (foldersync): million ${f(mn.peakRssMiB, 0)} MiB, scale ` +
        `${f(sn.peakRssMiB, 0)} MiB, ratio ${f(mn.peakRssMiB / sn.peakRssMiB)}`,
      "",
    );
  }
  // What --log_level warning and --allow-all change, relative to the plain run.
  for (
    const [variant, what] of [
      ["foldersync-native", "the native engine (--allow-ffi), time relative to the portable one"],
      ["foldersync-warn", "--log_level warning, time relative to the default level"],
      ["foldersync-allowall", "--allow-all instead of --allow-read --allow-write, time relative"],
      ["foldersync-noprefetch", "no prefetch worker, time relative"],
      ["foldersync-nocopiers", "no copy workers, time relative"],
      ["foldersync-smallheap", "--v8-flags=--max-semi-space-size=2, time relative"],
      ["foldersync-maxdelete", "--max-delete (never reached), time relative"],
    ] as const
  ) {
    const rel: string[] = [];
    for (const tree of TREES) {
      for (const s of SCENARIOS) {
        const a = get(r, tree, s, "foldersync");
        const b = get(r, tree, s, variant);
        if (a && b) rel.push(`${tree}/${s} ${f(b.median / a.median)}`);
      }
    }
    if (rel.length) out.push(`${what}: ${rel.join(", ")}`, "");
  }
  for (const tree of TREES) {
    const sig = r.trees[tree]?.signal;
    if (!sig) continue;
    const mid = sig.scanned.filter((x) => x !== null).length;
    out.push(
      `SIGTERM during the first scan (${tree}, loop mode, ${sig.latency.length} runs, sent at ` +
        `${f(Math.min(...sig.sentAt))}-${f(Math.max(...sig.sentAt))} s): exit latency median ` +
        `${f(median(sig.latency), 3)} s, worst ${f(Math.max(...sig.latency), 3)} s; exit codes ` +
        `${[...new Set(sig.codes)].join(",")}; ${mid} of ${sig.latency.length} stopped mid-scan` +
        (sig.worst === null ? " (the target needs every run mid-scan with exit 0)" : ""),
      "",
    );
  }
  out.push("| target | value | limit | result |", "|---|---:|---:|---|");
  for (const t of r.targets ?? []) {
    out.push(`| ${t.target} | ${f(t.value)} | ${t.limit} | ${t.status} |`);
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  mkdirSync(BENCH_DIR, { recursive: true });
  if (!isTmpfs(opt.dir)) {
    log(
      `${opt.dir} is not a tmpfs: on ext4 here, figures after mass deletes are noisy ` +
        `(see --help for mounting .bench/tmpfs)`,
    );
  }
  const results = loadResults();
  const startup: number[] = [];
  if (existsSync(MAIN_TS) && (opt.tools.length === 0 || opt.tools.some((t) => t.startsWith("f")))) {
    // Fixed cost of a Deno process, for reference.
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      sh([DENO, "eval", "0"], "deno eval");
      if (i) startup.push((performance.now() - t0) / 1000);
    }
  }
  results.meta = {
    ...results.meta,
    updated: new Date().toISOString(),
    dir: opt.dir,
    cache: "warm (source read by warm-up run and verification; no drop_caches; " +
      "`sync` before every timed run, resets and verification untimed)",
    runs: opt.runs,
    warmup: opt.warmup,
    verify: opt.verify,
    cpus: navigator.hardwareConcurrency,
    memGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    kernel: Deno.osRelease(),
    deno: versionOf([DENO, "--version"]),
    rsync: versionOf(["rsync", "--version"]),
    rclone: versionOf(["rclone", "version"]),
    cp: versionOf(["cp", "--version"]),
    ...(startup.length ? { denoEvalStartupS: median(startup) } : {}),
  };
  if (startup.length) startupS = median(startup);
  for (const tree of opt.trees) {
    const ran = benchTree(tree, results);
    const fs = opt.tools.length === 0 || opt.tools.includes("foldersync");
    if (tree === "scale" && opt.signal && fs && ran.scenarios.includes("nochange")) {
      await signalCheck(tree, ran.src, results);
    }
  }
  results.targets = evaluateTargets(results);
  saveResults(results);
  console.log(report(results));
  console.log(`\nresults: ${opt.json}`);
  if (startup.length) console.log(`deno startup (deno eval 0), median: ${f(median(startup), 3)} s`);
}

await main();
