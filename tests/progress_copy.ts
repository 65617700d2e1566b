/**
 * Drives the progress line through one real big copy, as the engine does:
 * the temporary file's path is in the watched set while `Deno.copyFile`
 * writes it, then it is renamed into place and its event is counted. Run on a
 * terminal by tests/progress_test.ts (under `script`), which reads what was
 * drawn.
 *
 * ```sh
 * deno run --allow-read --allow-write tests/progress_copy.ts SOURCE_FILE REPLICA_DIR
 * ```
 *
 * @module
 */
import { createProgressLine } from "../lib/report/progress.ts";

const [source, replica] = Deno.args;
const size = Deno.statSync(source).size;
// Drawn at once and often, so that a copy of a second or less is seen moving.
const progress = createProgressLine({ delayMs: 0, intervalMs: 20 });
const inflight = new Set<string>();
progress.start();
progress.watch(inflight);
progress.plan(1, size);
progress.scanDone(); // One file: the scan is complete.
const tmp = `${replica}/.foldersync-tmp-0123456789abcdef`;
inflight.add(tmp);
await Deno.copyFile(source, tmp);
Deno.renameSync(tmp, `${replica}/big`);
inflight.delete(tmp);
progress.event({ action: "copy", path: "big", kind: "file", bytes: size });
progress.around(() => console.log("copy big done"));
await new Promise((resolve) => setTimeout(resolve, 120)); // A redraw or two of the final state.
progress.stop();
