/**
 * The end of a cycle's walk: waits for the copies still running, and gives them up soon
 * after a stop; needs --allow-write on the replica (to remove their temporary files).
 *
 * @module
 */
import type { WalkContext } from "./context.ts";

/**
 * How long a stopped cycle waits for copies under way before it gives them up.
 * `Deno.copyFile` cannot be cancelled, and a multi-gigabyte copy would outlast
 * a container's stop grace period (10 s by default).
 */
const ABANDON_MS = 2000;

/**
 * Waits for the copies and directory fix-ups still running. Once the cycle's
 * signal has aborted, waits at most {@linkcode ABANDON_MS}, then reports each
 * copy still under way as abandoned, removes their temporary files (their
 * data goes to an unlinked file that vanishes when the process exits) and
 * returns.
 */
export async function finish(ctx: WalkContext): Promise<void> {
  const idle = (async () => {
    await ctx.pool.idle();
    while (ctx.pending.size > 0) await Promise.all([...ctx.pending]);
    return false;
  })();
  const signal = ctx.signal;
  if (!signal) {
    await idle;
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const abandoned = new Promise<boolean>((resolve) => {
    onAbort = () => (timer = setTimeout(() => resolve(true), ABANDON_MS));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const gaveUp = await Promise.race([idle, abandoned]);
  clearTimeout(timer);
  signal.removeEventListener("abort", onAbort!);
  if (!gaveUp) return;
  for (const rel of ctx.copying) {
    ctx.emit({
      action: "error",
      path: rel,
      kind: "file",
      detail: "copy abandoned: the run was stopped before it finished",
      hint: "it is copied next run",
    });
  }
  // Never by path alone: a replica folder swapped for a link since would lead outside.
  for (const tmp of ctx.inflight) ctx.fs.discardTemp(ctx.replica, tmp);
}
