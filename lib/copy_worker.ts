/**
 * Worker side of the copier: runs batches of small-file copies with sync
 * calls on its own thread and answers each batch with one message.
 *
 * Started by `copier.ts`; not meant to be imported elsewhere.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { copyFileAtomicSync } from "./copy_file_atomic.ts";
import type { CopyJob, CopyReply } from "./copier.ts";
import { toErrorInfo } from "./errors.ts";

self.onmessage = (event: MessageEvent<CopyJob[]>) => {
  const replies: CopyReply[] = [];
  for (const job of event.data) {
    try {
      copyFileAtomicSync(job.src, job.dst, job.entry);
      replies.push({ id: job.id });
    } catch (error) {
      replies.push({ id: job.id, error: toErrorInfo(error) });
    }
  }
  self.postMessage(replies);
};
