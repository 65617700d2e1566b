/**
 * A replica writer for backup_swap_test.ts: once the backup folder `backups` holds
 * `<stamp>/<name of dir>` (foldersync is backing up what it replaces in `dir`), swaps the replica folder `dir` for a symlink to `target` and
 * back, over and over, until `<backups>.stop` exists or `seconds` passed; then prints how many
 * swaps it made (and leaves the folder in place).
 *
 * deno run --allow-read --allow-write folder_swap_racer.ts DIR TARGET BACKUPS SECONDS
 */
const [dir, target, backups, seconds] = [
  Deno.args[0],
  Deno.args[1],
  Deno.args[2],
  Number(Deno.args[3]),
];
const aside = `${dir}.aside`;
const end = Date.now() + seconds * 1000;
console.log("racing");
while (Date.now() < end) {
  try {
    const name = dir.slice(dir.lastIndexOf("/") + 1);
    if ([...Deno.readDirSync(backups)].some((e) => exists(`${backups}/${e.name}/${name}`))) break;
  } catch {
    // Not made yet.
  }
}
let swaps = 0;
while (Date.now() < end && !exists(`${backups}.stop`)) {
  for (let i = 0; i < 100; i++) {
    try {
      Deno.renameSync(dir, aside);
    } catch {
      continue;
    }
    try {
      Deno.symlinkSync(target, dir);
      for (let j = 0; j < 3; j++) Deno.lstatSync(dir); // Stay swapped a little while.
      Deno.removeSync(dir);
    } catch {
      // Taken by foldersync meanwhile.
    }
    try {
      Deno.renameSync(aside, dir);
    } catch {
      // A folder made in its place meanwhile.
    }
    swaps++;
  }
}
console.log(`swaps ${swaps}`);

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
