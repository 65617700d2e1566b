/**
 * `--watch` when the kernel's inotify queue overflows. Deno drops the
 * overflow notice, so foldersync infers it; here from events that queued
 * while the process was stopped. Needs root: the queue length is the global
 * sysctl fs.inotify.max_queued_events, lowered to 64 only while the CLI makes
 * its watcher (the kernel reads it then) and restored right after, whatever
 * happens. Stopping the CLI (SIGSTOP) makes the overflow certain on any
 * machine, however busy.
 */
import { equal, match } from "node:assert/strict";
import { type LiveCli, put, sh, spawnCli, waitFor } from "../helpers.ts";
import { tempRoot } from "./helpers.ts";

const FILES = 400;

async function queueLength(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return undefined;
  const { code, out } = await sh(["sysctl", "-n", "fs.inotify.max_queued_events"], true);
  return code === 0 ? out.trim() : undefined;
}

function count(root: string): number {
  let n = 0;
  for (let i = 0; i < FILES; i++) {
    try {
      if (Deno.readTextFileSync(`${root}/d${i}/f`) === `burst ${i}\n`) n++;
    } catch {
      // Not there yet.
    }
  }
  return n;
}

Deno.test({
  name:
    "--watch: 400 files written while stopped, into a 64-event queue, come by a whole-tree sync",
  ignore: (await queueLength()) === undefined,
  async fn() {
    const { dir, cleanup } = await tempRoot("overflow");
    let cli: LiveCli | undefined;
    let stopped = false;
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "seed.txt", "seed");
      // Folders that exist already: their parent's sync does not go into them, so each
      // new file is found only through its own events, or by a whole-tree sync.
      for (let i = 0; i < FILES; i++) Deno.mkdirSync(`${src}/d${i}`);
      const saved = (await queueLength())!;
      try {
        await sh(["sysctl", "-qw", "fs.inotify.max_queued_events=64"]);
        cli = await spawnCli([
          "--source_path",
          src,
          "--replica_path",
          rep,
          "--sync_interval",
          "1h", // The periodic cycle never comes back during the test.
          "--watch",
        ]);
        // The watcher (and its inotify queue) is made before the first cycle.
        await cli.waitForLine(/cycle 1 done/);
      } finally {
        await sh(["sysctl", "-qw", `fs.inotify.max_queued_events=${saved}`]);
      }
      const afterFirst = cli.lines.length;
      const start = performance.now();
      cli.kill("SIGSTOP");
      stopped = true;
      for (let i = 0; i < FILES; i++) Deno.writeTextFileSync(`${src}/d${i}/f`, `burst ${i}\n`);
      // Stopped for longer than foldersync's stall threshold (2 s): a duration, nothing to poll.
      await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (performance.now() - start))));
      cli.kill("SIGCONT");
      stopped = false;
      await waitFor(() => count(rep) === FILES, 60_000, `all ${FILES} files in the replica`);
      // Copied by a whole-tree cycle (its summary has no "(watch: N dirs)").
      await cli.waitForLine(/cycle \d+ done in [\d.]+ s: .* scanned$/, afterFirst);
      match(
        cli.lines.join("\n"),
        /WARN {2}watch: events may have been lost: foldersync was held up for [\d.]+ s \(stopped, or short of CPU\) while changes queued: syncing the whole tree/,
      );
      cli.kill();
      equal((await cli.status).code, 0);
    } finally {
      if (stopped) cli?.kill("SIGCONT");
      cli?.kill();
      await cli?.status;
      await cleanup();
    }
  },
});
