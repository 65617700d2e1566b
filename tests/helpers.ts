/**
 * Test helpers, the one module for every suite: real temporary trees, snapshots to compare them,
 * the CLI run as a subprocess under the engine FOLDERSYNC_TEST_ENGINE names, and polling.
 * Root-only helpers (mounts, uid 65534, the churn's file versions) are in faults/helpers.ts.
 *
 * @module
 */
import { deepEqual, ok as assert } from "node:assert/strict";
import { createHash } from "node:crypto";

/** The repository's root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** main.ts. */
export const MAIN = ROOT + "/main.ts";
/** The deno binary running the tests; the CLI runs under the same one. */
export const DENO = Deno.execPath();
/** Exactly the permissions the CLI is documented to need (the portable engine's contract). */
export const CLI_PERMISSIONS = ["--allow-read", "--allow-write"];

/** sha256 of bytes, hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** What a snapshot records of one entry. */
export interface SnapEntry {
  kind: "file" | "dir" | "symlink" | "other";
  mode: number;
  /** Left out for symlinks (their own mtime is not compared), and for folders without `dirTimes`. */
  mtimeMs?: number;
  size?: number;
  sha?: string;
  target?: string;
}

/** Options of {@linkcode snapshot}. */
export interface SnapshotOptions {
  /** Record directory mtimes (default true; they change whenever an entry is added or removed). */
  dirTimes?: boolean;
  /** Leave out the root's own mode and mtime (default false). */
  skipRoot?: boolean;
}

/** Reads a whole tree without following links: path -> entry; the root itself is "". */
export function snapshot(root: string, options: SnapshotOptions = {}): Map<string, SnapEntry> {
  const out = new Map<string, SnapEntry>();
  const walk = (rel: string) => {
    const path = rel === "" ? root : `${root}/${rel}`;
    const info = Deno.lstatSync(path);
    const mode = (info.mode ?? 0) & 0o7777;
    if (info.isSymlink) {
      out.set(rel, { kind: "symlink", mode: 0, target: Deno.readLinkSync(path) });
    } else if (info.isFile) {
      const sha = sha256(Deno.readFileSync(path));
      out.set(rel, { kind: "file", mode, mtimeMs: info.mtime!.getTime(), size: info.size, sha });
    } else if (info.isDirectory) {
      if (!(rel === "" && options.skipRoot)) {
        const entry: SnapEntry = { kind: "dir", mode };
        if (options.dirTimes !== false) entry.mtimeMs = info.mtime!.getTime();
        out.set(rel, entry);
      }
      const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
      for (const name of names) walk(rel === "" ? name : `${rel}/${name}`);
    } else out.set(rel, { kind: "other", mode });
  };
  walk("");
  return out;
}

/** Snapshot as a plain sorted object, for assert.deepEqual with readable diffs. */
export function snap(root: string, options: SnapshotOptions = {}): Record<string, SnapEntry> {
  return Object.fromEntries(snapshot(root, options));
}

/** True for the engine's temporary file names. */
export function isTempName(name: string): boolean {
  return /^\.foldersync-tmp-[0-9a-f]{16}$/.test(name);
}

/** Every path under `root`, relative, whose name starts like one of our temporary files. */
export function tempFiles(root: string): string[] {
  const found: string[] = [];
  const visit = (rel: string) => {
    for (const entry of Deno.readDirSync(rel === "" ? root : `${root}/${rel}`)) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.name.startsWith(".foldersync-tmp-")) found.push(path);
      if (entry.isDirectory) visit(path);
    }
  };
  visit("");
  return found.sort();
}

function describeDiff(a: Map<string, SnapEntry>, b: Map<string, SnapEntry>): string {
  const lines: string[] = [];
  for (const [path, entry] of a) {
    const other = b.get(path);
    if (!other) lines.push(`only in source: ${path}`);
    else if (JSON.stringify(entry) !== JSON.stringify(other)) {
      lines.push(`differs: ${path}: ${JSON.stringify(entry)} vs ${JSON.stringify(other)}`);
    }
  }
  for (const path of b.keys()) if (!a.has(path)) lines.push(`only in replica: ${path}`);
  return lines.slice(0, 30).join("\n");
}

