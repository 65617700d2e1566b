/**
 * Worker side of the source prefetch: walks the source tree depth first, in
 * the same order as the sync's march, and posts each directory's listing,
 * never running more than a window of listings ahead of the consumer.
 *
 * Started by `prefetch.ts`; not meant to be imported elsewhere.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { listDir } from "./list_dir.ts";
import { makeExcludeMatcher } from "./exclude.ts";
import type { ScanReply, ScanRequest } from "./prefetch.ts";

let current = 0;
let credit = 0;
let wake: (() => void) | undefined;

function errorInfo(error: unknown): { name: string; message: string; code?: string } {
  const e = error as { name?: string; message?: string; code?: string };
  return { name: e?.name ?? "Error", message: e?.message ?? String(error), code: e?.code };
}

async function walk(request: Extract<ScanRequest, { type: "start" }>): Promise<void> {
  const id = request.id;
  const excluded = makeExcludeMatcher(request.exclude);
  const stack: string[] = [request.start];
  while (stack.length > 0) {
    while (credit <= 0 && current === id) await new Promise<void>((r) => (wake = r));
    if (current !== id) return;
    const rel = stack.pop()!;
    const path = rel === "" ? request.root : `${request.root}/${rel}`;
    let reply: ScanReply;
    try {
      const listing = listDir(path);
      const problems = listing.problems.map((p) => ({
        name: p.name,
        message: p.message,
        error: p.error === undefined ? undefined : errorInfo(p.error),
      }));
      reply = { id, rel, entries: listing.entries, problems };
      const prefix = rel === "" ? "" : rel + "/";
      for (let i = listing.entries.length - 1; i >= 0; i--) {
        const entry = listing.entries[i];
        if (entry.kind === "dir" && !excluded(prefix + entry.name)) stack.push(prefix + entry.name);
      }
    } catch (error) {
      reply = { id, rel, error: errorInfo(error) };
    }
    credit--;
    self.postMessage(reply);
  }
  self.postMessage({ id, done: true } satisfies ScanReply);
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
