/**
 * The health record: every full cycle writes what it did, `--health` reads it
 * and answers healthy or not, in one line that says why.
 *
 * @module
 */
import { writeRecord } from "./write_record.ts";

/** How a cycle ended, as the health record tells it. */
export type CycleStatus = "ok" | "failed" | "refused" | "stopped";

/** What a full cycle did. */
export interface CycleRecord {
  /** The cycle's number. */
  cycle: number;
  /** How it ended. */
  status: CycleStatus;
  /** Its error count. */
  errors: number;
  /** Why a refused cycle was refused (the safety check's message). */
  detail?: string;
}

/** The health file's content. */
export interface HealthRecord {
  /** When the last successful full cycle ended, ms since the epoch; absent if none has. */
  lastSuccess?: number;
  /** The same in ISO 8601 (UTC), for people and tools reading the file. */
  lastSuccessIso?: string;
  /** The last full cycle, and when it ended (ms since the epoch, and in ISO 8601). */
  lastCycle?: CycleRecord & { time: number; timeIso?: string };
  /** The configured interval, seconds. */
  intervalSeconds: number;
  /** The writer's process id. */
  pid: number;
  /**
   * Where the replica's filesystem was mounted at the last cycle that ran:
   * a cycle that finds it mounted higher up (its volume not mounted) is
   * refused, after a restart too (see volume.ts).
   */
  replicaMount?: string;
}

/**
 * Records a full cycle in the health file: what it did, and the time of the
 * last success (this one, or the one already recorded). The file's folder is
 * created when missing. Never throws: a failed write is logged as a warning
 * and the loop goes on.
 *
 * @example Usage
 * ```ts
 * import { recordCycle } from "./health.ts";
 * recordCycle("/tmp/health.json", { cycle: 1, status: "ok", errors: 0 }, 60);
 * ```
 *
 * @param path The health file.
 * @param cycle What the cycle did.
 * @param intervalSeconds The configured interval.
 * @param now The time it ended, ms since the epoch.
 * @param replicaMount Where the replica's filesystem is mounted (undefined: keep the one recorded).
 */
export function recordCycle(
  path: string,
  cycle: CycleRecord,
  intervalSeconds: number,
  now = Date.now(),
  replicaMount?: string,
): void {
  const old = cycle.status === "ok" && replicaMount !== undefined ? undefined : readHealth(path);
  const lastSuccess = cycle.status === "ok" ? now : old?.lastSuccess;
  const record: HealthRecord = {
    lastSuccess,
    lastSuccessIso: lastSuccess === undefined ? undefined : isoTime(lastSuccess),
    lastCycle: { ...cycle, time: now, timeIso: isoTime(now) },
    intervalSeconds,
    pid: Deno.pid,
    replicaMount: replicaMount ?? rememberedMount(old),
  };
  const text = JSON.stringify(record) + "\n";
  writeRecord(path, text, "health file");
}

/** A time as ISO 8601, or undefined for a time out of range (a hand-edited record). */
function isoTime(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * The health record at `path`, or undefined when there is none or it is not a record.
 *
 * @example Usage
 * ```ts
 * import { readHealth } from "./health.ts";
 * readHealth("/tmp/health.json")?.lastSuccess; // ms since the epoch, or undefined
 * ```
 *
 * @param path The health file.
 * @returns The record.
 */
export function readHealth(path: string): HealthRecord | undefined {
  try {
    const record = JSON.parse(Deno.readTextFileSync(path));
    return typeof record === "object" && record !== null ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the health file says the replica's filesystem was mounted at the last
 * cycle that ran, if it says so.
 *
 * @example Usage
 * ```ts
 * import { recordedMount } from "./health.ts";
 * recordedMount("/tmp/health.json"); // "/mnt/backup", or undefined
 * ```
 *
 * @param path The health file.
 * @returns The mount point, or undefined.
 */
export function recordedMount(path: string): string | undefined {
  return rememberedMount(readHealth(path));
}

function rememberedMount(record: HealthRecord | undefined): string | undefined {
  const mount = record?.replicaMount;
  return typeof mount === "string" && mount.startsWith("/") ? mount : undefined;
}

function ago(time: number, now: number): string {
  return `${Math.max(0, Math.round((now - time) / 1000))} s ago`;
}

/** What the last cycle did, in words: "failed with 3 errors". */
function outcome(cycle: CycleRecord): string {
  const errors = `${cycle.errors} ${cycle.errors === 1 ? "error" : "errors"}`;
  switch (cycle.status) {
    case "ok":
      return "succeeded";
    case "failed":
      return `failed with ${errors}`;
    case "refused":
      return `was refused${cycle.detail ? `: ${cycle.detail}` : " by a safety check"}`;
    case "stopped":
      return "was stopped before it finished";
    default:
      return `ended as '${cycle.status}'`;
  }
}

/**
 * Checks the health record: healthy when the last successful full cycle
 * ended within twice the interval plus 30 seconds. The message is one line;
 * an unhealthy one says what the last cycle did and when the last success was.
 *
 * @example Usage
 * ```ts
 * import { checkHealth } from "./health.ts";
 * const { healthy, message } = checkHealth("/tmp/health.json");
 * // "unhealthy: last cycle 12 s ago failed with 3 errors; last success never"
 * ```
 *
 * @param path The health file.
 * @param now The current time, ms since the epoch.
 * @returns Whether it is healthy, and one line saying why.
 */
export function checkHealth(path: string, now = Date.now()): { healthy: boolean; message: string } {
  let record: HealthRecord;
  try {
    record = JSON.parse(Deno.readTextFileSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return {
        healthy: false,
        message: `unhealthy: no cycle recorded yet: health file '${path}' is missing ` +
          "(is foldersync running with this --health_file?)",
      };
    }
    const reason = error instanceof Error ? error.message : String(error);
    return {
      healthy: false,
      message: `unhealthy: health file '${path}' cannot be read: ${reason}`,
    };
  }
  const limit = 2 * (record?.intervalSeconds ?? NaN) + 30;
  const success = record?.lastSuccess;
  const last = record?.lastCycle;
  if (!Number.isFinite(limit) || (typeof success !== "number" && !last)) {
    return { healthy: false, message: `unhealthy: health file '${path}' is not a health record` };
  }
  const lastSuccess = typeof success === "number" ? ago(success, now) : "never";
  const lastCycle = last && `last cycle ${ago(last.time, now)} ${outcome(last)}`;
  if (typeof success === "number" && (now - success) / 1000 <= limit) {
    const since = last && last.status !== "ok" ? `; ${lastCycle}` : "";
    return { healthy: true, message: `healthy: last successful cycle ${lastSuccess}${since}` };
  }
  if (!lastCycle) {
    return {
      healthy: false,
      message: `unhealthy: last successful cycle ${lastSuccess} (limit ${limit} s)`,
    };
  }
  const why = last!.status === "ok" ? "" : `; last success ${lastSuccess}`;
  const stale = (now - last!.time) / 1000 > limit
    ? `; none since (limit ${limit} s): is foldersync still running?`
    : "";
  return { healthy: false, message: `unhealthy: ${lastCycle}${why}${stale}` };
}
