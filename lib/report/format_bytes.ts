/**
 * Human-readable byte counts for log lines and the progress line.
 *
 * @module
 */

/**
 * Formats a byte count with binary units and one decimal.
 *
 * @example Usage
 * ```ts
 * import { formatBytes } from "./format_bytes.ts";
 * formatBytes(512); // "512 B"
 * formatBytes(1536); // "1.5 KiB"
 * formatBytes(600.4); // "600 B"
 * ```
 *
 * @param bytes The count.
 * @returns E.g. `97.7 KiB`.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`; // A rate can be a fraction.
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
