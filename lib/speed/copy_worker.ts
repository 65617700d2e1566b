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
import { Owners } from "../engine/owner.ts";

/** What this worker learns about chown, reported back with each copy. */
const owners = new Owners();

self.onmessage = (event: MessageEvent<WorkerJob[]>) => {
  const replies: CopyReply[] = [];
  for (const { id, job } of event.data) {
    try {
      copyFileAtomicSync(job, owners, false); // A worker never changes the process's directory.
      replies.push({ id, chown: owners.learned() });
    } catch (error) {
      replies.push({ id, error: toErrorInfo(error) });
    }
  }
  self.postMessage(replies);
};
