/**
 * A replica writer swaps each temporary file for a symlink to a file outside
 * the moment it appears. foldersync sets owner, mode and mtime through a
 * handle checked to be its temporary file (the portable engine: `fstat` of
 * what Deno opened; the native one: the file it created), so the file outside
 * is never given away, chmodded or utimed. The canary must never change.
 */
import { equal, ok } from "node:assert/strict";
import { assertSameSnapshot, DENO, put, runCli, sh, snapshot } from "../helpers.ts";
import { NOBODY, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;
const RACER = new URL("./swap_racer.ts", import.meta.url).pathname;

Deno.test({
  name: "a temporary file swapped for a link is never chowned, chmodded or utimed through",
  ignore: Deno.uid() !== 0,
  async fn() {
    const { dir, cleanup } = await tempRoot("race-tmpswap");
    try {
      const canary = `${dir}/canary.txt`;
      put(dir, "canary.txt", "canary", T + 1);
      Deno.chmodSync(canary, 0o600);
      const before = snapshot(canary);
      const src = `${dir}/source`;
      for (let f = 0; f < 1500; f++) put(src, `f${f}.txt`, `source ${f}`, T);
      await sh(["chmod", "0640", ...[...Deno.readDirSync(src)].map((e) => `${src}/${e.name}`)]);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      for (let round = 0; round < 4; round++) {
        const rep = `${dir}/replica${round}`;
        Deno.mkdirSync(rep);
        const racer = new Deno.Command(DENO, {
          args: ["run", "--allow-read", "--allow-write", RACER, rep, canary, "60"],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const lines = racer.stdout.pipeThrough(new TextDecoderStream()).getReader();
        await lines.read(); // "watching"
        const result = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
        racer.kill("SIGTERM");
        await racer.status;
        ok(!/stopped by an unexpected error/.test(result.text), result.text);
        const info = Deno.lstatSync(canary);
        equal(`${info.uid}:${info.gid}`, "0:0", `canary's owner (round ${round})`);
        assertSameSnapshot(before, snapshot(canary), `canary (round ${round})`);
      }
    } finally {
      await cleanup();
    }
  },
});
