/**
 * Copying small files on worker threads. Per small file, Deno's file calls
 * cost the calling thread about a hundred microseconds (path checks, then
 * open, copy, utime, rename), so a first copy of many small files is bound by
 * one thread's CPU. The copier spreads those copies over two worker threads,
 * in batches (a message per file would cost more than it saves), with a
 * bounded number in flight. Measured on the 20k-file first copy: 3.4–3.8 s
 * inline, 2.5–3.0 s with two workers (three were no better on two cores).
 *
 * @module
 */
import type { CopyJob } from "../engine/copy_file_atomic.ts";
import type { HandleCopy } from "../engine/fs/native/copy.ts";
import { type ErrorInfo, reviveError } from "../engine/errors.ts";

/** One copy for a worker. */
export interface WorkerJob {
  /** Matches the reply to the job. */
  id: number;
  /** The copy, by paths. */
  job: CopyJob;
}

/** A worker's answer for one job. */
export interface CopyReply {
  /** The job's id. */
  id: number;
  /** Set when the copy failed. */
  error?: ErrorInfo;
  /** What the worker has learned about chown (see owner.ts). */
  chown?: boolean;
}

/**
 * A copy given up while a worker may still be making it (the worker failed, or the copier was
 * closed): what the job holds (its folder handles) must stay held, never reused.
 */
export class AbandonedError extends Error {
  /** @param message Why. */
  constructor(message: string) {
    super(message);
    this.name = "AbandonedError";
  }
}

/** Copies files on workers. */
export interface Copier {
  /** True once a worker failed: copy on the calling thread from then on. */
  readonly broken: boolean;
  /**
   * Queues a copy once there is room; `done` resolves with what the worker
   * learned about chown, or rejects with the copy's error. The portable
   * engine's copier takes `CopyJob`s, the native engine's (native_ring.ts) `HandleCopy`s.
   */
  submit(job: CopyJob | HandleCopy): Promise<{ done: Promise<boolean | undefined> }>;
  /** Stops the workers. */
  close(): void;
}

const WORKER_URL = new URL("./copy_worker.ts", import.meta.url);
const LIB_URL = new URL("../", import.meta.url);

/**
 * Starts a copier with `threads` workers, or returns undefined where workers
 * cannot be started (no read access to lib/).
 *
 * @example Usage
 * ```ts
 * import { startCopier } from "./copier.ts";
 * const copier = startCopier(2);
 * copier?.close();
 * ```
 *
 * @param threads How many worker threads.
 * @param maxInFlight How many copies may be queued or running at once.
 * @returns The copier, or undefined.
 */
export function startCopier(threads: number, maxInFlight = 512): Copier | undefined {
  const allowed = WORKER_URL.protocol !== "file:" ||
    Deno.permissions.querySync({ name: "read", path: LIB_URL }).state === "granted";
  if (!allowed || threads < 1) return undefined;
  interface Slot {
    worker: Worker;
    /** Ids sent to this worker and not answered yet. */
    pending: Set<number>;
    /** When it last answered, or was given work while idle. */
    lastReply: number;
  }
  const slots: Slot[] = [];
  let broken = false;
  const waiting = new Map<
    number,
    { resolve: (chown: boolean | undefined) => void; reject: (e: Error) => void }
  >();
  let nextId = 1;
  let inFlight = 0;
  let room: (() => void)[] = [];
  let batch: WorkerJob[] = [];
  let flushQueued = false;
  let turn = 0;
  const settle = (id: number, error?: Error, chown?: boolean) => {
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    inFlight--;
    if (error) w.reject(error);
    else w.resolve(chown);
  };
  const wakeProducers = () => {
    const ready = room;
    room = [];
    for (const r of ready) r();
  };
  const start = (slot: Slot) => {
    const worker = new Worker(WORKER_URL.href, { type: "module" });
    worker.onmessage = (event: MessageEvent<CopyReply[]>) => {
      slot.lastReply = performance.now();
      for (const reply of event.data) {
        slot.pending.delete(reply.id);
        settle(reply.id, reply.error && reviveError(reply.error), reply.chown);
      }
      wakeProducers();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      broken = true;
      for (const id of [...waiting.keys()]) {
        settle(id, new Error(`copy worker failed: ${event.message}`));
      }
      wakeProducers();
    };
    slot.worker = worker;
  };
  try {
    for (let i = 0; i < threads; i++) {
      const slot: Slot = {
        worker: undefined as unknown as Worker,
        pending: new Set(),
        lastReply: 0,
      };
      start(slot);
      slots.push(slot);
    }
  } catch {
    for (const slot of slots) slot.worker?.terminate();
    return undefined;
  }
  // A worker that does not answer within STUCK_MS is blocked (a FIFO swapped
  // in for a file after its check): its jobs fail, and a new worker takes its place.
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const slot of slots) {
      if (slot.pending.size === 0 || now - slot.lastReply < STUCK_MS) continue;
      slot.worker.terminate();
      for (const id of slot.pending) {
        settle(id, new Error(`the copy did not finish within ${STUCK_MS / 1000} s: abandoned`));
      }
      slot.pending.clear();
      try {
        start(slot);
      } catch {
        broken = true;
      }
      wakeProducers();
    }
  }, 1000);
  Deno.unrefTimer(watchdog);
  const flush = () => {
    flushQueued = false;
    if (batch.length === 0) return;
    const slot = slots[turn++ % slots.length];
    if (slot.pending.size === 0) slot.lastReply = performance.now();
    for (const job of batch) slot.pending.add(job.id);
    slot.worker.postMessage(batch);
    batch = [];
  };
  return {
    get broken() {
      return broken;
    },
    async submit(job) {
      while (inFlight >= maxInFlight) await new Promise<void>((r) => room.push(r));
      inFlight++;
      const id = nextId++;
      const done = new Promise<boolean | undefined>((resolve, reject) =>
        waiting.set(id, { resolve, reject })
      );
      batch.push({ id, job: job as CopyJob });
      if (batch.length >= 32) flush();
      else if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
      return { done };
    },
    close() {
      clearInterval(watchdog);
      for (const slot of slots) slot.worker.terminate();
    },
  };
}

/** How long a worker may take to answer a batch of small copies before it is replaced. */
const STUCK_MS = 30_000;
