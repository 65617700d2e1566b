/**
 * The native engine's small copies on worker threads, handed over through
 * shared memory: a ring of fixed slots that the main thread fills and the
 * workers take in turn, with no message per copy (structured cloning a job
 * cost the main thread about what the copy itself costs). A job holds its
 * folder handles by number (the process's descriptors; pinned by the engine
 * until it is done). Needs `--allow-ffi` and read access to lib/ for the workers.
 *
 * @module
 */
import type { Entry } from "../engine/types.ts";
import type { HandleCopy } from "../engine/fs/native/copy.ts";
import { AbandonedError, type Copier } from "./copier.ts";
import { reviveError } from "../engine/errors.ts";

/** Slots in the ring: copies queued or under way at once (a power of two: see the worker). */
export const SLOTS = 256;
/** How long a full ring may see no copy finish before its worker is taken for stuck. */
const STUCK_MS = 30_000;
/** Bytes per slot. */
export const SLOT_BYTES = 2048;
/** Control words: submitted, claimed, completed, stop. */
export const CTL = { SUBMITTED: 0, CLAIMED: 1, COMPLETED: 2, STOP: 3 } as const;
/** A slot's state word. */
export const STATE = { FREE: 0, QUEUED: 1, DONE: 2 } as const;
/** Int32 words of a slot. */
export const I = {
  STATE: 0,
  SRC_FD: 1,
  DST_FD: 2,
  FLAGS: 3,
  MODE: 4,
  UID: 5,
  GID: 6,
  SEEN_KIND: 7,
  NAME_LEN: 8,
  TMP_LEN: 9,
  /** 0: copied; 1: failed (error name and message follow). */
  RESULT: 10,
  /** What the worker learned about chown: 0 nothing, 1 it works, 2 refused. */
  CHOWN: 11,
  ERR_NAME_LEN: 12,
  ERR_MESSAGE_LEN: 13,
  ERR_CODE_LEN: 14,
} as const;
/** Float64 words of a slot (after the Int32 ones). */
export const F = {
  SIZE: 8,
  BLOCKS: 9,
  INO: 10,
  DEV: 11,
  SEEN_INO: 12,
  SEEN_DEV: 13,
  MADE_INO: 14,
  MADE_DEV: 15,
  MTIME_MS: 16,
  ATIME_MS: 17,
} as const;
/** BigInt64 words of a slot. */
export const B = { MTIME_NS: 18, ATIME_NS: 19 } as const;
/** FLAGS bits. */
export const FLAG = { SEEN: 1, NS: 2 } as const;
/** Where a slot's UTF-16 text starts (in 16-bit units): name, temporary name, error texts. */
export const TEXT = 80;
export const KINDS: Entry["kind"][] = ["file", "dir", "symlink", "other"];

/** Stand-ins for paths in the worker's messages, replaced by the real ones here. */
export const PATH_TOKEN = { from: "\u0001S", to: "\u0001D", tmp: "\u0001T" } as const;

const WORKER_URL = new URL("./native_copy_worker.ts", import.meta.url);
const LIB_URL = new URL("../", import.meta.url);

/** A job waiting for its slot to be done. */
interface Waiting {
  copy: HandleCopy;
  resolve: (chown: boolean | undefined) => void;
  reject: (error: Error) => void;
}

/** One worker and the ring it takes its copies from. */
class Ring {
  readonly ctl = new Int32Array(new SharedArrayBuffer(16));
  readonly memory = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  readonly i32 = new Int32Array(this.memory);
  readonly f64 = new Float64Array(this.memory);
  readonly b64 = new BigInt64Array(this.memory);
  readonly u16 = new Uint16Array(this.memory);
  readonly waiting: (Waiting | undefined)[] = new Array(SLOTS);
  submitted = 0;
  collected = 0;

  constructor(readonly worker: Worker) {
    worker.postMessage({ ctl: this.ctl, memory: this.memory });
  }

  get outstanding(): number {
    return this.submitted - this.collected;
  }

  /** Settles the jobs done, in order. */
  collect(): void {
    const i32 = this.i32;
    while (this.collected < this.submitted) {
      const slot = this.collected % SLOTS;
      const base = slot * (SLOT_BYTES / 4);
      if (Atomics.load(i32, base + I.STATE) !== STATE.DONE) break;
      const w = this.waiting[slot]!;
      this.waiting[slot] = undefined;
      const chown = i32[base + I.CHOWN];
      const learned = chown === 0 ? undefined : chown === 1;
      if (i32[base + I.RESULT] === 0) w.resolve(learned);
      else w.reject(revive(this.u16, slot, i32, base, w.copy));
      Atomics.store(i32, base + I.STATE, STATE.FREE);
      this.collected++;
    }
  }