/**
 * Asserts the replica is exactly the source: same paths, kinds, contents, modes, mtimes
 * (folders' too, unless `dirTimes: false`), link targets, and no temporary files. `source` may
 * be a snapshot taken earlier.
 */
export function assertMirror(
  source: string | Map<string, SnapEntry>,
  replica: string,
  options: SnapshotOptions = {},
) {
  const temps = tempFiles(replica);
  deepEqual(temps, [], `temporary files left in the replica: ${temps.join(", ")}`);
  const a = typeof source === "string" ? snapshot(source, options) : source;
  const diff = describeDiff(a, snapshot(replica, options));
  assert(diff === "", `replica differs from source:\n${diff}`);
}

/** Asserts two snapshots are identical, listing the differences. */
export function assertSameSnapshot(
  before: Map<string, SnapEntry>,
  after: Map<string, SnapEntry>,
  what: string,
) {
  const diff = describeDiff(before, after);
  assert(diff === "", `${what} changed:\n${diff}`);
}

/** A tree description: a string is a file's content; an object a directory; `{ link }` a symlink. */
export type TreeSpec = { [name: string]: string | Uint8Array | TreeSpec | { link: string } };

/** Writes a tree under `root` (created when missing). */
export function writeTree(root: string, spec: TreeSpec): void {
  Deno.mkdirSync(root, { recursive: true });
  for (const [name, value] of Object.entries(spec)) {
    const path = `${root}/${name}`;
    if (typeof value === "string") Deno.writeTextFileSync(path, value);
    else if (value instanceof Uint8Array) Deno.writeFileSync(path, value);
    else if ("link" in value && typeof value.link === "string") Deno.symlinkSync(value.link, path);
    else writeTree(path, value as TreeSpec);
  }
}

/** Writes a file, creating its parent directories; `mtimeSec` sets its times. */
export function put(root: string, rel: string, data: string | Uint8Array, mtimeSec?: number) {
  const path = `${root}/${rel}`;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  if (typeof data === "string") Deno.writeTextFileSync(path, data);
  else Deno.writeFileSync(path, data);
  if (mtimeSec !== undefined) Deno.utimeSync(path, mtimeSec, mtimeSec);
}

/** Random bytes (crypto.getRandomValues is limited to 64 KiB per call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/** A fresh temporary directory with `src` (not created) and `dst` paths, removed on dispose. */
export function tempDirs(): { dir: string; src: string; dst: string; log: string } & Disposable {
  const dir = Deno.makeTempDirSync({ prefix: "foldersync-test-" });
  return {
    dir,
    src: `${dir}/src`,
    dst: `${dir}/dst`,
    log: `${dir}/logs/sync.log`,
    [Symbol.dispose]() {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Best effort (a test may have left read-only modes behind).
      }
    },
  };
}

/** Reads a file, or "" when it does not exist. */
export function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/**
 * The engine the suites run the CLI under: FOLDERSYNC_TEST_ENGINE, "portable" when unset.
 * Read at each start, so a test process needs --allow-env only when it starts the CLI.
 */
export function testEngine(): "portable" | "native" {
  const engine = Deno.env.get("FOLDERSYNC_TEST_ENGINE") ?? "";
  if (engine === "" || engine === "portable") return "portable";
  if (engine === "native") return "native";
  throw new Error(`FOLDERSYNC_TEST_ENGINE must be 'portable' or 'native', got '${engine}'`);
}

/** How `deno run` starts the CLI. */
export interface DenoArgsOptions {
  /** Ignore FOLDERSYNC_TEST_ENGINE: for tests of the portable engine's permission contract. */
  portable?: boolean;
  /** The main.ts to run (default {@linkcode MAIN}). */
  main?: string;
}

