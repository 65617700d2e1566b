/**
 * Shared helpers of the fault tests: temporary trees, snapshots and their
 * comparison, and running the CLI as a real subprocess (as root or as the
 * unprivileged user 65534).
 *
 * @module
 */
import { deepEqual, ok as assert } from "node:assert/strict";
import { MAIN, sha256 } from "../helpers.ts";

export { MAIN, sha256 };

/** The deno binary running the tests; the CLI runs under the same one. */
export const DENO = Deno.execPath();
/** Exactly the permissions the CLI is documented to need. */
export const CLI_PERMISSIONS = ["--allow-read", "--allow-write"];
/** The unprivileged user (and group) the permission tests run as. */
export const NOBODY = 65534;

const TEMP_NAME = /^\.foldersync-tmp-[0-9a-f]{16}$/;

/** True for the engine's temporary file names. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * A fresh temporary directory that uid 65534 can traverse (mode 0755), so the
 * same tree works for root and non-root runs. Removed by the returned
 * `cleanup` (which first unmounts anything a test left mounted under it).
 */
export async function tempRoot(
  tag: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: `foldersync-faults-${tag}-` });
  await Deno.chmod(dir, 0o755);
  return {
    dir,
    cleanup: async () => {
      for (const mount of (await mountsUnder(dir)).reverse()) {
        await sh(["umount", "-l", mount], true);
      }
      await makeAllWritable(dir);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function makeAllWritable(dir: string): Promise<void> {
  // Tests chmod things to 000; root removes them anyway, but restore for safety.
  await sh(["chmod", "-R", "u+rwX", dir], true);
}

/** Mount points at or under `dir` (read through cat: Deno wants --allow-all for /proc). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = (await sh(["cat", "/proc/mounts"])).out;
  return text.split("\n").map((l) => l.split(" ")[1]).filter((m) =>
    m !== undefined && (m === dir || m.startsWith(dir + "/"))
  );
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

/** Writes a file, creating its parent directories. */
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

/** One entry of a tree snapshot. */
export interface Node {
  kind: "file" | "dir" | "symlink" | "other";
  mode: number;
  mtimeMs: number;
  size?: number;
  sha?: string;
  target?: string;
}

/** Options of {@linkcode snapshot}. */
export interface SnapshotOptions {
  /** Leave out directory mtimes (they change whenever an entry is added or removed). */
  noDirTimes?: boolean;
  /** Leave out engine temporary files. */
  noTemp?: boolean;
}

/**
 * The whole tree under `root` as a sorted map relative path -> node (the root
 * itself is "."): kind, mode bits, mtime (ms), size and sha256 of files,
 * symlink targets. Atimes and the mtimes of symlinks themselves are left out.
 */
export function snapshot(root: string, options: SnapshotOptions = {}): Map<string, Node> {
  const out = new Map<string, Node>();
  const visit = (rel: string) => {
    const path = rel === "." ? root : `${root}/${rel}`;
    const info = Deno.lstatSync(path);
    const node: Node = {
      kind: info.isFile ? "file" : info.isDirectory ? "dir" : info.isSymlink ? "symlink" : "other",
      mode: (info.mode ?? 0) & 0o7777,
      mtimeMs: info.mtime?.getTime() ?? 0,
    };
    if (node.kind === "file") {
      node.size = info.size;
      node.sha = sha256(Deno.readFileSync(path));
    } else if (node.kind === "symlink") {
      node.target = Deno.readLinkSync(path);
      node.mtimeMs = 0; // A link's own mtime is not mirrored (Deno has no lutimes).
    }
    if (node.kind === "dir" && options.noDirTimes) node.mtimeMs = 0;
    out.set(rel, node);
    if (node.kind === "dir") {
      const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
      for (const name of names) {
        if (options.noTemp && isTempName(name)) continue;
        visit(rel === "." ? name : `${rel}/${name}`);
      }
    }
  };
  visit(".");
  return out;
}

/** Paths of engine temporary files under `root`. */
export function tempFiles(root: string): string[] {
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir}/${e.name}`;
      if (isTempName(e.name)) found.push(path);
      if (e.isDirectory) visit(path);
    }
  };
  visit(root);
  return found;
}

function describeDiff(a: Map<string, Node>, b: Map<string, Node>): string {
  const lines: string[] = [];
  for (const [path, node] of a) {
    const other = b.get(path);
    if (!other) lines.push(`only in source: ${path}`);
    else if (JSON.stringify(node) !== JSON.stringify(other)) {
      lines.push(`differs: ${path}: ${JSON.stringify(node)} vs ${JSON.stringify(other)}`);
    }
  }
  for (const path of b.keys()) if (!a.has(path)) lines.push(`only in replica: ${path}`);
  return lines.slice(0, 30).join("\n");
}

/**
 * Asserts the replica is exactly the source: same paths, kinds, contents,
 * modes, mtimes (directories included, unless `noDirTimes`), link targets,
 * and no temporary files. `source` may be a snapshot taken earlier.
 */
export function assertMirror(
  source: string | Map<string, Node>,
  replica: string,
  options: SnapshotOptions = {},
) {
  const temps = tempFiles(replica);
  deepEqual(temps, [], `temporary files left in the replica: ${temps.join(", ")}`);
  const a = typeof source === "string" ? snapshot(source, options) : source;
  const b = snapshot(replica, options);
  assert(describeDiff(a, b) === "", `replica differs from source:\n${describeDiff(a, b)}`);
}

/** Asserts two snapshots are identical, listing the differences. */
export function assertSameSnapshot(
  before: Map<string, Node>,
  after: Map<string, Node>,
  what: string,
) {
  const diff = describeDiff(before, after);
  assert(diff === "", `${what} changed:\n${diff}`);
}

/** What a finished CLI run printed and returned. */
export interface CliResult {
  code: number;
  /** stdout and stderr lines, in arrival order. */
  lines: string[];
  /** All of them joined. */
  text: string;
}

/** How to run the CLI. */
export interface CliOptions {
  /** Run as uid/gid 65534 through setpriv. */
  asNobody?: boolean;
  /** Extra environment variables (e.g. DENO_V8_FLAGS). */
  env?: Record<string, string>;
  /** The working directory (root runs only; uid 65534 runs from its copy of the CLI). */
  cwd?: string;
  /** Deno's permissions (default {@linkcode CLI_PERMISSIONS}; `--allow-ffi` for the native engine). */
  perms?: string[];
}

/** What uid 65534 runs: a deno binary, a copy of the CLI and a DENO_DIR, all usable by it. */
interface NobodyCli {
  deno: string;
  main: string;
  dir: string;
  denoDir: string;
}

let nobodyCli: Promise<NobodyCli> | undefined;

/** The CLI's files, relative to the repository root: all `deno run main.ts` needs. */
const CLI_FILES = ["main.ts", "deno.json", "deno.lock", "lib"];

/**
 * A copy of the CLI that uid 65534 can run, made once per test process: the
 * checkout may lie in a directory other users cannot enter (a 0700 home, a
 * clone under `mktemp -d`), so main.ts, deno.json, deno.lock and lib/ are
 * copied into a temporary directory every user can read, and so is the deno
 * binary when 65534 cannot run the one running the tests. Its DENO_DIR, owned
 * by 65534, gets a copy of this process's npm cache and `deno cache` fills
 * what is missing, so the LogTape packages need no network. Removed at exit
 * (or by the OS's temp cleaning if the process is killed).
 */
function cliForNobody(): Promise<NobodyCli> {
  nobodyCli ??= makeCliForNobody();
  return nobodyCli;
}

async function makeCliForNobody(): Promise<NobodyCli> {
  const root = new URL("../..", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "foldersync-faults-cli-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // best effort: the OS's temp cleaning gets the rest
    }
  });
  const app = `${dir}/app`;
  const denoDir = `${dir}/deno-dir`;
  Deno.mkdirSync(app);
  await sh(["cp", "-R", ...CLI_FILES.map((f) => root + f), app]);
  let deno = DENO;
  const probe = ["--reuid", `${NOBODY}`, "--regid", `${NOBODY}`, "--clear-groups"];
  if ((await sh(["setpriv", ...probe, DENO, "--version"], true)).code !== 0) {
    deno = `${dir}/deno`;
    Deno.copyFileSync(DENO, deno);
  }
  const info = JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(DENO, { args: ["info", "--json"], stdout: "piped" }).output()).stdout,
    ),
  );
  Deno.mkdirSync(denoDir);
  if (info.npmCache && (await sh(["test", "-d", info.npmCache], true)).code === 0) {
    await sh(["cp", "-a", info.npmCache, `${denoDir}/npm`]);
  }
  const cache = await new Deno.Command(DENO, {
    args: ["cache", "--quiet", `${app}/main.ts`],
    cwd: app,
    env: { DENO_DIR: denoDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!cache.success) {
    throw new Error(
      `deno cache for the uid ${NOBODY} copy of the CLI failed: ${
        new TextDecoder().decode(cache.stderr)
      }`,
    );
  }
  await sh(["chmod", "-R", "a+rX", dir]);
  await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, denoDir]);
  return { deno, main: `${app}/main.ts`, dir: app, denoDir };
}

async function command(args: string[], options: CliOptions): Promise<Deno.Command> {
  if (!options.asNobody) {
    return new Deno.Command(DENO, {
      args: ["run", ...(options.perms ?? CLI_PERMISSIONS), MAIN, ...args],
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
    });
  }
  const cli = await cliForNobody();
  return new Deno.Command("setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      cli.deno,
      "run",
      ...(options.perms ?? CLI_PERMISSIONS),
      cli.main,
      ...args,
    ],
    // The checkout (the test's working directory) may be closed to 65534.
    cwd: cli.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_DIR: cli.denoDir, HOME: cli.denoDir, ...options.env },
    clearEnv: false,
  });
}

/** A running CLI process whose output is collected line by line. */
export class LiveCli {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #waiters = new Set<() => void>();
  #ended = false;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    const pumps = [this.#pump(child.stdout), this.#pump(child.stderr)];
    this.status = Promise.all(pumps).then(() => child.status).finally(() => {
      this.#ended = true;
      this.#notify();
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  async #pump(stream: ReadableStream<Uint8Array>) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let rest = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
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
   * Resolves with the index of the first line (from `from`) matching `test`,
   * as soon as it is printed; rejects when the process ends first or after
   * `timeoutMs`.
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

/** Starts the CLI with the given flags (the permission flags are added). */
export async function spawnCli(args: string[], options: CliOptions = {}): Promise<LiveCli> {
  return new LiveCli((await command(args, options)).spawn());
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const live = await spawnCli(args, options);
  const status = await live.status;
  return { code: status.code, lines: live.lines, text: live.lines.join("\n") };
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

/** Polls `condition` every few ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let mountWorks: boolean | undefined;

/** Whether this process may mount filesystems (a root with CAP_SYS_ADMIN). */
export async function canMount(): Promise<boolean> {
  if (mountWorks !== undefined) return mountWorks;
  const dir = await Deno.makeTempDir({ prefix: "foldersync-faults-mountprobe-" });
  const ok = (await sh(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], true)).code === 0;
  if (ok) await sh(["umount", dir]);
  await Deno.remove(dir);
  mountWorks = ok;
  if (!ok) console.error("fault tests: mount is not permitted here; mount-based tests are skipped");
  return ok;
}

/** Whether `setpriv` can switch to uid 65534 (we are root). */
export function canDropPrivileges(): boolean {
  return Deno.uid() === 0 &&
    new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
}

/** Lines that report an error on the given path. */
export function errorLines(lines: string[], path?: string): string[] {
  return lines.filter((l) => / ERROR /.test(l) && !SUMMARY.test(l) && (!path || l.includes(path)));
}

/**
 * A whole version of a churned file: a header naming the file's id, version
 * and body length with the body's sha256, then the body. Any torn mix of two
 * versions, truncated or half-written file fails {@linkcode checkVersion}.
 * The header has a fixed width, so same-length versions can overwrite each
 * other in place.
 */
export function makeVersion(id: number, version: number, bodyLength: number): Uint8Array {
  const body = randomBytes(bodyLength);
  const header = `FSV ${String(id).padStart(8, "0")} ${String(version).padStart(8, "0")} ${
    String(bodyLength).padStart(10, "0")
  } ${sha256(body)}\n`;
  const out = new Uint8Array(header.length + bodyLength);
  out.set(new TextEncoder().encode(header));
  out.set(body, header.length);
  return out;
}

const HEADER_LENGTH = 4 + 9 + 9 + 11 + 64 + 1;

/** Why `data` is not a whole version, or undefined when it is one. */
export function checkVersion(data: Uint8Array): string | undefined {
  if (data.length < HEADER_LENGTH) return `only ${data.length} bytes, shorter than a header`;
  const header = new TextDecoder().decode(data.subarray(0, HEADER_LENGTH));
  const m = header.match(/^FSV (\d{8}) (\d{8}) (\d{10}) ([0-9a-f]{64})\n$/);
  if (!m) return `bad header ${JSON.stringify(header.slice(0, 40))}`;
  const body = data.subarray(HEADER_LENGTH);
  if (body.length !== Number(m[3])) {
    return `id ${m[1]} v${Number(m[2])}: body is ${body.length} bytes, header says ${Number(m[3])}`;
  }
  if (sha256(body) !== m[4]) return `id ${m[1]} v${Number(m[2])}: body checksum mismatch`;
  return undefined;
}
