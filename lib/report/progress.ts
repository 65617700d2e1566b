/**
 * The live progress line shown on a terminal during a long cycle.
 *
 * @module
 */
import type { SyncEvent } from "../engine/types.ts";
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
  /**
   * The walk has listed every folder: the totals are final, so the line
   * gives an ETA from now on. Reset by `start`.
   */
  scanDone(): void;
  /** Something was done (copies and updates count). */
  event(event: SyncEvent): void;
  /**
   * The temporary files of the copies under way (the engine's set, which it
   * keeps up to date): each redraw counts their sizes so far as bytes done,
   * so a big copy moves the line while it runs. Reset by `start`.
   */
  watch(inflight: ReadonlySet<string>): void;
  /**
   * Runs `print` (which writes a normal line) with the progress line erased
   * first, then draws the line again below it.
   */
  around(print: () => void): void;
  /** The cycle ended: the line is erased and no longer drawn. */
  stop(): void;
  /** The text the line would show now, at its longest. */
  text(): string;
}

const encoder = new TextEncoder();
const CLEAR = "\r\x1b[K";
/** The rate is measured over the last this many milliseconds. */
const RATE_WINDOW_MS = 5000;
/** No rate (and no ETA) before this much time has been measured. */
const RATE_MIN_MS = 1000;

function duration(seconds: number): string {
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

/** Bytes written so far to the files in `paths` (those not there yet count 0). */
function sizes(paths: ReadonlySet<string>): number {
  let total = 0;
  for (const path of paths) {
    try {
      total += Deno.lstatSync(path).size;
    } catch {
      // Not created yet, or just renamed into place (its event counts it).
    }
  }
  return total;
}

/**
 * Makes a progress line: files and bytes done of those found so far (the
 * walk streams, so the total grows as it goes; bytes of copies under way
 * count as they are written, see {@linkcode ProgressLine.watch}) and the
 * copy rate over the last 5 s; once the walk has listed everything
 * ({@linkcode ProgressLine.scanDone}), the ETA at that rate instead of
 * "found so far" (`?` until a second has been measured). It appears once a
 * cycle has run for `delayMs`, is redrawn at most every `intervalMs`, is
 * erased before each log line written through
 * {@linkcode ProgressLine.around} and drawn again after it, and is erased
 * when the cycle stops. It never wraps: on a narrow terminal it drops words
 * ("syncing:", the file count, the rate) until it fits in one column less
 * than the width. The caller decides whether a terminal is there
 * (`Deno.stderr.isTerminal()`).
 *
 * @example Usage
 * ```ts
 * import { createProgressLine } from "./progress.ts";
 * const progress = createProgressLine();
 * progress.start();
 * progress.plan(2, 2048);
 * progress.event({ action: "copy", path: "a", kind: "file", bytes: 1024 });
 * progress.text(); // "syncing: 1/2 files, 1.0 KiB/2.0 KiB found so far, ? B/s"
 * progress.scanDone();
 * progress.text(); // "syncing: 1/2 files, 1.0 KiB/2.0 KiB, ? B/s, ETA ?"
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
  let inflight: ReadonlySet<string> = new Set();
  /** (time, bytes done) at the redraws of the last RATE_WINDOW_MS, and one before. */
  let samples: { t: number; bytes: number }[] = [];
  let running = false;
  let scanned = false; // The walk has listed every folder.
  let shown = ""; // What is on the terminal now ("" when nothing).
  let timer: ReturnType<typeof setInterval> | undefined;

  /** The line's parts now, longest form first. */
  const forms = (): string[] => {
    const t = now();
    const done = doneBytes + sizes(inflight);
    const last = samples[samples.length - 1];
    if (last !== undefined && last.t === t) last.bytes = done;
    else samples.push({ t, bytes: done });
    while (samples.length > 2 && samples[1].t <= t - RATE_WINDOW_MS) samples.shift();
    const first = samples[0];
    const span = t - first.t;
    const rate = span >= RATE_MIN_MS ? Math.max(0, done - first.bytes) / (span / 1000) : undefined;
    const total = Math.max(bytes, done);
    const left = total - done;
    const count = `${doneFiles}/${Math.max(files, doneFiles)} files`;
    const amount = `${formatBytes(done)}/${formatBytes(total)}`;
    const speed = rate === undefined ? "? B/s" : `${formatBytes(rate)}/s`;
    if (!scanned) {
      // The totals still grow: an ETA from them would promise too soon.
      return [
        `syncing: ${count}, ${amount} found so far, ${speed}`,
        `${count}, ${amount} found so far, ${speed}`,
        `${amount} found so far, ${speed}`,
        `${amount} so far, ${speed}`,
        `${amount} so far`,
      ];
    }
    const eta = left === 0 ? "0 s" : rate ? duration(left / rate) : "?";
    return [
      `syncing: ${count}, ${amount}, ${speed}, ETA ${eta}`,
      `${count}, ${amount}, ${speed}, ETA ${eta}`,
      `${amount}, ${speed}, ETA ${eta}`,
      `${amount}, ETA ${eta}`,
    ];
  };
  const text = (): string => forms()[0];
  const erase = () => {
    if (shown === "") return;
    write(CLEAR);
    shown = "";
  };
  const draw = () => {
    if (!running || now() - started < delayMs) return;
    const width = Math.max(10, columns() - 1); // Never wrap: \r only returns within a row.
    const all = forms();
    const line = (all.find((form) => form.length <= width) ?? all[all.length - 1]).slice(0, width);
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
      inflight = new Set();
      scanned = false;
      samples = [{ t: started, bytes: 0 }];
      running = true;
      if (timer === undefined) timer = setInterval(draw, intervalMs);
    },
    plan(moreFiles, moreBytes) {
      files += moreFiles;
      bytes += moreBytes;
    },
    scanDone() {
      scanned = true;
    },
    event(event) {
      if (event.action === "copy" || event.action === "update") {
        if (event.kind === "file") doneFiles++;
        doneBytes += event.bytes ?? 0;
      }
    },
    watch(paths) {
      inflight = paths;
    },
    around(print) {
      const line = shown;
      erase();
      print();
      if (line === "" || !running) return;
      write(line); // The printed lines end with a newline: the cursor is at the start of a row.
      shown = line;
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
