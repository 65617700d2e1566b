/**
 * `--metrics_file`: what each folder pair's cycles did, in Prometheus text
 * format, for node_exporter's textfile collector (which reads `*.prom` files
 * from a folder). The whole file is rewritten after each cycle, beside it
 * and renamed over it, so the collector never reads half of it.
 *
 * @module
 */
import { readHealth } from "./health.ts";
import { writeRecord } from "./write_record.ts";
import type { SyncStats } from "../engine/types.ts";

/** How a cycle ended, as the metrics count it. */
export type MetricsStatus = "ok" | "failed" | "refused" | "stopped";

/** What one cycle did, as {@linkcode Metrics.record} takes it. */
export interface CycleMetrics {
  /** A whole-tree cycle (the last-cycle gauges follow these only), or a `--watch` one. */
  full: boolean;
  /** How it ended. */
  status: MetricsStatus;
  /** How long it took, seconds. */
  seconds: number;
  /** Its counts, when the sync ran. */
  stats?: SyncStats;
  /** When it ended, ms since the epoch. */
  now?: number;
}

/** The entry kinds counted, by the name the `kind` label gives them. */
const KINDS = [
  ["created", "create"],
  ["copied", "copy"],
  ["updated", "update"],
  ["removed", "remove"],
  ["backed_up", "backup"],
] as const;

const STATUSES: readonly MetricsStatus[] = ["ok", "failed", "refused", "stopped"];

interface PairState {
  lastSuccess: number;
  lastCycle: number;
  lastDuration: number;
  lastErrors: number;
  lastRefused: number;
  cycles: Record<MetricsStatus, number>;
  entries: Record<(typeof KINDS)[number][0], number>;
  bytes: number;
  errors: number;
}

/** The metrics of a run's folder pairs, and the file they are written to. */
export interface Metrics {
  /** Counts one cycle of `pair` and rewrites the file. */
  record(pair: string, cycle: CycleMetrics): void;
  /** The file's text now. */
  text(): string;
  /** Rewrites the file (a warning when it cannot). */
  write(): void;
}

/**
 * Starts the metrics of these pairs: all zero, but the last success seeded
 * from each pair's health file when there is one (a restart does not look
 * like a pair that never succeeded). Nothing is written until
 * {@linkcode Metrics.write} or a {@linkcode Metrics.record}.
 *
 * @example Usage
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics(Deno.makeTempDirSync() + "/foldersync.prom", [{ name: "photos" }]);
 * metrics.record("photos", { full: true, status: "ok", seconds: 1.5 });
 * // foldersync_last_cycle_duration_seconds{pair="photos"} 1.5
 * ```
 *
 * @param path The metrics file.
 * @param pairs Each pair's name, and its health file.
 * @returns The metrics.
 */
export function createMetrics(
  path: string,
  pairs: readonly { name: string; healthFile?: string }[],
): Metrics {
  const state = new Map<string, PairState>();
  for (const { name, healthFile } of pairs) {
    const seeded = healthFile === undefined ? undefined : readHealth(healthFile)?.lastSuccess;
    state.set(name, {
      lastSuccess: typeof seeded === "number" ? seeded : 0,
      lastCycle: 0,
      lastDuration: 0,
      lastErrors: 0,
      lastRefused: 0,
      cycles: { ok: 0, failed: 0, refused: 0, stopped: 0 },
      entries: { created: 0, copied: 0, updated: 0, removed: 0, backed_up: 0 },
      bytes: 0,
      errors: 0,
    });
  }
  const metrics: Metrics = {
    record(pair, cycle) {
      const s = state.get(pair);
      if (s === undefined) return;
      const now = cycle.now ?? Date.now();
      const stats = cycle.stats;
      if (stats) {
        for (const [kind, key] of KINDS) s.entries[kind] += stats[key];
        s.bytes += stats.bytes;
        s.errors += stats.error;
      }
      if (cycle.full) {
        s.cycles[cycle.status]++;
        s.lastCycle = now;
        s.lastDuration = cycle.seconds;
        s.lastErrors = stats?.error ?? 0;
        s.lastRefused = cycle.status === "refused" ? 1 : 0;
        if (cycle.status === "ok") s.lastSuccess = now;
      }
      metrics.write();
    },
    text() {
      return formatMetrics(state);
    },
    write() {
      writeRecord(path, formatMetrics(state), "metrics file");
    },
  };
  return metrics;
}

/** One metric family: its name, type, help and a sample per pair (and label). */
function formatMetrics(state: Map<string, PairState>): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: (pair: string, s: PairState) => [string, number][],
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [pair, s] of state) {
      for (const [labels, value] of samples(pair, s)) {
        out.push(`${name}{pair="${escapeLabel(pair)}"${labels}} ${value}`);
      }
    }
  };
  const seconds = (ms: number) => ms / 1000;
  family(
    "foldersync_last_success_timestamp_seconds",
    "gauge",
    "When the last successful full cycle ended, Unix time (0: none yet).",
    (_, s) => [["", seconds(s.lastSuccess)]],
  );
  family(
    "foldersync_last_cycle_timestamp_seconds",
    "gauge",
    "When the last full cycle ended, Unix time (0: none yet).",
    (_, s) => [["", seconds(s.lastCycle)]],
  );
  family(
    "foldersync_last_cycle_duration_seconds",
    "gauge",
    "How long the last full cycle took.",
    (_, s) => [["", Math.round(s.lastDuration * 1000) / 1000]],
  );
  family(
    "foldersync_last_cycle_errors",
    "gauge",
    "Paths that failed in the last full cycle.",
    (_, s) => [["", s.lastErrors]],
  );
  family(
    "foldersync_last_cycle_refused",
    "gauge",
    "1 when a safety check refused the last full cycle (source missing or empty, ...), else 0.",
    (_, s) => [["", s.lastRefused]],
  );
  family(
    "foldersync_cycles_total",
    "counter",
    "Full cycles run since the process started, by how they ended.",
    (_, s) => STATUSES.map((status) => [`,status="${status}"`, s.cycles[status]]),
  );
  family(
    "foldersync_entries_changed_total",
    "counter",
    "Replica entries changed since the process started (all cycles), by kind.",
    (_, s) => KINDS.map(([kind]) => [`,kind="${kind}"`, s.entries[kind]]),
  );
  family(
    "foldersync_copied_bytes_total",
    "counter",
    "Bytes copied since the process started (all cycles).",
    (_, s) => [["", s.bytes]],
  );
  family(
    "foldersync_errors_total",
    "counter",
    "Paths that failed since the process started (all cycles).",
    (_, s) => [["", s.errors]],
  );
  return out.join("\n") + "\n";
}

/** A label value as the text format wants it: backslash, quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
