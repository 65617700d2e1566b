/**
 * KNOWN ISSUE, fails today: a replica folder that is a source folder
 * reached through a bind mount (not a root nor one of their ancestors, which
 * are refused) is mirrored into like any other, so the source is written:
 * files of the source folder are removed and others copied in. Expected: the
 * folder is refused as a bind mount is, and the source never changes.
 */
import { ok } from "node:assert/strict";
import { assertSameSnapshot, put, runCli, sh, snapshot } from "../helpers.ts";
import { canMount, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;

Deno.test({
  name:
    "known limit: a replica folder that is a source folder (bind mount) is refused, the source never changes",
  // A known limit (README, safety rules), kept out of the suite: FOLDERSYNC_KNOWN_LIMITS=1 runs it.
  ignore: !(await canMount()) || Deno.env.get("FOLDERSYNC_KNOWN_LIMITS") !== "1",
  async fn() {
    const { dir, cleanup } = await tempRoot("bind-alias");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "x/a.txt", "a", T);
      put(src, "y/precious.txt", "only here", T);
      const first = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
      ok(first.code === 0, first.text);
      await sh(["mount", "--bind", `${src}/y`, `${rep}/x`]);
      try {
        const before = snapshot(src);
        const result = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
        assertSameSnapshot(before, snapshot(src), `source (run said:\n${result.text}\n)`);
      } finally {
        await sh(["umount", `${rep}/x`], true);
      }
    } finally {
      await cleanup();
    }
  },
});
