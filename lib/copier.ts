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
import type { Entry } from "./types.ts";
import { type ErrorInfo, reviveError } from "./errors.ts";

/** One copy for a worker. */
export interface CopyJob {
  /** Matches the reply to the job. */
  id: number;
  /** Source path. */
  src: string;
  /** Replica path. */
  dst: string;
  /** The source file as scanned. */
  entry: Entry;
}

/** A worker's answer for one job. */
export interface CopyReply {
  /** The job's id. */
  id: number;
  /** Set when the copy failed. */
  error?: ErrorInfo;
}

/** Copies files on workers. */
export interface Copier {
  /** True once a worker failed: copy on the calling thread from then on. */
  readonly broken: boolean;
  /** Queues a copy once there is room; `done` rejects with the copy's error. */
  submit(src: string, dst: string, entry: Entry): Promise<{ done: Promise<void> }>;
  /** Stops the workers. */
  close(): void;
}

const WORKER_URL = new URL("./copy_worker.ts", import.meta.url);
const LIB_URL = new URL("./", import.meta.url);

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
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < threads; i++) {
      workers.push(new Worker(WORKER_URL.href, { type: "module" }));
    }
  } catch {
    for (const w of workers) w.terminate();
    return undefined;
  }
  let broken = false;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let inFlight = 0;
  let room: (() => void)[] = [];
  let batch: CopyJob[] = [];
  let flushQueued = false;
  let turn = 0;
  const flush = () => {
    flushQueued = false;
    if (batch.length === 0) return;
    workers[turn++ % workers.length].postMessage(batch);
    batch = [];
  };
  for (const worker of workers) {
    worker.onmessage = (event: MessageEvent<CopyReply[]>) => {
      for (const reply of event.data) {
        const w = waiting.get(reply.id);
        waiting.delete(reply.id);
        inFlight--;
        if (reply.error) w?.reject(reviveError(reply.error));
        else w?.resolve();
      }
      const ready = room;
      room = [];
      for (const r of ready) r();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      broken = true;
      for (const w of waiting.values()) w.reject(new Error(`copy worker failed: ${event.message}`));
      waiting.clear();
      inFlight = 0;
      for (const r of room.splice(0)) r();
    };
  }
  return {
    get broken() {
      return broken;
    },
    async submit(src, dst, entry) {
      while (inFlight >= maxInFlight) await new Promise<void>((r) => room.push(r));
      inFlight++;
      const id = nextId++;
      const done = new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject }));
      batch.push({ id, src, dst, entry });
      if (batch.length >= 32) flush();
      else if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
      return { done };
    },
    close() {
      for (const w of workers) w.terminate();
    },
  };
}

let shared: Copier | undefined | null = null;

/**
 * The process's copier (two worker threads), started on first use and kept
 * for later cycles; undefined when workers cannot be started or one failed.
 *
 * @example Usage
 * ```ts
 * import { sharedCopier, stopSharedCopier } from "./copier.ts";
 * sharedCopier();
 * stopSharedCopier();
 * ```
 *
 * @returns The copier, or undefined.
 */
export function sharedCopier(): Copier | undefined {
  if (shared === null) shared = startCopier(2);
  return shared?.broken ? undefined : shared;
}

/**
 * Stops the process's copier, if one was started.
 *
 * @example Usage
 * ```ts
 * import { stopSharedCopier } from "./copier.ts";
 * stopSharedCopier();
 * ```
 */
export function stopSharedCopier(): void {
  shared?.close();
  shared = null;
}
