/**
 * Test helpers: real temporary trees, snapshots to compare them, and the CLI
 * run as a subprocess.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The repository's root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** main.ts. */
export const MAIN = ROOT + "/main.ts";

/** sha256 of bytes, hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** What a snapshot records of one entry. */
export interface SnapEntry {
  kind: "file" | "dir" | "symlink" | "other";
  mode: number;
  mtimeMs?: number;
  size?: number;
  sha?: string;
  target?: string;
}

/** Options of {@linkcode snapshot}. */
export interface SnapshotOptions {
  /** Record directory mtimes (default true). */
  dirTimes?: boolean;
  /** Leave out the root's own mode and mtime (default false). */
  skipRoot?: boolean;
}

/** Reads a whole tree without following links: path -> entry. */
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

/** Result of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Arguments for `deno run` with exactly `--allow-read --allow-write` and main.ts. */
export function denoArgs(args: string[], perms = ["--allow-read", "--allow-write"]): string[] {
  return ["run", "--quiet", ...perms, MAIN, ...args];
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  options: { perms?: string[]; cwd?: string } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: denoArgs(args, options.perms),
    cwd: options.cwd ?? ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/**
 * Starts the CLI in the background with exactly `--allow-read --allow-write`; its output is
 * discarded unless `stdout: "piped"` asks for standard output.
 */
export function spawnCli(
  args: string[],
  options: { stdout?: "piped" | "null" } = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: denoArgs(args),
    cwd: ROOT,
    stdin: "null",
    stdout: options.stdout ?? "null",
    stderr: "null",
  }).spawn();
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

/**
 * Polls `condition` every 20 ms until it holds or `timeoutMs` passes; throws on timeout.
 * A condition that throws counts as not yet holding.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
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
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every path under `root` whose name is one of our temporary files. */
export function tempFiles(root: string): string[] {
  return [...snapshot(root).keys()].filter((p) => /(^|\/)\.foldersync-tmp-/.test(p));
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
