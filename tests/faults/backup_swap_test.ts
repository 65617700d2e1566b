/**
 * `--backup_dir` under a racer: while foldersync overwrites (or removes) the files of a replica folder
 * (keeping each old version in the backup folder), a replica writer swaps that folder for a
 * symlink to a folder outside the replica holding files of the same names, and back. The
 * old version is kept from the folder foldersync holds, never through the link: no file
 * outside is ever linked or copied into the backup folder.
 */
import { equal, ok } from "node:assert/strict";
import { DENO, put, runCli, sh } from "../helpers.ts";
import { tempRoot } from "./helpers.ts";

const T = 1_600_000_000;
const FILES = 1500;
const RACER = new URL("./folder_swap_racer.ts", import.meta.url).pathname;
const NATIVE = { perms: ["--allow-read", "--allow-write", "--allow-ffi"], portable: true };

/** The files under `root` (recursively) whose content starts with `prefix`. */
function holding(root: string, prefix: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(root)) {
    const path = `${root}/${e.name}`;
    if (e.isDirectory) found.push(...holding(path, prefix));
    else if (e.isFile && Deno.readTextFileSync(path).startsWith(prefix)) found.push(path);
  }
  return found;
}

const CASES = [
  ["overwritten", "same filesystem"],
  ["overwritten", "another filesystem"],
  ["removed", "same filesystem"],
  ["removed", "another filesystem"],
] as const;

for (const [op, where] of CASES) {
  Deno.test({
    name: `native engine, --backup_dir on ${where}, files ${op}: a replica folder swapped for a ` +
      "link never makes a file outside go into the backup folder",
    ignore: Deno.uid() !== 0 || Deno.build.os !== "linux",
    async fn() {
      const { dir, cleanup } = await tempRoot("backup-swap");
      try {
        const bk = `${dir}/bk`;
        Deno.mkdirSync(bk);
        if (where === "another filesystem") await sh(["mount", "-t", "tmpfs", "tmpfs", bk]);
        const outside = `${dir}/outside`;
        for (let f = 0; f < FILES; f++) put(outside, `f${f}.txt`, `OUTSIDE ${f}`, T);
        const src = `${dir}/source`;
        if (op === "removed") put(src, "a/kept.txt", "kept", T);
        else for (let f = 0; f < FILES; f++) put(src, `a/f${f}.txt`, `new ${f}`, T + 100);
        for (let round = 0; round < 4; round++) {
          const rep = `${dir}/replica${round}`;
          for (let f = 0; f < FILES; f++) put(rep, `a/f${f}.txt`, `old ${f}`, T);
          const backups = `${bk}/backups${round}`;
          Deno.mkdirSync(backups);
          const racer = new Deno.Command(DENO, {
            args: ["run", "-A", RACER, `${rep}/a`, outside, backups, "60"],
            stdout: "piped",
            stderr: "inherit",
          }).spawn();
          const lines = racer.stdout.pipeThrough(new TextDecoderStream()).getReader();
          await lines.read(); // "racing"
          const args = ["--source_path", src, "--replica_path", rep, "--backup_dir", backups];
          const result = await runCli([...args, "--once", "--engine", "native"], NATIVE);
          Deno.writeTextFileSync(`${backups}.stop`, "");
          const swaps = (await lines.read()).value?.trim();
          await racer.status;
          ok(!/stopped by an unexpected error/.test(result.text), result.text);
          const found = holding(backups, "OUTSIDE");
          console.log(
            `round ${round}: racer ${swaps}, ${found.length} outside files in the backups`,
          );
          equal(found.join("\n"), "", `round ${round}: outside files in the backups`);
          // Not a vacuous pass: the old versions were kept, as many as were replaced.
          const kept = holding(backups, "old").length;
          equal(
            kept,
            FILES - holding(`${rep}/a`, "old").length,
            `round ${round}: old versions kept`,
          );
          ok(kept > 0, `round ${round}: nothing was replaced`);
          for (let f = 0; f < FILES; f++) {
            const info = Deno.lstatSync(`${outside}/f${f}.txt`);
            equal(info.nlink, 1, `round ${round}: outside/f${f}.txt was linked`);
            equal(Deno.readTextFileSync(`${outside}/f${f}.txt`), `OUTSIDE ${f}`);
          }
        }
      } finally {
        await cleanup();
      }
    },
  });
}
