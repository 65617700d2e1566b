/**
 * Judges the torn files the churn test saw in the replica against what the
 * engine guarantees: a copy is checked against the source after it is made,
 * and a file written less than the settle time ago is left alone until it is
 * that old. So a torn copy can only land while the writer stood still in the
 * middle of a file for about the settle time (the README's limit), and the
 * next cycle after the writer moved on must repair it.
 *
 * @module
 */

/** How long the engine lets a file settle after its last write (lib/engine/copy_file_atomic.ts). */
export const SETTLE_MS = 100;
/**
 * One tick of the kernel's coarse clock that stamps mtimes (at most 10 ms):
 * the stamp can be that much older than the write, so a pause this much
 * shorter than the settle time can already look settled.
 */
export const TICK_MS = 10;

/**
 * One operation of the churn writer, as it logs them (times from `Date.now()`).
 * `steps` holds a start and an end time per step: for a write, the open
 * (which truncates, unless the file is rewritten in place) and each chunk.
 * A `touch` (rename, delete) changes no content but makes the path vanish or
 * change identity, so a repair can take a cycle longer; for a directory it
 * touches everything under it.
 */
export interface WriterOp {
  op: "write" | "touch";
  path: string;
  /** The file's id and version, as its header names them (writes only). */
  id?: number;
  version?: number;
  steps: number[];
}

/** A torn file seen in the replica. */
export interface TornSighting {
  /** Path relative to the replica root. */
  path: string;
  /** What is wrong with it (checkVersion's answer). */
  why: string;
  /** The id and version its header names, when the header is whole. */
  id?: number;
  version?: number;
  /** `Date.now()` just before and just after the file was read. */
  readFrom: number;
  readTo: number;
}

/** A file the engine logged as a new copy of 0 bytes, and when. */
export interface EmptyCopy {
  path: string;
  time: number;
}

/** A summary line of the engine: its cycle number and the time it was logged. */
export interface CycleEnd {
  cycle: number;
  time: number;
}

/**
 * The longest time the file could have stood still in the middle of one write
 * that had started by `before`: between the last system call of one step and
 * the first of the next, bounded by the end of the later step minus the
 * start of the earlier one (a one-step write: its whole length).
 */
export function longestPause(op: WriterOp, before = Infinity): number {
  const { steps } = op;
  if (steps.length < 4) return steps.length === 2 ? steps[1] - steps[0] : 0;
  let longest = 0;
  for (let k = 0; k + 3 < steps.length; k += 2) {
    if (steps[k] >= before) break;
    longest = Math.max(longest, steps[k + 3] - steps[k]);
  }
  return longest;
}

function touches(op: WriterOp, path: string, id: number | undefined): boolean {
  if (op.path === path || path.startsWith(op.path + "/")) return true;
  return id !== undefined && op.op === "write" && op.id === id;
}

/**
 * Why a torn sighting breaks the guarantee, or undefined when it is allowed:
 * some write of that file (same path, or the id its header names) that had
 * started before the read stood still for at least the settle time less one
 * clock tick, its header (when whole) names that write's version, and no
 * full cycle ran between the writer's last change to that path and the read
 * (a cycle starts after the previous summary is logged). An empty file is
 * allowed too where the engine logged it as a new copy of 0 bytes after a
 * write of it had started: Linux sets a shrunk file's size before its mtime,
 * and a file with no replica copy has no size to compare with (README).
 *
 * @example Usage
 * ```ts
 * import { judgeTear } from "./churn_judge.ts";
 * const ops = [{ op: "write" as const, path: "f1.dat", id: 1, version: 2, steps: [0, 1, 300, 302] }];
 * judgeTear({ path: "f1.dat", why: "only 0 bytes", readFrom: 200, readTo: 201 }, ops, []);
 * // undefined: the writer paused 300 ms after truncating
 * ```
 *
 * @param seen The torn file.
 * @param ops The writer's log.
 * @param cycles The engine's summaries, in cycle order.
 * @param emptyNew The new copies of 0 bytes the engine logged.
 * @returns A one-line reason, or undefined.
 */
export function judgeTear(
  seen: TornSighting,
  ops: WriterOp[],
  cycles: CycleEnd[],
  emptyNew: EmptyCopy[] = [],
): string | undefined {
  const earlier = ops.filter((op) => op.steps[0] < seen.readTo);
  const writes = earlier.filter((op) =>
    op.op === "write" && (op.path === seen.path || (seen.id !== undefined && op.id === seen.id))
  );
  const paused = writes.filter((op) =>
    (longestPause(op, seen.readTo) >= SETTLE_MS - TICK_MS &&
      (seen.id === undefined || (op.id === seen.id && op.version === seen.version))) ||
    (seen.why.startsWith("only 0 bytes") && emptyNew.some((copy) =>
      copy.path === seen.path && copy.time >= op.steps[0] && copy.time <= seen.readTo
    ))
  );
  const what = `${seen.path} (${seen.why})`;
  if (paused.length === 0) {
    const longest = Math.max(0, ...writes.map((op) => longestPause(op, seen.readTo)));
    return `${what}: torn, but no write of it paused ${
      SETTLE_MS - TICK_MS
    } ms or more (longest ${longest} ms)`;
  }
  const lastChange = Math.max(
    ...earlier.filter((op) => touches(op, seen.path, seen.id)).map((op) => op.steps.at(-1)!),
  );
  const after = cycles.findIndex((c) => c.time > lastChange);
  const repairedBy = after === -1 ? undefined : cycles[after + 1];
  if (repairedBy && repairedBy.time < seen.readFrom) {
    return `${what}: still torn after cycle ${repairedBy.cycle}, which started after the writer's last change to it`;
  }
  return undefined;
}