  /**
   * Queues a copy, once its slot is free (waiting for the worker if the ring is full); undefined
   * when the worker made no progress for {@linkcode STUCK_MS} (the job is not queued).
   */
  submit(copy: HandleCopy): Promise<boolean | undefined> | undefined {
    const slot = this.submitted % SLOTS;
    const base = slot * (SLOT_BYTES / 4);
    this.collect();
    let last = Atomics.load(this.ctl, CTL.COMPLETED);
    let since = performance.now();
    while (Atomics.load(this.i32, base + I.STATE) !== STATE.FREE) {
      // Full: wait for the worker to finish a copy (it only copies, so this is short). A worker
      // that died cannot say so while this thread waits: no progress for long means stuck.
      Atomics.wait(this.ctl, CTL.COMPLETED, last, 100);
      this.collect();
      const now = Atomics.load(this.ctl, CTL.COMPLETED);
      if (now !== last) {
        last = now;
        since = performance.now();
      } else if (performance.now() - since > STUCK_MS) return undefined;
    }
    write(copy, slot, this.i32, this.f64, this.b64, this.u16);
    const done = new Promise<boolean | undefined>((resolve, reject) => {
      this.waiting[slot] = { copy, resolve, reject };
    });
    Atomics.store(this.i32, base + I.STATE, STATE.QUEUED);
    this.submitted++;
    Atomics.store(this.ctl, CTL.SUBMITTED, this.submitted);
    Atomics.notify(this.ctl, CTL.SUBMITTED);
    return done;
  }

  /** Stops the worker, and gives up every job not settled yet (see `AbandonedError`). */
  stop(message: string): void {
    Atomics.store(this.ctl, CTL.STOP, 1);
    Atomics.notify(this.ctl, CTL.SUBMITTED);
    this.worker.terminate();
    for (let n = this.collected; n < this.submitted; n++) {
      const w = this.waiting[n % SLOTS];
      this.waiting[n % SLOTS] = undefined;
      w?.reject(new AbandonedError(message));
    }
    this.collected = this.submitted;
  }
}

/**
 * Starts `threads` workers, each with its ring, or returns undefined where
 * they cannot start (no read access to lib/). The copies of one folder go to
 * one worker while it has any under way: two threads making and renaming
 * files in one folder wait for each other on the folder's lock.
 *
 * @example Usage
 * ```ts
 * import { startNativeCopier } from "./native_ring.ts";
 * const copier = startNativeCopier(2);
 * copier?.close();
 * ```
 *
 * @param threads How many worker threads.
 * @returns The copier (its jobs are the native engine's `HandleCopy`), or undefined.
 */
export function startNativeCopier(threads: number): Copier | undefined {
  const allowed = WORKER_URL.protocol !== "file:" ||
    Deno.permissions.querySync({ name: "read", path: LIB_URL }).state === "granted";
  if (!allowed || threads < 1) return undefined;
  const rings: Ring[] = [];
  let broken = false;
  let poller: ReturnType<typeof setTimeout> | undefined;
  let lastFolder = -1;
  let lastRing: Ring | undefined;
  const fail = (message: string) => {
    broken = true;
    if (poller !== undefined) clearTimeout(poller);
    for (const ring of rings) ring.stop(message);
  };
  try {
    for (let n = 0; n < threads; n++) {
      const worker = new Worker(WORKER_URL.href, { type: "module" });
      worker.onerror = (event) => {
        event.preventDefault();
        fail(`copy worker failed: ${event.message}`);
      };
      rings.push(new Ring(worker));
    }
  } catch {
    for (const ring of rings) ring.worker.terminate();
    return undefined;
  }
  const poll = () => {
    poller = undefined;
    let left = 0;
    for (const ring of rings) {
      ring.collect();
      left += ring.outstanding;
    }
    if (left > 0) poller = setTimeout(poll, 1);
  };
  /** The ring for a copy into `folder`: the same as its folder's last copy while that one has work. */
  const ringFor = (folder: number): Ring => {
    if (folder === lastFolder && lastRing && lastRing.outstanding > 0) return lastRing;
    let best = rings[0];
    for (const ring of rings) if (ring.outstanding < best.outstanding) best = ring;
    lastFolder = folder;
    lastRing = best;
    return best;
  };
  return {
    get broken() {
      return broken;
    },
    submit(job) {
      const copy = job as HandleCopy;
      if (broken) return Promise.reject(new Error("copy workers stopped"));
      const done = ringFor(copy.to.fd).submit(copy);
      if (done === undefined) {
        fail(`a copy worker made no progress for ${STUCK_MS / 1000} s: stopped`);
        return Promise.reject(new Error("copy workers stopped"));
      }
      poller ??= setTimeout(poll, 1);
      return Promise.resolve({ done });
    },
    close() {
      fail("copy workers stopped");
    },
  };
}

