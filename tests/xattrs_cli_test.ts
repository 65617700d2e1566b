/** `--xattrs` end to end: the CLI under the native engine mirrors attributes and ACLs; the portable one refuses. */
import assert from "node:assert/strict";
import { runCli, tempDirs, treeArgs } from "./helpers.ts";
import { aclBytes, removeXattr, setXattr, xattrsOf } from "./xattr_helpers.ts";

const linux = Deno.build.os === "linux";
const NATIVE = ["--allow-read", "--allow-write", "--allow-ffi"];

Deno.test({
  name: "cli xattrs: a user.* attribute and an ACL are copied, updated with one line, removed",
  ignore: !linux,
  async fn() {
    using t = tempDirs();
    Deno.mkdirSync(`${t.src}/d`, { recursive: true });
    Deno.writeTextFileSync(`${t.src}/f`, "hello");
    setXattr(`${t.src}/f`, "user.color", "red");
    setXattr(`${t.src}/f`, "system.posix_acl_access", aclBytes(4242, 4));
    setXattr(`${t.src}/d`, "user.tag", "x");
    setXattr(`${t.src}/d`, "system.posix_acl_default", aclBytes(4242, 6));
    setXattr(t.src, "user.root", "r");
    const sync = async () => {
      const args = treeArgs(t, "--once", "--engine", "native", "--xattrs", "-i");
      const out = await runCli(args, { perms: NATIVE, portable: true });
      assert.equal(out.code, 0, out.stdout + out.stderr);
      return out.stdout.split("\n").filter((line) => / INFO {2}[.>c]\S{10} /.test(line));
    };
    const same = () => {
      for (const rel of ["f", "d", ""]) {
        assert.deepEqual(xattrsOf(`${t.dst}/${rel}`), xattrsOf(`${t.src}/${rel}`), rel);
      }
    };

    await sync();
    same();
    assert.equal(xattrsOf(`${t.dst}/f`)["user.color"], "726564");

    setXattr(`${t.src}/f`, "user.color", "blue");
    const updated = await sync();
    same();
    assert.equal(updated.length, 1, updated.join("\n"));
    assert.match(updated[0], / \.f\.{8}x f$/);

    removeXattr(`${t.src}/f`, "user.color");
    removeXattr(`${t.src}/f`, "system.posix_acl_access");
    removeXattr(`${t.src}/d`, "system.posix_acl_default");
    const removed = await sync();
    same();
    assert.deepEqual(xattrsOf(`${t.dst}/f`), {});
    assert.deepEqual(xattrsOf(`${t.dst}/d`), { "user.tag": "78" });
    assert.equal(removed.length, 2, removed.join("\n"));
    assert.match(removed.join("\n"), / \.f\.{7}ax f\n.* \.d\.{7}a\. d\/$/);

    assert.deepEqual(await sync(), [], "nothing more to do");
  },
});

Deno.test({
  name: "cli xattrs: the portable engine refuses --xattrs with one line, exit 2",
  ignore: !linux,
  async fn() {
    using t = tempDirs();
    Deno.mkdirSync(t.src);
    const out = await runCli(treeArgs(t, "--once", "--xattrs"), { portable: true });
    assert.equal(out.code, 2);
    assert.equal(
      out.stderr.split("\n")[0],
      "foldersync: --xattrs needs the native engine (--allow-ffi on Linux): add --allow-ffi, " +
        "or drop --xattrs",
    );
    const portable = await runCli(treeArgs(t, "--once", "--xattrs", "--engine", "portable"), {
      perms: NATIVE,
      portable: true,
    });
    assert.equal(portable.code, 2);
    assert.match(portable.stderr, /^foldersync: --xattrs needs the native engine: drop --engine/);
    assert.throws(() => Deno.statSync(t.dst), Deno.errors.NotFound, "nothing was made");
  },
});
