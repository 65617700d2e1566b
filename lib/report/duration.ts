/**
 * Parsing `--sync_interval` values.
 *
 * @module
 */

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses a duration into seconds: a plain number of seconds (`3600`, `0.5`) or
 * numbers with units `ms`, `s`, `m`, `h`, `d`, optionally combined (`90s`,
 * `5m`, `1h30m`). Returns `undefined` for anything else; zero and negative
 * values are the caller's to reject.
 *
 * @example Usage
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("1h30m"); // 5400
 * parseDuration("0.5"); // 0.5
 * parseDuration("soon"); // undefined
 * ```
 *
 * @param text The flag's value.
 * @returns Seconds, or undefined when it is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim().toLowerCase();
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(value)) return Number(value);
  if (!/^((\d+(\.\d*)?|\.\d+)(ms|s|m|h|d))+$/.test(value)) return undefined;
  let total = 0;
  for (const part of value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]];
  }
  return total;
}

/**
 * Writes seconds as a duration `parseDuration` reads back, in the largest
 * whole units: `600` is `10m`, `5400` is `1h30m`, `0.5` is `500ms`, `1.25`
 * is `1.25s`. For the start line, which says the interval as a person would.
 *
 * @example Usage
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * formatDuration(600); // "10m"
 * formatDuration(90); // "1m30s"
 * formatDuration(0.2); // "200ms"
 * ```
 *
 * @param seconds More than zero.
 * @returns The duration's text.
 */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1e6) / 1e3}ms`;
  if (!Number.isInteger(seconds)) return `${seconds}s`;
  let left = seconds;
  let text = "";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (left >= size) {
      text += `${Math.floor(left / size)}${unit}`;
      left %= size;
    }
  }
  return text;
}
