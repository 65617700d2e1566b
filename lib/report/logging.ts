/**
 * Console and file logging through LogTape: one line per event, one summary
 * line per cycle, text or JSON.
 *
 * @module
 */
import {
  configure,
  dispose,
  getLogger,
  type LogRecord,
  type Sink,
  withContext,
} from "@logtape/logtape";
import { AsyncLocalStorage } from "node:async_hooks";
import type { SyncEvent, SyncStats } from "../engine/types.ts";
import { formatBytes } from "./format_bytes.ts";
import { itemizeName } from "../engine/itemize.ts";
import { escapeControl, jsonLine, textLine } from "./log_line.ts";
import { ConsoleWriter } from "./console.ts";
import { LogFileWriter } from "./file_sink.ts";

export { escapeControl };

/** The levels `--log_level` accepts. */
export type LogLevelName = "debug" | "info" | "warning" | "error";
/** The formats `--log_format` accepts. */
export type LogFormat = "text" | "json";

/** Where and how to log. */
export interface LogOptions {
  /** The log file; undefined logs to the console only. */
  logFile?: string;
  /** The lowest level written. */
  level: LogLevelName;
  /** Text lines or JSON objects. */
  format: LogFormat;
  /** Write to the console (default true). */
  console?: boolean;
  /** `--quiet`: only errors go to the console; the log file keeps `level`. */
  quiet?: boolean;
}

/** The log file could not be opened for appending. */
export class LogFileError extends Error {
  /**
   * @param path The log file.
   * @param cause Why it failed.
   */
  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message.replace(/\s*\(os error \d+\)/, "") : "";
    super(
      `Cannot write log file '${path}': ${reason}. Choose another --log_file or fix its permissions.`,
    );
    this.name = "LogFileError";
  }
}

const logger = getLogger(["foldersync"]);
/** Whether log lines carry an event's fields (JSON lines); set by {@linkcode setupLogging}. */
let eventFields = true;

/**
 * Opens the log file for appending (creating it, and its folder when missing)
 * to find out early whether it can be written. Only the file itself is
 * touched when it already exists, so narrowed `--allow-write` grants suffice.
 *
 * @example Usage
 * ```ts
 * import { ensureLogFile } from "./logging.ts";
 * ensureLogFile("/tmp/foldersync-example.log");
 * ```
 *
 * @param path The log file.
 * @throws {LogFileError} When it cannot be written.
 */
export function ensureLogFile(path: string): void {
  const open = () => Deno.openSync(path, { append: true, create: true }).close();
  try {
    open();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw new LogFileError(path, error);
    try {
      const slash = path.lastIndexOf("/");
      if (slash > 0) Deno.mkdirSync(path.slice(0, slash), { recursive: true });
      open();
    } catch (again) {
      throw new LogFileError(path, again);
    }
  }
}

/**
 * The logging of one run, as {@linkcode setupLogging} made it: its console
 * lines, its log file (which SIGHUP reopens), and the close that completes
 * the file. Lines are logged through the module's functions
 * ({@linkcode logMessage}, {@linkcode logEvent}...), which go to whichever
 * setup is open.
 */
export interface Logging extends AsyncDisposable {
  /**
   * Reopens the log file by its path (what logrotate expects on SIGHUP): lines
   * logged before go to the file opened before (renamed by now), later lines to
   * a new file at the path, which starts with `log file reopened (<reason>)`.
   * When the new file cannot be opened, a warning says so and logging goes on
   * into the old one. Without a log file, it only logs that there is none.
   *
   * @param reason Why, for the log line (e.g. "SIGHUP").
   */
  reopen(reason: string): Promise<void>;
  /** Writes the console and log file lines still waiting (see `ConsoleWriter.flush`); before exit. */
  flushConsole(): void;
  /**
   * Routes console lines through `guard`, which prints them with the progress
   * line out of the way (see `ProgressLine.around`); undefined prints them directly.
   *
   * @param guard Wraps each console write.
   */
  setConsoleGuard(guard?: (print: () => void) => void): void;
  /** Flushes and closes the sinks. */
  close(): Promise<void>;
}

