/**
 * Worker side of the native engine's ring of copies (native_ring.ts): takes
 * the next queued slot, makes the copy with the native engine's own steps
 * (`copyAt`) on the folder handles the slot names, and writes the outcome
 * back. Needs `--allow-ffi`.
 *
 * Started by `native_ring.ts`; not meant to be imported elsewhere.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { Entry } from "../engine/types.ts";
import type { HandleCopy } from "../engine/fs/native/copy.ts";
import { copyAt } from "../engine/fs/native/copy.ts";
import { Owners } from "../engine/owner.ts";
import {
  B,
  CTL,
  F,
  FLAG,
  I,
  KINDS,
  PATH_TOKEN,
  readText,
  SLOT_BYTES,
  SLOTS,
  STATE,
  TEXT,
  TEXT_UNITS,
} from "./native_ring.ts";

/** What this worker learns about chown, reported back with each copy. */
const owners = new Owners();

self.onmessage = (event: MessageEvent<{ ctl: Int32Array; memory: SharedArrayBuffer }>) => {
  const { ctl, memory } = event.data;
  const i32 = new Int32Array(memory);
  const f64 = new Float64Array(memory);
  const b64 = new BigInt64Array(memory);
  const u16 = new Uint16Array(memory);
  while (Atomics.load(ctl, CTL.STOP) === 0) {
    const n = Atomics.add(ctl, CTL.CLAIMED, 1);
    // The counters are 32-bit and wrap: compared by difference, the slot from the low bits.
    for (let seen = Atomics.load(ctl, CTL.SUBMITTED); ((seen - n) | 0) <= 0;) {
      Atomics.wait(ctl, CTL.SUBMITTED, seen);
      if (Atomics.load(ctl, CTL.STOP) !== 0) return;
      seen = Atomics.load(ctl, CTL.SUBMITTED);
    }
    const slot = n & (SLOTS - 1);
    const base = slot * (SLOT_BYTES / 4);
    run(slot, base, i32, f64, b64, u16);
    Atomics.store(i32, base + I.STATE, STATE.DONE);
    Atomics.add(ctl, CTL.COMPLETED, 1);
    Atomics.notify(ctl, CTL.COMPLETED);
  }
};

function run(
  slot: number,
  base: number,
  i32: Int32Array,
  f64: Float64Array,
  b64: BigInt64Array,
  u16: Uint16Array,
): void {
  const fbase = slot * (SLOT_BYTES / 8);
  const flags = i32[base + I.FLAGS];
  const nameLen = i32[base + I.NAME_LEN];
  const tmpLen = i32[base + I.TMP_LEN];
  const name = readText(u16, slot, 0, nameLen);
  const tmp = readText(u16, slot, nameLen, tmpLen);
  const entry: Entry = {
    name,
    kind: "file",
    size: f64[fbase + F.SIZE],
    mtimeMs: f64[fbase + F.MTIME_MS],
    atimeMs: f64[fbase + F.ATIME_MS],
    mode: i32[base + I.MODE],
    dev: f64[fbase + F.DEV],
    ino: f64[fbase + F.INO],
    uid: i32[base + I.UID],
    gid: i32[base + I.GID],
    blocks: f64[fbase + F.BLOCKS],
    nlink: 1,
  };
  if (flags & FLAG.NS) {
    entry.mtimeNs = b64[fbase + B.MTIME_NS];
    entry.atimeNs = b64[fbase + B.ATIME_NS];
  }
  const seen = flags & FLAG.SEEN
    ? {
      kind: KINDS[i32[base + I.SEEN_KIND]],
      ino: f64[fbase + F.SEEN_INO],
      dev: f64[fbase + F.SEEN_DEV],
    }
    : undefined;
  const copy: HandleCopy = {
    native: true,
    from: { fd: i32[base + I.SRC_FD], name, path: PATH_TOKEN.from, entry },
    to: { fd: i32[base + I.DST_FD], name, path: PATH_TOKEN.to, seen },
    tmp,
    tmpPath: PATH_TOKEN.tmp,
  };
  try {
    const made = copyAt(copy, owners);
    f64[fbase + F.MADE_INO] = made.ino;
    f64[fbase + F.MADE_DEV] = made.dev;
    i32[base + I.RESULT] = 0;
  } catch (error) {
    i32[base + I.RESULT] = 1;
    const e = error as { name?: string; message?: string; code?: string };
    const texts = [e?.name ?? "Error", e?.message ?? String(error), e?.code ?? ""];
    let at = slot * (SLOT_BYTES / 2) + TEXT + nameLen + tmpLen;
    let room = TEXT_UNITS - nameLen - tmpLen;
    const lens = [I.ERR_NAME_LEN, I.ERR_MESSAGE_LEN, I.ERR_CODE_LEN];
    texts.forEach((text, k) => {
      const length = Math.min(text.length, room);
      for (let j = 0; j < length; j++) u16[at++] = text.charCodeAt(j);
      i32[base + lens[k]] = length;
      room -= length;
    });
  }
  const learned = owners.learned();
  i32[base + I.CHOWN] = learned === undefined ? 0 : learned ? 1 : 2;
}