/**
 * Arguments for `deno run` with `perms` (default exactly `--allow-read --allow-write`) and
 * main.ts; under FOLDERSYNC_TEST_ENGINE=native, `--allow-ffi` and `--engine native` added.
 */
export function denoArgs(
  args: string[],
  perms: string[] = CLI_PERMISSIONS,
  options: DenoArgsOptions = {},
): string[] {
  const native = !options.portable && testEngine() === "native";
  return [
    ...["run", "--quiet", ...perms, ...(native ? ["--allow-ffi"] : [])],
    ...[options.main ?? MAIN, ...args, ...(native ? ["--engine", "native"] : [])],
  ];
}

/** How to run the CLI. */
export interface CliOptions {
  /** Deno's permission flags (default exactly `--allow-read --allow-write`). */
  perms?: string[];
  /** Ignore FOLDERSYNC_TEST_ENGINE: for tests of the portable engine's permission contract. */
  portable?: boolean;
  /** The working directory (default the repository's root; uid 65534 runs from its copy). */
  cwd?: string;
  /** Extra environment variables (e.g. DENO_V8_FLAGS); NO_COLOR=1 is always set. */
  env?: Record<string, string>;
  /** Run as uid/gid 65534 through setpriv, from a copy of the CLI it can read (root only). */
  asNobody?: boolean;
}

async function command(args: string[], options: CliOptions): Promise<Deno.Command> {
  const io = { stdin: "null", stdout: "piped", stderr: "piped" } as const;
  const env = { NO_COLOR: "1", ...options.env };
  if (!options.asNobody) {
    const run = denoArgs(args, options.perms, options);
    return new Deno.Command(DENO, { args: run, cwd: options.cwd ?? ROOT, env, ...io });
  }
  // Loaded only here: making the copy needs root's tools.
  const { cliForNobody, NOBODY } = await import("./faults/helpers.ts");
  const cli = await cliForNobody();
  const run = denoArgs(args, options.perms, { ...options, main: cli.main });
  return new Deno.Command("setpriv", {
    args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", cli.deno, ...run],
    // The checkout (the test's working directory) may be closed to 65534.
    cwd: cli.dir,
    env: { ...env, DENO_DIR: cli.denoDir, HOME: cli.denoDir, ...options.env },
    ...io,
  });
}

/** A running CLI process whose output is collected line by line as it comes. */
export class LiveCli {
  readonly child: Deno.ChildProcess;
  /** stdout and stderr lines, in arrival order. */
  readonly lines: string[] = [];
  /** Each stream's text as printed so far. */
  readonly output = { stdout: "", stderr: "" };
  /** Settles once the process has ended and both streams are read. */
  readonly status: Promise<Deno.CommandStatus>;
  #waiters = new Set<() => void>();
  #ended = false;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    const pumps = [this.#pump(child.stdout, "stdout"), this.#pump(child.stderr, "stderr")];
    this.status = Promise.all(pumps).then(() => child.status).finally(() => {
      this.#ended = true;
      this.#notify();
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  async #pump(stream: ReadableStream<Uint8Array>, name: "stdout" | "stderr") {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let rest = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      this.output[name] += value;
      rest += value;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      if (parts.length) {
        this.lines.push(...parts);
        this.#notify();
      }
    }
    if (rest) {
      this.lines.push(rest);
      this.#notify();
    }
  }

