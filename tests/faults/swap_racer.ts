/**
 * A replica writer for temp_swap_test.ts: watches one replica directory
 * (inotify, through `Deno.watchFs`) and, the moment one of foldersync's
 * temporary files appears, moves it aside and puts a symlink to `target` in
 * its place. Runs for `seconds`, then prints how many it swapped.
 *
 * deno run --allow-read --allow-write swap_racer.ts DIR TARGET SECONDS
 */
const [dir, target, seconds] = [Deno.args[0], Deno.args[1], Number(Deno.args[2])];
const TEMP = /\/\.foldersync-tmp-[0-9a-f]{16}$/;
let swaps = 0;
const watcher = Deno.watchFs(dir, { recursive: false });
const stop = setTimeout(() => watcher.close(), seconds * 1000);
console.log("watching");
for await (const event of watcher) {
  if (event.kind !== "create") continue;
  for (const path of event.paths) {
    if (!TEMP.test(path)) continue;
    try {
      Deno.renameSync(path, `${path}.moved`);
      Deno.symlinkSync(target, path);
      swaps++;
    } catch {
      // Renamed into place or removed already.
    }
  }
}
clearTimeout(stop);
console.log(`swaps ${swaps}`);