function write(
  copy: HandleCopy,
  slot: number,
  i32: Int32Array,
  f64: Float64Array,
  b64: BigInt64Array,
  u16: Uint16Array,
): void {
  const base = slot * (SLOT_BYTES / 4);
  const fbase = slot * (SLOT_BYTES / 8);
  const e = copy.from.entry;
  const seen = copy.to.seen;
  i32[base + I.SRC_FD] = copy.from.fd;
  i32[base + I.DST_FD] = copy.to.fd;
  i32[base + I.FLAGS] = (seen ? FLAG.SEEN : 0) | (e.mtimeNs !== undefined ? FLAG.NS : 0);
  i32[base + I.MODE] = e.mode;
  i32[base + I.UID] = e.uid;
  i32[base + I.GID] = e.gid;
  i32[base + I.SEEN_KIND] = seen ? KINDS.indexOf(seen.kind) : -1;
  f64[fbase + F.SIZE] = e.size;
  f64[fbase + F.BLOCKS] = e.blocks;
  f64[fbase + F.INO] = e.ino;
  f64[fbase + F.DEV] = e.dev;
  f64[fbase + F.SEEN_INO] = seen?.ino ?? 0;
  f64[fbase + F.SEEN_DEV] = seen?.dev ?? 0;
  f64[fbase + F.MTIME_MS] = e.mtimeMs;
  f64[fbase + F.ATIME_MS] = e.atimeMs;
  if (e.mtimeNs !== undefined) {
    b64[fbase + B.MTIME_NS] = e.mtimeNs;
    b64[fbase + B.ATIME_NS] = e.atimeNs ?? BigInt(e.atimeMs) * 1_000_000n;
  }
  const text = slot * (SLOT_BYTES / 2) + TEXT;
  i32[base + I.NAME_LEN] = copy.from.name.length;
  i32[base + I.TMP_LEN] = copy.tmp.length;
  let at = text;
  for (let k = 0; k < copy.from.name.length; k++) u16[at++] = copy.from.name.charCodeAt(k);
  for (let k = 0; k < copy.tmp.length; k++) u16[at++] = copy.tmp.charCodeAt(k);
}

/** Room in a slot for text (UTF-16 units). */
export const TEXT_UNITS = SLOT_BYTES / 2 - TEXT;

/**
 * Reads a string written into a slot's text at `at` (UTF-16 units from the slot's text start).
 *
 * @param u16 The ring.
 * @param slot The slot.
 * @param at Where it starts.
 * @param length Its length.
 * @returns The string.
 */
export function readText(u16: Uint16Array, slot: number, at: number, length: number): string {
  const start = slot * (SLOT_BYTES / 2) + TEXT + at;
  let s = "";
  for (let k = 0; k < length; k += 4096) {
    const part = u16.subarray(start + k, start + Math.min(length, k + 4096));
    s += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return s;
}

/** The error a worker wrote, as the class it threw, its paths put back. */
function revive(
  u16: Uint16Array,
  slot: number,
  i32: Int32Array,
  base: number,
  copy: HandleCopy,
): Error {
  const skip = i32[base + I.NAME_LEN] + i32[base + I.TMP_LEN];
  const nameLen = i32[base + I.ERR_NAME_LEN];
  const messageLen = i32[base + I.ERR_MESSAGE_LEN];
  const codeLen = i32[base + I.ERR_CODE_LEN];
  const name = readText(u16, slot, skip, nameLen);
  const message = readText(u16, slot, skip + nameLen, messageLen)
    .replaceAll(PATH_TOKEN.from, copy.from.path)
    .replaceAll(PATH_TOKEN.to, copy.to.path)
    .replaceAll(PATH_TOKEN.tmp, copy.tmpPath);
  const code = codeLen > 0 ? readText(u16, slot, skip + nameLen + messageLen, codeLen) : "";
  return reviveError({ name, message, code: code || undefined });
}
