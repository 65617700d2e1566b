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
