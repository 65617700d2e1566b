/**
 * Worker side of the copier: runs batches of small-file copies with sync
 * calls on its own thread and answers each batch with one message.
 *
 * Started by `copier.ts`; not meant to be imported elsewhere.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { copyFileAtomicSync } from "../engine/copy_file_atomic.ts";
import type { CopyReply, WorkerJob } from "./copier.ts";
import { toErrorInfo } from "../engine/errors.ts";
import { chownLearned } from "../engine/owner.ts";

self.onmessage = (event: MessageEvent<WorkerJob[]>) => {
  const replies: CopyReply[] = [];
  for (const { id, job } of event.data) {
    try {
      copyFileAtomicSync(job, false); // A worker never changes the process's directory.
      replies.push({ id, chown: chownLearned() });
    } catch (error) {
      replies.push({ id, error: toErrorInfo(error) });
    }
  }
  self.postMessage(replies);
};
