/**
 * A log record as one line of text or JSON, control characters escaped. Needs no permissions.
 *
 * @module
 */
import type { LogRecord } from "@logtape/logtape";

const LEVEL_TEXT: Record<string, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warning: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};

let lastStamp = NaN;
let lastStampText = "";

/** The ISO time of a record; consecutive records mostly share a millisecond. */
function isoTime(timestamp: number): string {
  if (timestamp !== lastStamp) {
    lastStamp = timestamp;
    lastStampText = new Date(timestamp).toISOString();
  }
  return lastStampText;
}

// In unicode mode a surrogate class matches only lone surrogates, never half of a pair.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]/u;
// deno-lint-ignore no-control-regex
const UNSAFE_ALL = /[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]/gu;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" };

/** One unsafe character, escaped. */
function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  // A name byte that is not UTF-8, decoded with "surrogateescape": U+DC80 + the byte.
  if (code >= 0xdc80 && code <= 0xdcff) return `\\x${(code - 0xdc00).toString(16)}`;
  if (code >= 0xd800) return `\\u${code.toString(16)}`; // Any other lone surrogate.
  return ESCAPES[c] ?? `\\x${code.toString(16).padStart(2, "0")}`;
}

/**
 * Makes text safe for one line of a terminal or a text log: control
 * characters (C0, DEL and C1) become visible escapes (`\n`, `\r`, `\t`,
 * `\x1b`), and a backslash becomes `\\`, so a file name can neither forge a
 * log line nor send the terminal an escape sequence, and the escaping reads
 * back unambiguously. A name's bytes that are not UTF-8, decoded with
 * "surrogateescape" (each a lone surrogate U+DC80 + byte), become `\xNN`
 * (the byte); any other lone surrogate `\udXXX`: written out, a lone
 * surrogate would turn into U+FFFD and the name could not be told apart.
 *
 * @example Usage
 * ```ts
 * import { escapeControl } from "./log_line.ts";
 * escapeControl("a\nb\x1b[31m"); // "a\\nb\\x1b[31m", shown as a\nb\x1b[31m
 * escapeControl("a\udcffb"); // "a\\xffb": the name's byte 0xff, shown as a\xffb
 * ```
 *
 * @param text Any text.
 * @returns The text with control characters and backslashes escaped.
 */
export function escapeControl(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, escapeOne);
}

/**
 * A record as one text log line: time, level, the pair's name, the escaped message.
 *
 * @example Usage
 * ```ts
 * import { textLine } from "./log_line.ts";
 * textLine({
 *   category: ["foldersync"], level: "info", message: ["started"], rawMessage: "started",
 *   timestamp: 0, properties: {},
 * }); // "1970-01-01T00:00:00.000Z INFO  started\n"
 * ```
 *
 * @param record The record.
 * @returns The line, with its newline.
 */
export function textLine(record: LogRecord): string {
  let message = "";
  for (let i = 0; i < record.message.length; i++) {
    message += i % 2 === 0 ? record.message[i] : String(record.message[i]);
  }
  // Paths and messages are escaped here, once for both sinks; JSON lines are escaped by JSON.
  const pair = record.properties.pair === undefined ? "" : `[${record.properties.pair}] `;
  return `${isoTime(record.timestamp)} ${LEVEL_TEXT[record.level]} ${pair}${
    escapeControl(message)
  }\n`;
}

/**
 * A record as one JSON object on a line: an event's or a summary's fields, or the message.
 *
 * @example Usage
 * ```ts
 * import { jsonLine } from "./log_line.ts";
 * jsonLine({
 *   category: ["foldersync"], level: "info", message: ["started"], rawMessage: "started",
 *   timestamp: 0, properties: {},
 * }); // '{"time":"1970-01-01T00:00:00.000Z","level":"info","message":"started"}\n'
 * ```
 *
 * @param record The record.
 * @returns The line, with its newline.
 */
export function jsonLine(record: LogRecord): string {
  const object: Record<string, unknown> = {
    time: isoTime(record.timestamp),
    level: record.level,
  };
  const props = record.properties;
  if (props.pair !== undefined) object.pair = props.pair;
  if (props.event !== undefined) Object.assign(object, props.event as object);
  else if (props.summary !== undefined) Object.assign(object, props.summary as object);
  else {
    let message = "";
    for (let i = 0; i < record.message.length; i++) {
      message += i % 2 === 0 ? record.message[i] : String(record.message[i]);
    }
    object.message = message;
  }
  return JSON.stringify(object) + "\n";
}
