/**
 * Extended attributes and ACLs for the `--xattrs` tests, through libc of their own (not the
 * engine's, and no `setfattr`/`setfacl` needed). Linux; needs `--allow-ffi`.
 */

const lib = Deno.build.os === "linux"
  ? Deno.dlopen("libc.so.6", {
    lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
    lremovexattr: { parameters: ["buffer", "buffer"], result: "i32" },
    llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
    lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  })
  : undefined;
const enc = new TextEncoder();
const z = (s: string) => enc.encode(s + "\0");

function ok(result: number | bigint, what: string): number {
  if (Number(result) < 0) throw new Error(`${what} failed`);
  return Number(result);
}

/** Sets one attribute of `path` (no link followed). */
export function setXattr(path: string, name: string, value: string | Uint8Array): void {
  const bytes = typeof value === "string" ? enc.encode(value) : value;
  ok(lib!.symbols.lsetxattr(z(path), z(name), bytes, BigInt(bytes.length), 0), `set ${name}`);
}

/** Removes one attribute of `path`. */
export function removeXattr(path: string, name: string): void {
  ok(lib!.symbols.lremovexattr(z(path), z(name)), `remove ${name}`);
}

/** Every attribute of `path` the process may read, values as hex, by name (sorted). */
export function xattrsOf(path: string): Record<string, string> {
  const buf = new Uint8Array(64 * 1024);
  const n = ok(lib!.symbols.llistxattr(z(path), buf, BigInt(buf.length)), `list ${path}`);
  const names = new TextDecoder().decode(buf.subarray(0, n)).split("\0").filter((s) => s !== "");
  const out: Record<string, string> = {};
  for (const name of names.sort()) {
    const m = ok(lib!.symbols.lgetxattr(z(path), z(name), buf, BigInt(buf.length)), name);
    out[name] = [...buf.subarray(0, m)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return out;
}

/** An ACL as the kernel keeps it in `system.posix_acl_*`: owner, one more user, group, mask, other. */
export function aclBytes(user: number, perm: number): Uint8Array {
  const ANY = 0xffffffff;
  const entries: [number, number, number][] = [
    [0x01, 6, ANY], // user::rw-
    [0x02, perm, user], // user:<user>:<perm>
    [0x04, 4, ANY], // group::r--
    [0x10, perm | 4, ANY], // mask
    [0x20, 4, ANY], // other::r--
  ];
  const out = new Uint8Array(4 + 8 * entries.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 2, true);
  entries.forEach(([tag, p, id], i) => {
    v.setUint16(4 + 8 * i, tag, true);
    v.setUint16(6 + 8 * i, p, true);
    v.setUint32(8 + 8 * i, id, true);
  });
  return out;
}
