/** `--xattrs` in the native engine on real temporary folders: read by the scan, copied, set and removed. */
import assert from "node:assert/strict";
import { NativeFileSystem } from "../lib/engine/fs/native/native_fs.ts";
import type { At, Folder, Side } from "../lib/engine/fs/types.ts";
import type { Entry } from "../lib/engine/types.ts";
import { toEntry } from "../lib/engine/list_dir.ts";
import { Owners } from "../lib/engine/owner.ts";
import { changesOf, planDir, planDirMeta } from "../lib/engine/plan.ts";
import { tempDirs } from "./helpers.ts";
import { aclBytes, setXattr, xattrsOf } from "./xattr_helpers.ts";

const linux = Deno.build.os === "linux";
const hex = (s: string) => [...new TextEncoder().encode(s)].map((b) => b.toString(16)).join("");

function setup(xattrs = true) {
  const t = tempDirs();
  Deno.mkdirSync(t.src);
  Deno.mkdirSync(t.dst);
  const fs = new NativeFileSystem({ source: t.src, replica: t.dst }, { xattrs });
  const roots: Record<Side, string> = { source: t.src, replica: t.dst, backup: t.dir };
  const folder = (side: Side, rel = ""): Folder => {
    const abs = rel === "" ? roots[side] : `${roots[side]}/${rel}`;
    const info = rel === "" ? Deno.statSync(abs) : Deno.lstatSync(abs);
    return { side, rel, abs, seen: toEntry(rel.split("/").pop()!, info), root: rel === "" };
  };
  const entry = (dir: Folder, name: string): Entry => {
    const found = fs.list(dir).entries.find((e) => e.name === name);
    assert.ok(found, name);
    return found;
  };
  return {
    t,
    fs,
    folder,
    entry,
    [Symbol.dispose]() {
      fs.close();
      t[Symbol.dispose]();
    },
  };
}

Deno.test({
  name: "native xattrs: list reads user.* and ACLs of files and folders, not of links; not unasked",
  ignore: !linux,
  fn() {
    using s = setup();
    Deno.writeTextFileSync(`${s.t.src}/f`, "x");
    Deno.mkdirSync(`${s.t.src}/d`);
    Deno.symlinkSync("f", `${s.t.src}/l`);
    setXattr(`${s.t.src}/f`, "user.color", "red");
    setXattr(`${s.t.src}/f`, "system.posix_acl_access", aclBytes(4242, 4));
    setXattr(`${s.t.src}/d`, "user.dir", "");
    const src = s.folder("source");
    const f = s.entry(src, "f");
    assert.deepEqual([...f.xattrs!.keys()].sort(), ["system.posix_acl_access", "user.color"]);
    assert.equal(new TextDecoder().decode(f.xattrs!.get("user.color")), "red");
    assert.deepEqual([...s.entry(src, "d").xattrs!.entries()], [["user.dir", new Uint8Array()]]);
    assert.equal(s.entry(src, "l").xattrs, undefined);
    assert.equal(s.fs.lstat(src, "f")!.xattrs!.size, 2);
    assert.equal(
      s.fs.xattrs({ dir: s.folder("source", "d"), name: ".", seen: undefined })!.size,
      1,
    );

    using plain = setup(false);
    Deno.writeTextFileSync(`${plain.t.src}/f`, "x");
    setXattr(`${plain.t.src}/f`, "user.color", "red");
    assert.equal(plain.entry(plain.folder("source"), "f").xattrs, undefined);
  },
});

Deno.test({
  name:
    "native xattrs: a copy carries the source's attributes, not an ACL inherited in the replica",
  ignore: !linux,
  async fn() {
    using s = setup();
    Deno.writeTextFileSync(`${s.t.src}/a`, "aaa");
    Deno.writeTextFileSync(`${s.t.src}/b`, "bbb");
    setXattr(`${s.t.src}/a`, "user.color", "red");
    setXattr(`${s.t.src}/a`, "system.posix_acl_access", aclBytes(4242, 6));
    // A default ACL on the replica folder: each new file in it inherits an access ACL.
    setXattr(s.t.dst, "system.posix_acl_default", aclBytes(777, 4));
    const src = s.folder("source");
    const dst = s.folder("replica");
    for (const name of ["a", "b"]) {
      const entry = s.entry(src, name);
      const to: At = { dir: dst, name, seen: undefined };
      await s.fs.copy({ from: { dir: src, name, entry }, to, owners: new Owners() });
    }
    assert.deepEqual(xattrsOf(`${s.t.dst}/a`), xattrsOf(`${s.t.src}/a`));
    assert.deepEqual(xattrsOf(`${s.t.dst}/b`), {}, "b has none in the source");
    assert.equal(
      Deno.statSync(`${s.t.dst}/b`).mode! & 0o777,
      Deno.statSync(`${s.t.src}/b`).mode! & 0o777,
    );
  },
});

Deno.test({
  name: "native xattrs: setAttrs makes a file's and a folder's attributes the ones given",
  ignore: !linux,
  fn() {
    using s = setup();
    Deno.writeTextFileSync(`${s.t.dst}/f`, "x");
    Deno.mkdirSync(`${s.t.dst}/d`);
    setXattr(`${s.t.dst}/f`, "user.old", "1");
    setXattr(`${s.t.dst}/f`, "user.keep", "same");
    setXattr(`${s.t.dst}/d`, "system.posix_acl_default", aclBytes(4242, 4));
    const dst = s.folder("replica");
    const want = new Map([
      ["user.keep", new TextEncoder().encode("same")],
      ["user.new", new TextEncoder().encode("2")],
    ]);
    s.fs.setAttrs({ dir: dst, name: "f", seen: s.entry(dst, "f") }, { xattrs: want });
    assert.deepEqual(xattrsOf(`${s.t.dst}/f`), { "user.keep": hex("same"), "user.new": hex("2") });
    const d = s.folder("replica", "d");
    s.fs.setAttrs({ dir: d, name: ".", seen: d.seen }, { xattrs: new Map() });
    assert.deepEqual(xattrsOf(`${s.t.dst}/d`), {});
  },
});

Deno.test("plan xattrs: a current file or folder whose attributes differ is updated, itemized a/x", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const base: Entry = {
    name: "f",
    kind: "file",
    size: 1,
    mtimeMs: 1,
    atimeMs: 1,
    mode: 0o644,
    dev: 1,
    ino: 1,
    uid: 0,
    gid: 0,
    blocks: 8,
    nlink: 1,
  };
  const src = { ...base, xattrs: new Map([["user.a", bytes("1")]]) };
  const same = { ...base, xattrs: new Map([["user.a", bytes("1")]]) };
  const other = { ...base, xattrs: new Map([["user.a", bytes("2")]]) };
  const acl = { ...base, xattrs: new Map([["system.posix_acl_access", bytes("1")]]) };
  const options = { checksum: false, excluded: () => false, deletes: true };
  assert.deepEqual(planDir("", [src], [same], options), []);
  assert.deepEqual(
    planDir("", [src], [{ ...base }], options),
    [],
    "replica's not read: left alone",
  );
  assert.deepEqual(planDir("", [src], [other], options), [
    { op: "attrs", path: "f", src, dst: other, changes: "x" },
  ]);
  assert.equal(changesOf(src, acl, false), "ax");
  const dir = { ...src, kind: "dir" as const };
  const meta = planDirMeta("d", dir, { ...other, kind: "dir" }, false);
  assert.equal(meta?.op === "dirmeta" && meta.report, "xattrs");
  assert.equal(planDirMeta("d", dir, { ...same, kind: "dir" }, false), undefined);
});
