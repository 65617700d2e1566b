/**
 * File names as bytes and as text: valid UTF-8 decodes as usual, and each byte
 * of an invalid sequence becomes the lone surrogate U+DC00 + byte (Python's
 * "surrogateescape"), so every name round-trips byte-exact. Pure, no permissions needed.
 *
 * @module
 */

// ignoreBOM: a leading U+FEFF is part of the name (else "\uFEFF.." would read as "..").
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Decodes a name read from the kernel.
 *
 * @example Usage
 * ```ts
 * import { decodeName } from "./names.ts";
 * decodeName(new Uint8Array([0x61, 0xff])); // "a\udcff"
 * ```
 *
 * @param bytes The name's bytes (no NUL).
 * @returns The name as text; invalid bytes as lone surrogates U+DC80..U+DCFF.
 */
export function decodeName(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return fromAscii(bytes);
  try {
    return strict.decode(bytes);
  } catch {
    return decodeEscaped(bytes);
  }
}

/** ASCII bytes as text, eight characters a call (faster than `apply` over the array). */
function fromAscii(b: Uint8Array): string {
  const n = b.length;
  let out = "";
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    out += String.fromCharCode(
      b[i],
      b[i + 1],
      b[i + 2],
      b[i + 3],
      b[i + 4],
      b[i + 5],
      b[i + 6],
      b[i + 7],
    );
  }
  for (; i < n; i++) out += String.fromCharCode(b[i]);
  return out;
}

/** The slow path: decodes sequence by sequence, escaping each byte of an invalid one. */
function decodeEscaped(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = b < 0x80
      ? 1
      : b >= 0xc2 && b <= 0xdf
      ? 2
      : b >= 0xe0 && b <= 0xef
      ? 3
      : b >= 0xf0 && b <= 0xf4
      ? 4
      : 0;
    if (len === 1) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const cp = len === 0 ? -1 : sequence(bytes, i, len);
    if (cp < 0) {
      out += String.fromCharCode(0xdc00 + b);
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += len;
  }
  return out;
}

/** The code point of a well-formed `len`-byte sequence at `i`, or -1 (overlong, surrogate, too big, cut). */
function sequence(bytes: Uint8Array, i: number, len: number): number {
  if (i + len > bytes.length) return -1;
  let cp = bytes[i] & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (c & 0x3f);
  }
  const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp;
}

/**
 * Encodes a name for the kernel, NUL-terminated; the reverse of {@linkcode decodeName}.
 *
 * @example Usage
 * ```ts
 * import { encodeName } from "./names.ts";
 * encodeName("a\udcff"); // Uint8Array [0x61, 0xff, 0]
 * ```
 *
 * @param name The name as text.
 * @returns Its bytes followed by a NUL.
 * @throws {TypeError} For a lone surrogate that no byte escapes to, or a NUL inside.
 */
export function encodeName(name: string): Uint8Array {
  const ascii = new Uint8Array(name.length + 1);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0 || c >= 0x80) break;
    ascii[i] = c;
    if (i === name.length - 1) return ascii;
  }
  if (name.includes("\0")) throw new TypeError(`name '${escapeName(name)}' contains a NUL`);
  if (!/[\ud800-\udfff]/.test(name)) {
    const out = new Uint8Array(name.length * 3 + 1);
    const { written } = encoder.encodeInto(name, out);
    return out.subarray(0, written + 1);
  }
  const parts: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(c - 0xdc00);
      continue;
    }
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < name.length) {
      const d = name.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      throw new TypeError(`name '${escapeName(name)}' holds a lone surrogate no byte stands for`);
    }
    for (const byte of encoder.encode(String.fromCodePoint(cp))) parts.push(byte);
  }
  parts.push(0);
  return new Uint8Array(parts);
}

/**
 * Shows a name for a log line: each escaped byte as `\xNN`.
 *
 * @example Usage
 * ```ts
 * import { escapeName } from "./names.ts";
 * escapeName("a\udcff"); // "a\\xff"
 * ```
 *
 * @param name The name as text.
 * @returns It, printable.
 */
export function escapeName(name: string): string {
  return name.replace(/[\udc80-\udcff]/g, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`);
}
