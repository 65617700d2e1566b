/**
 * The health record: a successful cycle writes its time, `--health` reads it.
 *
 * @module
 */

/** What a successful cycle records. */
export interface HealthRecord {
  /** When the last successful cycle ended, ms since the epoch. */
  lastSuccess: number;
  /** The configured interval, seconds. */
  intervalSeconds: number;
  /** The cycle's number. */
  cycle: number;
  /** The writer's process id. */
  pid: number;
}

/**
 * Writes the health record after a successful cycle.
 *
 * @example Usage
 * ```ts
 * import { writeHealth } from "./health.ts";
 * writeHealth("/tmp/health.json", { lastSuccess: Date.now(), intervalSeconds: 60, cycle: 1, pid: Deno.pid });
 * ```
 *
 * @param path The health file.
 * @param record What to record.
 */
export function writeHealth(path: string, record: HealthRecord): void {
  Deno.writeTextFileSync(path, JSON.stringify(record) + "\n");
}

/**
 * Checks the health record: healthy when the last successful cycle ended
 * within twice the interval plus 30 seconds.
 *
 * @example Usage
 * ```ts
 * import { checkHealth } from "./health.ts";
 * const { healthy, message } = checkHealth("/tmp/health.json");
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
    const why = error instanceof Deno.errors.NotFound
      ? "no successful cycle recorded yet"
      : "its health file cannot be read";
    return { healthy: false, message: `unhealthy: ${why} ('${path}')` };
  }
  const age = (now - record.lastSuccess) / 1000;
  const limit = 2 * record.intervalSeconds + 30;
  if (age <= limit) {
    return { healthy: true, message: `healthy: last successful cycle ${age.toFixed(0)} s ago` };
  }
  return {
    healthy: false,
    message: `unhealthy: last successful cycle ${age.toFixed(0)} s ago (limit ${limit} s)`,
  };
}
