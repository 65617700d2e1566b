/**
 * The console side of logging: lines written in batches, and around the progress line. Needs no
 * permissions.
 *
 * @module
 */

const consoleEncoder = new TextEncoder();

/** Console lines wait here until this many characters, or the next turn of the event loop. */
const CONSOLE_BATCH = 16384;

/**
 * The console lines of one logging setup: queued, written in batches, in order.
 *
 * @example Usage
 * ```ts
 * import { ConsoleWriter } from "./console.ts";
 * const out = new ConsoleWriter();
 * out.write(false, "a line\n");
 * out.flush();
 * ```
 */
export class ConsoleWriter {
  #text = "";
  #toStderr = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #guard: ((print: () => void) => void) | undefined;

  /**
   * Queues one line for the console (stderr for warnings and errors): lines go out in batches,
   * in order, at the latest on the next turn of the event loop.
   *
   * @param toStderr Whether the line goes to stderr.
   * @param line The line, with its newline.
   */
  write(toStderr: boolean, line: string): void {
    if (this.#text !== "" && toStderr !== this.#toStderr) this.flush(); // keep the order
    this.#toStderr = toStderr;
    this.#text += line;
    if (this.#text.length >= CONSOLE_BATCH) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /**
   * Writes the console lines still waiting (they go out in batches, at the
   * latest on the next turn of the event loop). Called before exit.
   */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#text === "") return;
    const bytes = consoleEncoder.encode(this.#text);
    const out = this.#toStderr ? Deno.stderr : Deno.stdout;
    this.#text = "";
    const print = () => {
      try {
        for (let done = 0; done < bytes.length;) done += out.writeSync(bytes.subarray(done));
      } catch {
        // A closed console (e.g. piped into `head`) must not stop the mirror; the file has it.
      }
    };
    if (this.#guard) this.#guard(print);
    else print();
  }

  /**
   * Routes console log lines through `guard`, which prints them with the
   * progress line out of the way (see `ProgressLine.around`); undefined prints
   * them directly. The log file is never affected.
   *
   * @param guard Wraps each console write.
   */
  setGuard(guard?: (print: () => void) => void): void {
    this.flush(); // Lines waiting were written under the old guard's rules.
    this.#guard = guard;
  }
}