  #notify() {
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Resolves with the index of the first line (from `from`) matching `test`, as soon as it is
   * printed; rejects when the process ends first or after `timeoutMs`.
   */
  waitForLine(
    test: RegExp | ((line: string) => boolean),
    from = 0,
    timeoutMs = 60_000,
  ): Promise<number> {
    const match = typeof test === "function" ? test : (l: string) => test.test(l);
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = () => {
        for (; checked < this.lines.length; checked++) {
          if (match(this.lines[checked])) return done(() => resolve(checked));
        }
        if (this.#ended) {
          done(() => reject(new Error(`process ended before a line matched ${test}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no line matched ${test} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        f();
      };
      this.#waiters.add(check);
      check();
    });
  }

  kill(signal: Deno.Signal = "SIGTERM") {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Starts the CLI with the given flags (the permission flags are added); output is collected. */
export async function spawnCli(args: string[], options: CliOptions = {}): Promise<LiveCli> {
  return new LiveCli((await command(args, options)).spawn());
}

/** What a finished CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr lines, in arrival order. */
  lines: string[];
  /** All of the lines joined. */
  text: string;
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const live = await spawnCli(args, options);
  const { code } = await live.status;
  const { stdout, stderr } = live.output;
  return { code, stdout, stderr, lines: live.lines, text: live.lines.join("\n") };
}

/** The flags naming `src`, `dst` and the log file; extra flags appended. */
export function treeArgs(
  t: { src: string; dst: string; log: string },
  ...extra: string[]
): string[] {
  return ["--source_path", t.src, "--replica_path", t.dst, "--log_file", t.log, ...extra];
}

/** Runs the CLI once over `src` and `dst`, with a log file; extra flags appended. */
export function syncOnce(
  t: { src: string; dst: string; log: string },
  ...extra: string[]
): Promise<CliResult> {
  return runCli(treeArgs(t, "--once", ...extra));
}

/** The summary line of a cycle. */
export const SUMMARY =
  /cycle (\d+) (done|failed|stopped) in [\d.]+ s: (\d+) created, (\d+) copied, (\d+) updated(?: \([^)]*\))?, (\d+) removed(?: \([^)]*\))?, (\d+) skipped, (\d+) errors?/;

/** Parses a summary line. */
export function parseSummary(line: string) {
  const m = line.match(SUMMARY);
  if (!m) return undefined;
  const [, cycle, status, created, copied, updated, removed, skipped, errors] = m;
  return {
    cycle: Number(cycle),
    status,
    created: Number(created),
    copied: Number(copied),
    updated: Number(updated),
    removed: Number(removed),
    skipped: Number(skipped),
    errors: Number(errors),
  };
}

/** Lines that report an error on the given path. */
export function errorLines(lines: string[], path?: string): string[] {
  return lines.filter((l) => / ERROR /.test(l) && !SUMMARY.test(l) && (!path || l.includes(path)));
}

/**
 * Polls `condition` every 20 ms until it holds or `timeoutMs` passes; throws on timeout.
 * A condition that throws counts as not yet holding. `what` names the condition in the
 * timeout's message; a function is asked at the timeout (for what a child said by then).
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what: string | (() => string) = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      if (await condition()) return;
    } catch (error) {
      // A tree read while the sync writes it can lose a temporary file mid-read.
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${lastError})` : "";
      const name = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}${why}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The path of `command`: on `PATH`, else in the sbin folders, which a non-root user's `PATH`
 * often lacks though the programs there run for anyone (`/usr/sbin/logrotate`).
 */
export function findCommand(
  command: string,
  path = Deno.env.get("PATH") ?? "",
): string | undefined {
  const dirs = [
    ...path.split(":").filter((d) => d !== ""),
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
  ];
  for (const dir of dirs) {
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${command}`;
    } catch {
      // Not there, or not ours to look at.
    }
  }
  return undefined;
}

/** Whether a program runs here (`name args` succeeds): tests that need it are ignored without it. */
export function hasCommand(name: string, args = ["--version"]): boolean {
  try {
    return new Deno.Command(name, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false; // Not installed: .ci/run installs what the tests use.
  }
}

/** Runs a helper command (mount, chown, cp...); throws on failure unless `tolerate`. */
export async function sh(
  argv: string[],
  tolerate = false,
): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success && !tolerate) {
    throw new Error(`'${argv.join(" ")}' failed (${out.code}): ${text}`);
  }
  return { code: out.code, out: text };
}
