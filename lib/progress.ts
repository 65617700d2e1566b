/**
 * The live progress line shown on a terminal during a long cycle.
 *
 * @module
 */
import type { SyncEvent } from "./sync_tree.ts";
import { formatBytes } from "./format_bytes.ts";

/** Options of {@linkcode createProgressLine}; the defaults draw on stderr. */
export interface ProgressOptions {
  /** Writes raw text to the terminal (default: stderr). */
  write?: (text: string) => void;
  /** The terminal's width in columns (default: `Deno.consoleSize()`, else 80). */
  columns?: () => number;
  /** The clock, in milliseconds (default: `performance.now`). */
  now?: () => number;
  /** How long a cycle runs before the line appears (default 1000 ms). */
  delayMs?: number;
  /** Time between redraws (default 200 ms: at most 5 a second). */
  intervalMs?: number;
}

/** A progress line for one cycle at a time. */
export interface ProgressLine {
  /** A cycle starts: counts are reset; the line appears once it runs long. */
  start(): void;
  /** The walk found more to copy. */
  plan(files: number, bytes: number): void;
  /** Something was done (copies and updates count). */
  event(event: SyncEvent): void;
  /**
   * Runs `print` (which writes a normal line) with the progress line erased
   * first; the line comes back at the next redraw.
   */
  around(print: () => void): void;
  /** The cycle ended: the line is erased and no longer drawn. */
  stop(): void;
  /** The text the line would show now. */
  text(): string;
}

const encoder = new TextEncoder();
const CLEAR = "\r\x1b[K";

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function defaultColumns(): number {
  try {
    return Deno.consoleSize().columns || 80; // A pseudo-terminal may report 0.
  } catch {
    return 80; // Not a terminal after all.
  }
}

/**
 * Makes a progress line: files and bytes done of those found so far (the
 * walk streams, so the total grows as it goes), the copy rate and an ETA.
 * It appears once a cycle has run for `delayMs`, is redrawn at most every
 * `intervalMs`, is erased before each log line written through
 * {@linkcode ProgressLine.around} (and drawn again at the next redraw) and
 * when the cycle stops. The
 * caller decides whether a terminal is there (`Deno.stderr.isTerminal()`).
 *
 * @example Usage
 * ```ts
 * import { createProgressLine } from "./progress.ts";
 * const progress = createProgressLine();
 * progress.start();
 * progress.plan(2, 2048);
 * progress.event({ action: "copy", path: "a", kind: "file", bytes: 1024 });
 * progress.text(); // "syncing: 1/2 files, 1.0 KiB/2.0 KiB found so far, ..."
 * progress.stop();
 * ```
 *
 * @param options Where to draw and how often.
 * @returns The line.
 */
export function createProgressLine(options: ProgressOptions = {}): ProgressLine {
  const write = options.write ?? ((text: string) => Deno.stderr.writeSync(encoder.encode(text)));
  const columns = options.columns ?? defaultColumns;
  const now = options.now ?? (() => performance.now());
  const delayMs = options.delayMs ?? 1000;
  const intervalMs = options.intervalMs ?? 200;

  let started = 0;
  let files = 0;
  let bytes = 0;
  let doneFiles = 0;
  let doneBytes = 0;
  let running = false;
  let shown = ""; // What is on the terminal now ("" when nothing).
  let timer: ReturnType<typeof setInterval> | undefined;

  const text = (): string => {
    const seconds = (now() - started) / 1000;
    const rate = seconds > 0 ? doneBytes / seconds : 0;
    const left = Math.max(0, Math.max(bytes, doneBytes) - doneBytes);
    const eta = left === 0 ? "0 s" : rate > 0 ? duration(left / rate) : "?";
    return `syncing: ${doneFiles}/${Math.max(files, doneFiles)} files, ` +
      `${formatBytes(doneBytes)}/${formatBytes(Math.max(bytes, doneBytes))} found so far, ` +
      `${formatBytes(rate)}/s, ETA ${eta}`;
  };
  const erase = () => {
    if (shown === "") return;
    write(CLEAR);
    shown = "";
  };
  const draw = () => {
    if (!running || now() - started < delayMs) return;
    const width = Math.max(10, columns() - 1); // Never wrap: \r only returns within a row.
    const line = text().slice(0, width);
    if (line === shown) return;
    write(CLEAR + line);
    shown = line;
  };

  return {
    start() {
      started = now();
      files = 0;
      bytes = 0;
      doneFiles = 0;
      doneBytes = 0;
      running = true;
      if (timer === undefined) timer = setInterval(draw, intervalMs);
    },
    plan(moreFiles, moreBytes) {
      files += moreFiles;
      bytes += moreBytes;
    },
    event(event) {
      if (event.action === "copy" || event.action === "update") {
        if (event.kind === "file") doneFiles++;
        doneBytes += event.bytes ?? 0;
      }
    },
    around(print) {
      erase();
      print();
    },
    stop() {
      running = false;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      erase();
    },
    text,
  };
}
