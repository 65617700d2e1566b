/**
 * Worker side of the source prefetch: walks the source tree depth first, in
 * the same order as the sync's march, and posts each directory's listing,
 * never running more than a window of entries ahead of the consumer.
 *
 * Started by `prefetch.ts`; not meant to be imported elsewhere.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { listDir } from "../engine/list_dir.ts";
import { makeExcludeMatcher } from "../engine/exclude.ts";
import { toErrorInfo } from "../engine/errors.ts";
import { packEntries, type ScanReply, type ScanRequest } from "./prefetch.ts";

// Each worker has its own copy of this module: this is one worker's state, not the process's.
let current = 0;
let credit = 0;
let wake: (() => void) | undefined;

async function walk(request: Extract<ScanRequest, { type: "start" }>): Promise<void> {
  const id = request.id;
  const excluded = makeExcludeMatcher(request.exclude);
  const stack: string[] = [request.start];
  // Replies go out in batches: each message costs the main thread far more
  // than a listing does. The batch grows from 1 so the first listing is quick.
  let batch: ScanReply[] = [];
  let transfer: ArrayBuffer[] = [];
  let batchEntries = 0;
  let limit = 1;
  const flush = () => {
    if (batch.length === 0) return;
    self.postMessage(batch, transfer);
    batch = [];
    transfer = [];
    batchEntries = 0;
    limit = Math.min(limit * 2, 64);
  };
  while (stack.length > 0) {
    if (credit <= 0) flush();
    while (credit <= 0 && current === id) await new Promise<void>((r) => (wake = r));
    if (current !== id) return;
    const rel = stack.pop()!;
    const path = rel === "" ? request.root : `${request.root}/${rel}`;
    try {
      const listing = listDir(path);
      const problems = listing.problems.map((p) => ({
        name: p.name,
        message: p.message,
        error: p.error === undefined ? undefined : toErrorInfo(p.error),
      }));
      const entries = packEntries(listing.entries);
      batch.push({ id, rel, entries, problems });
      transfer.push(entries.numbers.buffer as ArrayBuffer);
      batchEntries += listing.entries.length;
      const prefix = rel === "" ? "" : rel + "/";
      for (let i = listing.entries.length - 1; i >= 0; i--) {
        const entry = listing.entries[i];
        if (entry.kind !== "dir" || excluded(prefix + entry.name, true)) continue;
        if (request.dev === undefined || entry.dev === request.dev) stack.push(prefix + entry.name);
      }
      credit -= listing.entries.length;
    } catch (error) {
      batch.push({ id, rel, error: toErrorInfo(error) });
    }
    credit--;
    if (batch.length >= limit || batchEntries >= 4096) flush();
  }
  batch.push({ id, done: true });
  flush();
}

self.onmessage = (event: MessageEvent<ScanRequest>) => {
  const request = event.data;
  if (request.type === "start") {
    current = request.id;
    credit = request.window;
    wake?.();
    walk(request);
  } else if (request.type === "credit" && request.id === current) {
    credit += request.count;
    wake?.();
  } else if (request.type === "stop" && request.id === current) {
    current = 0;
    wake?.();
  }
};
