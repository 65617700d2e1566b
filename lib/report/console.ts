/**
 * The console side of logging: lines written in batches, and around the progress line. Needs no
 * permissions.
 *
 * @module
 */

const consoleEncoder = new TextEncoder();
let consoleText = "";
let consoleToStderr = false;
let consoleTimer: ReturnType<typeof setTimeout> | undefined;

/** Console lines wait here until this many characters, or the next turn of the event loop. */
const CONSOLE_BATCH = 16384;

/**
 * Queues one line for the console (stderr for warnings and errors): lines go out in batches,
 * in order, at the latest on the next turn of the event loop.
 *
 * @example Usage
 * ```ts
 * import { flushConsole, writeConsole } from "./console.ts";
 * writeConsole(false, "a line\n");
 * flushConsole();
 * ```
 *
 * @param toStderr Whether the line goes to stderr.
 * @param line The line, with its newline.
 */
export function writeConsole(toStderr: boolean, line: string): void {
  if (consoleText !== "" && toStderr !== consoleToStderr) flushConsole(); // keep the order
  consoleToStderr = toStderr;
  consoleText += line;
  if (consoleText.length >= CONSOLE_BATCH) flushConsole();
  else consoleTimer ??= setTimeout(flushConsole, 0);
}

/**
 * Writes the console lines still waiting (they go out in batches, at the
 * latest on the next turn of the event loop). Called before exit.
 *
 * @example Usage
 * ```ts
 * import { flushConsole } from "./console.ts";
 * flushConsole();
 * ```
 */
export function flushConsole(): void {
  if (consoleTimer !== undefined) {
    clearTimeout(consoleTimer);
    consoleTimer = undefined;
  }
  if (consoleText === "") return;
  const bytes = consoleEncoder.encode(consoleText);
  const out = consoleToStderr ? Deno.stderr : Deno.stdout;
  consoleText = "";
  const print = () => {
    try {
      for (let done = 0; done < bytes.length;) done += out.writeSync(bytes.subarray(done));
    } catch {
      // A closed console (e.g. piped into `head`) must not stop the mirror; the file has it.
    }
  };
  if (consoleGuard) consoleGuard(print);
  else print();
}

let consoleGuard: ((print: () => void) => void) | undefined;

/**
 * Routes console log lines through `guard`, which prints them with the
 * progress line out of the way (see `ProgressLine.around`); undefined prints
 * them directly. The log file is never affected.
 *
 * @example Usage
 * ```ts
 * import { setConsoleGuard } from "./console.ts";
 * import { createProgressLine } from "./progress.ts";
 * const progress = createProgressLine();
 * setConsoleGuard(progress.around);
 * ```
 *
 * @param guard Wraps each console write.
 */
export function setConsoleGuard(guard?: (print: () => void) => void): void {
  flushConsole(); // Lines waiting were written under the old guard's rules.
  consoleGuard = guard;
}
