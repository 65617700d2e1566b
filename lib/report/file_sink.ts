/**
 * The log file's side of logging: lines appended in batches through one open
 * handle. Needs `--allow-write` (and `--allow-read`) on the log file.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Lines wait here until this many characters, or {@linkcode FLUSH_MS}. */
const FILE_BATCH = 65536;
/** How long a line may wait before it is written. */
const FLUSH_MS = 250;

/**
 * A log file open for appending. Lines are written in batches, in order: once
 * {@linkcode FILE_BATCH} characters wait, {@linkcode FLUSH_MS} after the
 * first of them, and at {@linkcode LogFileWriter.close}. Not LogTape's file
 * sinks: they load `node:fs` into every run (the native engine needs nothing
 * else from it), and one of them fsyncs each line written to an empty buffer.
 * A write that fails (a full disk) drops the batch with one line on stderr;
 * the sync goes on.
 *
 * @example Usage
 * ```ts
 * import { LogFileWriter } from "./file_sink.ts";
 * const log = new LogFileWriter("/tmp/foldersync-example.log");
 * log.write("a line\n");
 * log.close();
 * ```
 */
export class LogFileWriter {
  readonly #path: string;
  readonly #file: Deno.FsFile;
  #text = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failed = false;

  /**
   * Opens the file for appending; it must exist (see `ensureLogFile`).
   *
   * @param path The log file.
   */
  constructor(path: string) {
    this.#path = path;
    this.#file = Deno.openSync(path, { append: true });
  }

  /**
   * Queues a line.
   *
   * @param line The line, with its newline.
   */
  write(line: string): void {
    this.#text += line;
    if (this.#text.length >= FILE_BATCH) this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      Deno.unrefTimer(this.#timer); // A waiting line does not keep the process up: close writes it.
    }
  }

  /** Writes the lines waiting. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#text === "") return;
    const bytes = encoder.encode(this.#text);
    this.#text = "";
    try {
      for (let done = 0; done < bytes.length;) done += this.#file.writeSync(bytes.subarray(done));
      this.#failed = false;
    } catch (error) {
      if (this.#failed) return; // Said once until a write succeeds again.
      this.#failed = true;
      const reason = error instanceof Error ? error.message : String(error);
      console.error(`foldersync: cannot write log file '${this.#path}': ${reason}; lines lost`);
    }
  }

  /** Writes the lines waiting and closes the file. */
  close(): void {
    this.flush();
    this.#file.close();
  }
}
