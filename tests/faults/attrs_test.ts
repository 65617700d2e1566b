/**
 * Attributes of replica files that are already there (mode and, as root,
 * owner): mirrored by the first run of a process, never granted to content
 * the source did not have, and never changed on a file outside the replica
 * through a hard link.
 */
import { equal, ok } from "node:assert/strict";
import { assertMirror, put, runCli, sh, spawnCli } from "../helpers.ts";
import { NOBODY, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;
const isRoot = Deno.uid() === 0;

function owner(path: string): string {
  const info = Deno.lstatSync(path);
  return `${info.uid}:${info.gid}`;
}

function mode(path: string): number {
  return Deno.lstatSync(path).mode! & 0o7777;
}

Deno.test({
  name: "as root, a --once run mirrors the owners of replica entries that are already there",
  ignore: !isRoot,
  async fn() {
    const { dir, cleanup } = await tempRoot("attrs-owners");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "a.txt", "a", T);
      put(src, "d/b.txt", "b", T);
      Deno.utimeSync(`${src}/d`, T, T);
      await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, src]);
      await sh(["cp", "-a", src, rep]);
      await sh(["chown", "-R", "0:0", rep]); // a restore that lost the owners
      for (let run = 0; run < 2; run++) {
        const result = await runCli(["--source_path", src, "--replica_path", rep, "--once"]);
        equal(result.code, 0, result.text);
      }
      for (const path of ["a.txt", "d", "d/b.txt"]) {
        equal(owner(`${rep}/${path}`), owner(`${src}/${path}`), path);
      }
      assertMirror(src, rep);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "as root, set-uid is never granted to replica content someone else wrote: it is copied afresh",
  ignore: !isRoot,
  async fn() {
    const { dir, cleanup } = await tempRoot("attrs-setuid");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "new.txt", "copied first, so that owners are known to be kept", T);
      await sh(["chown", `${NOBODY}:${NOBODY}`, `${src}/new.txt`]);
      put(src, "tool", "#!/bin/sh\necho real\n", T);
      Deno.chmodSync(`${src}/tool`, 0o4755); // root's, set-uid
      put(src, "shared", "#!/bin/sh\necho ok\n", T);
      Deno.chmodSync(`${src}/shared`, 0o755);
      // A replica writer's stand-ins: same size and mtime, other content.
      put(rep, "tool", "#!/bin/sh\necho evil\n", T);
      await sh(["chown", `${NOBODY}:${NOBODY}`, `${rep}/tool`]);
      Deno.chmodSync(`${rep}/tool`, 0o755);
      put(rep, "shared", "#!/bin/sh\necho ko\n", T);
      Deno.chmodSync(`${rep}/shared`, 0o666); // root's, but anyone could write it
      const live = await spawnCli([
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--sync_interval",
        "0.2",
        "--log_level", // Quiet cycles log their summaries at debug.
        "debug",
      ]);
      let first = 0;
      try {
        first = await live.waitForLine(/cycle 2 done/);
        // The source's mode changes: set-uid added to the root-owned file.
        Deno.chmodSync(`${src}/shared`, 0o4755);
        await live.waitForLine(/cycle 5 done/, first + 1);
      } finally {
        live.kill("SIGTERM");
        await live.status;
      }
      for (const name of ["tool", "shared"]) {
        const path = `${rep}/${name}`;
        if ((mode(path) & 0o6000) !== 0) {
          equal(
            Deno.readTextFileSync(path),
            Deno.readTextFileSync(`${src}/${name}`),
            `${name} is set-uid (owner ${owner(path)}) with content the source does not have`,
          );
        }
      }
    } finally {
      await cleanup();
    }
  },
});

for (const asNobody of [false, true]) {
  for (const checksum of [false, true]) {
    const who = asNobody ? "uid 65534" : "root";
    Deno.test({
      name: `as ${who}${
        checksum ? ", --checksum" : ""
      }: a mode change never reaches a file outside through a hard link`,
      ignore: asNobody && !isRoot,
      async fn() {
        const { dir, cleanup } = await tempRoot("attrs-hardlink");
        try {
          const src = `${dir}/source`;
          const rep = `${dir}/replica`;
          const outside = `${dir}/snapshot`; // say, a `cp -al` snapshot of the replica
          put(src, "run.sh", "#!/bin/sh\n", T);
          put(outside, "run.sh", "#!/bin/sh\n", T);
          Deno.chmodSync(`${src}/run.sh`, 0o755);
          Deno.chmodSync(`${outside}/run.sh`, 0o600);
          Deno.mkdirSync(rep);
          Deno.linkSync(`${outside}/run.sh`, `${rep}/run.sh`);
          if (asNobody) await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, dir]);
          const args = ["--source_path", src, "--replica_path", rep, "--once"];
          if (checksum) args.push("--checksum");
          const result = await runCli(args, { asNobody });
          equal(result.code, 0, result.text);
          equal(mode(`${outside}/run.sh`), 0o600, "the file outside was chmodded");
          assertMirror(src, rep);
          ok(Deno.lstatSync(`${rep}/run.sh`).ino !== Deno.lstatSync(`${outside}/run.sh`).ino);
        } finally {
          await cleanup();
        }
      },
    });
  }
}