/**
 * Sets up LogTape with a console sink and, when asked, a file sink.
 * Close what it returns before exit so the buffered file is complete.
 *
 * @example Usage
 * ```ts
 * import { logMessage, setupLogging } from "./logging.ts";
 * await using _logging = await setupLogging({ level: "info", format: "text" });
 * logMessage("info", "started");
 * ```
 *
 * @param options Where and how to log.
 * @returns The logging, to close.
 * @throws {LogFileError} When the log file cannot be written.
 */
export async function setupLogging(options: LogOptions): Promise<Logging> {
  const format = options.format === "json" ? jsonLine : textLine;
  eventFields = options.format === "json";
  // Both sinks get the same record object: format it once.
  let lastRecord: LogRecord | undefined;
  let lastLine = "";
  const formatter = (record: LogRecord): string => {
    if (record !== lastRecord) {
      lastRecord = record;
      lastLine = format(record);
    }
    return lastLine;
  };
  const out = new ConsoleWriter();
  const sinks: Record<string, Sink> = {};
  const names: string[] = [];
  if (options.console !== false) {
    // Lines go straight to stdout (warnings and errors to stderr) as bytes:
    // LogTape's console sink goes through console.info and its formatting,
    // which for thousands of events cost time and heap for nothing. They are
    // written in batches (see ConsoleWriter) rather than one write per line:
    // with the shared formatting, a first copy of 20,000 files 2.94 -> 2.69 s.
    const quiet = options.quiet === true;
    sinks.console = (record) => {
      const failure = record.level === "error" || record.level === "fatal";
      if (quiet && !failure) return;
      out.write(failure || record.level === "warning", formatter(record));
    };
    names.push("console");
  }
  const file: { current?: LogFile } = {};
  if (options.logFile !== undefined) {
    sinks.file = reopenableFileSink(options.logFile, formatter, file);
    names.push("file");
  }
  await configure({
    reset: true,
    contextLocalStorage: new AsyncLocalStorage(), // Carries the pair's name: see withPair.
    sinks,
    loggers: [
      { category: ["foldersync"], lowestLevel: options.level, sinks: names },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: names },
    ],
  });
  const close = async () => {
    out.flush();
    await dispose();
  };
  return {
    reopen: (reason) => {
      try {
        reopenLogFile(file.current, reason);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    },
    flushConsole: () => {
      out.flush();
      file.current?.sink.flush();
    },
    setConsoleGuard: (guard) => out.setGuard(guard),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The log file's sink of the moment, which a reopen replaces. */
interface LogFile {
  path: string;
  formatter: (record: LogRecord) => string;
  sink: FileSink;
}

/** A sink that is closed when logging ends, and flushed before an exit that skips the close. */
type FileSink = Sink & Disposable & { flush(): void };

function disposeSink(sink: FileSink): void {
  sink[Symbol.dispose]();
}

/** Opens `path` for appending (see {@linkcode ensureLogFile}) behind a buffered sink. */
function openFileSink(path: string, formatter: (record: LogRecord) => string): FileSink {
  ensureLogFile(path);
  let file: LogFileWriter;
  try {
    // Never rotated here: rotation would need write access beyond the log file (logrotate
    // does it, and SIGHUP reopens the file: Logging.reopen).
    file = new LogFileWriter(path);
  } catch (error) {
    throw new LogFileError(path, error);
  }
  const sink = (record: LogRecord) => file.write(formatter(record));
  return Object.assign(sink, { [Symbol.dispose]: () => file.close(), flush: () => file.flush() });
}

/** The file sink LogTape is given: it writes to whichever file `holder` has open now. */
function reopenableFileSink(
  path: string,
  formatter: (record: LogRecord) => string,
  holder: { current?: LogFile },
): Sink & AsyncDisposable {
  const current = { path, formatter, sink: openFileSink(path, formatter) };
  holder.current = current;
  const sink = (record: LogRecord) => current.sink(record);
  return Object.assign(sink, {
    [Symbol.asyncDispose]() {
      if (holder.current === current) holder.current = undefined;
      disposeSink(current.sink);
      return Promise.resolve();
    },
  });
}

/** {@linkcode Logging.reopen} for the log file open now (undefined: none). */
function reopenLogFile(current: LogFile | undefined, reason: string): void {
  if (current === undefined) {
    logMessage("info", `${reason} received: no --log_file to reopen`);
    return;
  }
  let fresh: FileSink;
  try {
    fresh = openFileSink(current.path, current.formatter);
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    logMessage("warning", `${reason}: ${error.message} Still writing to the file opened before.`);
    return;
  }
  const old = current.sink;
  current.sink = fresh;
  logMessage("info", `log file reopened (${reason})`); // The new file's first line.
  disposeSink(old); // Its buffered lines go to the old file.
}

/**
 * The text of a change line with `--itemize-changes`: rsync's `%i %n%L`, the
 * code, the path (a folder's ending in `/`, the root `./`), and a link's
 * ` -> target` or a hard link's ` => first name`. What the code already says
 * (sizes, modes, owners) is left out; anything else follows in parentheses.
 *
 * @example Usage
 * ```ts
 * import { itemizedText } from "./logging.ts";
 * itemizedText({ action: "update", path: "a", kind: "file", itemize: ">f..t......", bytes: 2 }); // ">f..t...... a"
 * itemizedText({ action: "create", path: "l", kind: "symlink", itemize: "cL+++++++++", detail: "-> a" }); // "cL+++++++++ l -> a"
 * ```
 *
 * @param event The event, with its code.
 * @returns The text.
 */
export function itemizedText(event: SyncEvent): string {
  const code = event.itemize ?? "";
  let text = `${code} ${itemizeName(event.path, event.kind)}`;
  const detail = event.detail;
  if (detail === undefined || code.startsWith(".")) return text; // Attributes: the code says which.
  const arrow = detail.startsWith("-> ");
  if (code.startsWith("*") && arrow) text += ` (moved to ${detail.slice(3)})`; // --backup_dir
  else if (event.kind === "symlink" && arrow) text += ` ${detail}`;
  else if (code.startsWith("h") && detail.startsWith(HARD_LINK)) {
    text += ` => ${detail.slice(HARD_LINK.length)}`;
  } else text += ` (${detail})`;
  return text;
}

/** How a hard link's event names the file it is linked to (hard_links.ts). */
const HARD_LINK = "hard link to ";

/**
 * Logs one sync event: changes at info, skips at warning (at debug when
 * repeated from an earlier cycle), failures at error. An event with an rsync
 * code (`--itemize-changes`) is logged as {@linkcode itemizedText}; one whose
 * code is empty (rsync prints no line: a removal making room for another
 * kind) at debug.
 *
 * @example Usage
 * ```ts
 * import { logEvent } from "./logging.ts";
 * logEvent({ action: "copy", path: "a.txt", kind: "file", bytes: 12 });
 * ```
 *
 * @param event The event.
 */
export function logEvent(event: SyncEvent): void {
  if (event.itemize) {
    logger.info("{text}", { text: itemizedText(event), event: { ...event } });
    return;
  }
  const tag = event.dryRun ? " (dry run)" : "";
  let text = `${event.action.padEnd(6)} ${event.kind.padEnd(7)} ${event.path}`;
  if (event.bytes !== undefined) text += ` (${formatBytes(event.bytes)})`;
  if (event.detail) {
    text += event.detail.startsWith("-> ") ? ` ${event.detail}` : `: ${event.detail}`;
  }
  if (event.hint) text += ` (${event.hint})`;
  text += tag;
  const method = event.itemize === ""
    ? "debug"
    : event.action === "error"
    ? "error"
    : event.action !== "skip"
    ? "info"
    : event.repeat
    ? "debug"
    : "warn";
  // A first copy logs a line per file: for text lines, a plain message is a small record.
  if (!eventFields && !/[{}]/.test(text)) logger[method](text);
  else logger[method]("{text}", { text, event: { ...event } });
}

/**
 * Logs the one summary line that ends every cycle. Its shape never changes,
 * so it can be grepped: `cycle N done in S s: ...`. It is at info, at error
 * when something failed, and at debug for a quiet cycle (see
 * {@linkcode logQuietCycles}).
 *
 * @example Usage
 * ```ts
 * import { logSummary } from "./logging.ts";
 * import { emptyStats } from "../engine/types.ts";
 * logSummary(1, 0.25, { ...emptyStats(), copy: 3, bytes: 30, scanned: 3 });
 * ```
 *
 * @param cycle The cycle's number, from 1.
 * @param seconds How long it took.
 * @param stats Its counts.
 * @param dryRun Whether nothing was changed.
 * @param watchDirs For a `--watch` cycle, how many directories it synced (adds `(watch: K dirs)`).
 * @param backup With `--backup_dir`, this cycle's backup folder: the removals and overwritten
 *   files kept there are said to be (`5 removed (kept in DIR/STAMP)`, `2 updated (old versions
 *   kept in DIR/STAMP), 5 removed (kept there too)`).
 * @param quiet The cycle changed nothing and failed nothing: logged at debug.
 */
export function logSummary(
  cycle: number,
  seconds: number,
  stats: SyncStats,
  dryRun = false,
  watchDirs?: number,
  backup?: string,
  quiet = false,
): void {
  const status = stats.aborted ? "stopped" : stats.error > 0 ? "failed" : "done";
  const overwritten = backup !== undefined && stats.backup - stats.backupRemoved > 0;
  const removed = backup !== undefined && stats.backupRemoved > 0;
  const text = `cycle ${cycle} ${status} in ${seconds.toFixed(2)} s: ` +
    `${stats.create} created, ${stats.copy} copied, ${stats.update} updated` +
    (overwritten ? ` (old versions kept in ${backup})` : "") +
    `, ${stats.remove} removed` +
    (removed ? (overwritten ? " (kept there too)" : ` (kept in ${backup})`) : "") +
    `, ${stats.skip} skipped, ${stats.error} ${stats.error === 1 ? "error" : "errors"}, ` +
    `${formatBytes(stats.bytes)} copied, ${stats.scanned} scanned${dryRun ? " (dry run)" : ""}` +
    (watchDirs === undefined ? "" : ` (watch: ${watchDirs} ${watchDirs === 1 ? "dir" : "dirs"})`);
  const summary = {
    action: "summary",
    cycle,
    status,
    seconds: Math.round(seconds * 1000) / 1000, // The clock's noise digits say nothing.
    ...stats,
    dryRun,
    watchDirs,
  };
  if (stats.error > 0) logger.error("{text}", { text, summary });
  else if (quiet) logger.debug("{text}", { text, summary });
  else logger.info("{text}", { text, summary });
}

/**
 * Logs at info how many quiet cycles (nothing changed, nothing failed; their
 * summaries are at debug) passed in the last `ms` milliseconds:
 * `57 quiet cycles in the last hour: nothing changed`.
 *
 * @example Usage
 * ```ts
 * import { logQuietCycles } from "./logging.ts";
 * logQuietCycles(57, 3_600_000);
 * ```
 *
 * @param cycles How many.
 * @param ms Over how long.
 */
export function logQuietCycles(cycles: number, ms: number): void {
  const minutes = Math.round(ms / 60_000);
  const span = ms < 60_000
    ? `${Math.round(ms / 1000)} s`
    : minutes === 60
    ? "hour"
    : minutes < 120
    ? `${minutes} min`
    : `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? "" : ` ${minutes % 60} min`}`;
  const text = `${cycles} quiet ${cycles === 1 ? "cycle" : "cycles"} in the last ${span}: ` +
    "nothing changed";
  const summary = { action: "quiet", cycles, seconds: Math.round(ms / 1000) };
  logger.info("{text}", { text, summary });
}

/**
 * Runs `fn` with every line it logs, now and after any await, tagged with a
 * folder pair's name: `[photos] ` before the message in text, a `pair` field
 * in JSON. Needs {@linkcode setupLogging} first.
 *
 * @example Usage
 * ```ts
 * import { logMessage, setupLogging, withPair } from "./logging.ts";
 * await using _logging = await setupLogging({ level: "info", format: "text" });
 * withPair("photos", () => logMessage("info", "started")); // ... INFO  [photos] started
 * ```
 *
 * @param name The pair's name.
 * @param fn What to run.
 * @returns What `fn` returns.
 */
export function withPair<T>(name: string, fn: () => T): T {
  return withContext({ pair: name }, fn);
}

/**
 * Logs a free-form message (start-up, safety stops, the loop's state).
 *
 * @example Usage
 * ```ts
 * import { logMessage } from "./logging.ts";
 * logMessage("info", "foldersync started");
 * ```
 *
 * @param level Its level.
 * @param text The message, one line.
 */
export function logMessage(level: LogLevelName, text: string): void {
  const method = level === "warning" ? "warn" : level;
  logger[method]("{text}", { text });
}
