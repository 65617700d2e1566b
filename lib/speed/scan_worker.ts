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
import { type DirListing, listDir } from "../engine/list_dir.ts";
import type { Entry } from "../engine/types.ts";
import { makeExcludeMatcher } from "../engine/exclude.ts";
import { toErrorInfo } from "../engine/errors.ts";
import { packEntries, type ScanReply, type ScanRequest } from "./prefetch.ts";

// Each worker has its own copy of this module: this is one worker's state, not the process's.
let current = 0;
let credit = 0;
let wake: (() => void) | undefined;

/** Lists a folder below the root, and says which folder it listed (native). */
interface Lister {
  list(rel: string, path: string, seen?: Entry): { listing: DirListing; dir?: [number, number] };
  close(): void;
}

const byPath: Lister = { list: (_rel, path) => ({ listing: listDir(path) }), close() {} };

/**
 * The native engine's listing: each folder opened by handle from the root down and checked to
 * be the one this walk saw in its parent's listing. Loaded only when asked for (it needs FFI).
 */
async function byHandle(root: string): Promise<Lister> {
  const { NativeFileSystem } = await import("../engine/fs/native/native_fs.ts");
  const fs = new NativeFileSystem({ source: root, replica: root });
  const rootSeen = fs.rootEntry("source");
  return {
    list(rel, path, seen) {
      const dirSeen = rel === "" ? rootSeen : seen;
      if (dirSeen === undefined) throw new Deno.errors.NotFound(`${path}: not found`);
      const listing = fs.list({ side: "source", rel, abs: path, seen: dirSeen, root: rel === "" });
      return { listing, dir: [dirSeen.dev, dirSeen.ino] };
    },
    close: () => fs.close(),
  };
}

async function walk(request: Extract<ScanRequest, { type: "start" }>): Promise<void> {
  const lister = request.native ? await byHandle(request.root) : byPath;
  try {
    await walkWith(request, lister);
  } finally {
    lister.close();
  }
}

async function walkWith(
  request: Extract<ScanRequest, { type: "start" }>,
  lister: Lister,
): Promise<void> {
  const id = request.id;
  const excluded = makeExcludeMatcher(request.exclude);
  const stack: [string, Entry | undefined][] = request.starts.toReversed();
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
    const [rel, seen] = stack.pop()!;
    const path = rel === "" ? request.root : `${request.root}/${rel}`;
    try {
      const { listing, dir } = lister.list(rel, path, seen);
      const problems = listing.problems.map((p) => ({
        name: p.name,
        message: p.message,
        error: p.error === undefined ? undefined : toErrorInfo(p.error),
      }));
      const entries = packEntries(listing.entries);
      batch.push({ id, rel, entries, problems, dir });
      transfer.push(entries.numbers.buffer as ArrayBuffer);
      if (entries.times) transfer.push(entries.times.buffer as ArrayBuffer);
      batchEntries += listing.entries.length;
      const prefix = rel === "" ? "" : rel + "/";
      for (let i = listing.entries.length - 1; i >= 0; i--) {
        const entry = listing.entries[i];
        if (entry.kind !== "dir" || excluded(prefix + entry.name, true)) continue;
        if (request.dev === undefined || entry.dev === request.dev) {
          stack.push([prefix + entry.name, entry]);
        }
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
