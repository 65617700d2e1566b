/**
 * A replica writer swaps each temporary file for a symlink to a file outside
 * the moment it appears. foldersync sets owner, mode and mtime through a
 * handle checked to be its temporary file (the portable engine: `fstat` of
 * what Deno opened; the native one: the file it created), so the file outside
 * is never given away, chmodded or utimed. The canary must never change. The same for a hard
 * link to it renamed over a new symlink's temporary name (native engine: the link's own times).
 */
import { equal, ok } from "node:assert/strict";
import { assertSameSnapshot, DENO, put, runCli, sh, snapshot, testEngine } from "../helpers.ts";
import { NOBODY, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;
const RACER = new URL("./swap_racer.ts", import.meta.url).pathname;
const LINK_RACER = new URL("./link_swap_racer.ts", import.meta.url).pathname;

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

Deno.test({
  name: "native: a new link's temporary name taken by a hard link to a file outside: that file's " +
    "times never change",
  ignore: Deno.uid() !== 0 || testEngine() !== "native",
  async fn() {
    const { dir, cleanup } = await tempRoot("race-linkswap");
    try {
      const canary = `${dir}/canary.txt`;
      put(dir, "canary.txt", "canary", T + 1);
      const before = snapshot(canary);
      const src = `${dir}/source`;
      Deno.mkdirSync(src);
      const links = Array.from({ length: 300 }, (_, f) => `${src}/l${f}`);
      for (const link of links) Deno.symlinkSync("target", link);
      await sh(["touch", "-h", "-d", `@${T}`, ...links]);
      let swapped = 0;
      for (let round = 0; round < 3; round++) {
        const rep = `${dir}/replica${round}`;
        const stage = `${dir}/stage${round}`;
        Deno.mkdirSync(rep);
        Deno.mkdirSync(stage);
        const racer = new Deno.Command(DENO, {
          args: [
            "run",
            "--allow-read",
            "--allow-write",
            "--allow-ffi",
            LINK_RACER,
            rep,
            canary,
            stage,
          ],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const said = racer.stdout.pipeThrough(new TextDecoderStream()).getReader();
        await said.read(); // "watching"
        const result = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
        racer.kill("SIGKILL");
        await racer.status;
        for (let r; !(r = await said.read()).done;) swapped += r.value.split("swapped").length - 1;
        ok(!/stopped by an unexpected error/.test(result.text), result.text);
        assertSameSnapshot(before, snapshot(canary), `canary (round ${round})`);
      }
      ok(swapped > 0, "the racer took some temporary names");
    } finally {
      await cleanup();
    }
  },
});
