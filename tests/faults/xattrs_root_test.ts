/**
 * `--xattrs` as root and as uid 65534 (the native engine, the CLI as a subprocess): root mirrors
 * `trusted.*` too; anyone else mirrors `user.*` and skips `trusted.*` without a word, as rsync does.
 * The attributes are set and read by `deno eval --allow-ffi` (this suite runs without FFI).
 */
import { deepEqual, equal } from "node:assert/strict";
import { DENO, hasCommand, put, runCli, sh } from "../helpers.ts";
import { canDropPrivileges, NOBODY, tempRoot } from "./helpers.ts";

const HELPERS = new URL("../xattr_helpers.ts", import.meta.url).href;
const NATIVE = ["--allow-read", "--allow-write", "--allow-ffi"];
const T = 1_600_000_000;

/** Runs `code` with the test helpers' FFI in scope; returns what it prints. */
async function withFfi(code: string): Promise<string> {
  const out = await new Deno.Command(DENO, {
    args: ["eval", "--quiet", "--allow-ffi", `import * as x from "${HELPERS}"; ${code}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return text;
}

async function names(path: string): Promise<string[]> {
  return Object.keys(
    JSON.parse(await withFfi(`console.log(JSON.stringify(x.xattrsOf("${path}")))`)),
  );
}

Deno.test({
  name: "root: --xattrs mirrors trusted.* as root; uid 65534 mirrors user.* and skips it quietly",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("xattrs");
    try {
      const src = `${dir}/source`;
      put(src, "f", "data");
      await withFfi(
        `x.setXattr("${src}/f", "trusted.t", "1"); x.setXattr("${src}/f", "user.u", "2");`,
      );
      const args = (rep: string) => [
        "--source_path",
        src,
        "--replica_path",
        rep,
        "--once",
        "--engine",
        "native",
        "--xattrs",
      ];
      const asRoot = await runCli(args(`${dir}/root`), { perms: NATIVE, portable: true });
      equal(asRoot.code, 0, asRoot.text);
      deepEqual(await names(`${dir}/root/f`), ["trusted.t", "user.u"]);

      Deno.mkdirSync(`${dir}/nobody`);
      await sh(["chown", `${NOBODY}:${NOBODY}`, `${dir}/nobody`]);
      const asNobody = await runCli(args(`${dir}/nobody/rep`), {
        perms: NATIVE,
        portable: true,
        asNobody: true,
      });
      equal(asNobody.code, 0, asNobody.text);
      deepEqual(asNobody.lines.filter((l) => / (WARN|ERROR) /.test(l)), []);
      deepEqual(await names(`${dir}/nobody/rep/f`), ["user.u"]);
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "root: --xattrs never gives a file capability to a replica file someone else wrote",
  ignore: Deno.uid() !== 0 || !hasCommand("/usr/sbin/setcap", ["-h"]),
  async fn() {
    const { dir, cleanup } = await tempRoot("xattrs-cap");
    try {
      const src = `${dir}/source`;
      const rep = `${dir}/replica`;
      put(src, "tool", "AAAA", T);
      await sh(["/usr/sbin/setcap", "cap_net_raw=ep", `${src}/tool`]);
      // A replica writer's file of the same size and mtime, no capability, its own.
      put(rep, "tool", "BBBB", T);
      await sh(["chown", `${NOBODY}:${NOBODY}`, `${rep}/tool`]);
      const args = ["--source_path", src, "--replica_path", rep, "--once", "--engine", "native"];
      const run = await runCli([...args, "--xattrs"], { perms: NATIVE, portable: true });
      equal(run.code, 0, run.text);
      equal(
        Deno.readTextFileSync(`${rep}/tool`),
        "AAAA",
        "copied afresh, not given the capability",
      );
      deepEqual(await names(`${rep}/tool`), ["security.capability"]);
    } finally {
      await cleanup();
    }
  },
});
