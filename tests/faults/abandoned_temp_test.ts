/**
 * A run stopped during a long copy gives the copy up after its grace period and removes the
 * copy's temporary file. That removal never follows a link: a replica writer who swaps the
 * folder for a link to a folder outside, with a file of the temporary file's name there, must
 * find that file untouched. The native engine (a sparse file of 100,000 data runs, copied run by
 * run, outlasts the 2 s grace); the portable engine copies such a file in one call.
 */
import { equal, ok } from "node:assert/strict";
import { isTempName, readOr, spawnCli, testEngine, waitFor } from "../helpers.ts";
import { tempRoot } from "./helpers.ts";

/** A file of 100,000 one-byte data runs 64 KiB apart (6.5 GB apparent, ~400 MB of blocks). */
function sparse(path: string): void {
  using file = Deno.openSync(path, { write: true, create: true });
  const byte = new Uint8Array([120]);
  for (let i = 0; i < 100_000; i++) {
    file.seekSync(i * 65536, Deno.SeekMode.Start);
    file.writeSync(byte);
  }
  file.truncateSync(100_000 * 65536);
}

/** The temporary file that appears in `dir`, by name. */
async function tempIn(dir: string): Promise<string> {
  let name = "";
  await waitFor(
    () => {
      name = [...Deno.readDirSync(dir)].find((e) => isTempName(e.name))?.name ?? "";
      return name !== "";
    },
    30_000,
    `a temporary file in ${dir}`,
  );
  return name;
}

Deno.test({
  name: "a stopped run removes an abandoned copy's temporary file, never through a link to outside",
  ignore: testEngine() !== "native",
  async fn() {
    const { dir, cleanup } = await tempRoot("abandoned");
    try {
      const src = `${dir}/source`;
      Deno.mkdirSync(`${src}/d`, { recursive: true });
      sparse(`${src}/d/big.bin`);
      for (const swap of [false, true]) {
        const rep = `${dir}/replica-${swap}`;
        const outside = `${dir}/outside-${swap}`;
        Deno.mkdirSync(rep);
        Deno.mkdirSync(outside);
        const args = ["--source_path", src, "--replica_path", rep, "--once"];
        const cli = await spawnCli([...args, "--log_file", `${dir}/log-${swap}`]);
        const tmp = await tempIn(`${rep}/d`);
        if (swap) {
          // The replica writer: the folder moved away, a link to outside in its place, and a
          // file of the temporary file's name there.
          Deno.renameSync(`${rep}/d`, `${rep}/d.moved`);
          Deno.symlinkSync(outside, `${rep}/d`);
          Deno.writeTextFileSync(`${outside}/${tmp}`, "not foldersync's");
        }
        cli.kill("SIGTERM");
        const { code } = await cli.status;
        const text = cli.lines.join("\n");
        equal(code, 1, text); // the abandoned copy is an error of the cycle
        ok(/copy abandoned/.test(text), text);
        if (swap) equal(readOr(`${outside}/${tmp}`), "not foldersync's", "the file outside");
        else ok(![...Deno.readDirSync(`${rep}/d`)].some((e) => isTempName(e.name)), "temp removed");
      }
    } finally {
      await cleanup();
    }
  },
});
