/**
 * `--itemize-changes` against rsync as the oracle: a case builds a source and
 * a replica, changes the source, and copies the pair; `rsync -ai --delete`
 * runs on one copy and `foldersync --once --itemize-changes` on the other,
 * and both give their (code, name) lines. Used by tests/itemize_test.ts and
 * tests/faults/itemize_owner_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { hasCommand, runCli, type TreeSpec, writeTree } from "./helpers.ts";

/** One named change. */
export interface OracleCase {
  name: string;
  /** The source before the change; the replica starts as its exact copy. */
  tree: TreeSpec;
  /** Changes the source (or the replica) of the pair. */
  change: (src: string, dst: string) => void | Promise<void>;
  /** Extra rsync flags (-H, -c) and the matching foldersync flags. */
  rsync?: string[];
  flags?: string[];
  /** The lines both are expected to print, as `code name` (checks the oracle too). */
  want: string[];
}

/** Every entry's times before the change: long past, so any change moves them by whole seconds. */
const BEFORE = "@1577836800";

/** An itemized line: rsync's 11-character code, a space, the name (and `-> target`, `=> name`). */
const LINE = /^([<>ch.][fdLDS][cstTpoguax.+ ]{9}|\*deleting {2}) (.+)$/;

/** Runs a command, failing the test when it fails; returns standard output. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** True when rsync can be run here. */
export function haveRsync(): boolean {
  return hasCommand("rsync");
}

/** The itemized lines of an output, sorted; other lines (rsync's "created directory") left out. */
function itemized(lines: string[]): string[] {
  return lines.filter((l) => LINE.test(l)).sort();
}

/**
 * Runs one case in `dir` and returns what each printed, sorted: rsync's
 * lines, and foldersync's info lines from its log (all of which, but the
 * start and summary lines, must be itemized).
 */
export async function runOracle(
  dir: string,
  c: OracleCase,
): Promise<{ rsync: string[]; foldersync: string[] }> {
  const pair = `${dir}/a`;
  writeTree(`${pair}/src`, c.tree);
  await run("find", [`${pair}/src`, "-exec", "touch", "-h", "-d", BEFORE, "{}", "+"]);
  await run("cp", ["-a", `${pair}/src`, `${pair}/dst`]);
  await c.change(`${pair}/src`, `${pair}/dst`);
  const copy = `${dir}/b`;
  await run("cp", ["-a", pair, copy]);

  const rsync = await run("rsync", [
    "-ai",
    "--delete",
    ...(c.rsync ?? []),
    `${pair}/src/`,
    `${pair}/dst/`,
  ]);

  const log = `${dir}/sync.log`;
  const result = await runCli([
    "--source_path",
    `${copy}/src`,
    "--replica_path",
    `${copy}/dst`,
    "--log_file",
    log,
    "--once",
    "--itemize-changes",
    ...(c.flags ?? []),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const info = Deno.readTextFileSync(log).split("\n")
    .map((l) => l.match(/^\S+ INFO {2}(.*)$/)?.[1])
    .filter((l): l is string => l !== undefined)
    .filter((l) => !/^foldersync \S+: mirroring |^cycle 1 done /.test(l));
  for (const line of info) assert.match(line, LINE, "every change line is itemized");
  return { rsync: itemized(rsync.split("\n")), foldersync: itemized(info) };
}
