/**
 * A replica writer for temp_swap_test.ts, as fast as it can be: watches one replica folder with
 * inotify (libc through FFI, a blocking read: `Deno.watchFs` comes too late for this race) and
 * renames a hard link of `target`, made beforehand in `stage` (outside the replica, on its
 * filesystem), over each temporary name of foldersync's the moment it is created. Runs until
 * killed; each swap is a line on stdout.
 *
 * deno run --allow-read --allow-write --allow-ffi link_swap_racer.ts DIR TARGET STAGE
 */
const [dir, target, stage] = Deno.args;
const libc = Deno.dlopen(Deno.build.os === "linux" ? "libc.so.6" : "", {
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  rename: { parameters: ["buffer", "buffer"], result: "i32" },
}).symbols;
const IN_CREATE = 0x100;
const enc = new TextEncoder();
const dec = new TextDecoder();
const cstr = (s: string) => enc.encode(s + "\0");
const fd = libc.inotify_init1(0);
if (fd < 0 || libc.inotify_add_watch(fd, cstr(dir), IN_CREATE) < 0) throw new Error("inotify");
let spare = 0;
const prepare = () => {
  const path = `${stage}/spare-${spare++}`;
  Deno.linkSync(target, path);
  return cstr(path);
};
let ready = prepare();
const buf = new Uint8Array(65536);
const view = new DataView(buf.buffer);
console.log("watching");
while (true) {
  const n = Number(libc.read(fd, buf, BigInt(buf.length)));
  for (let off = 0; off < n;) {
    const len = view.getUint32(off + 12, true);
    const name = dec.decode(buf.subarray(off + 16, off + 16 + len)).replace(/\0+$/, "");
    off += 16 + len;
    if (!name.startsWith(".foldersync-tmp-")) continue;
    if (libc.rename(ready, cstr(`${dir}/${name}`)) === 0) {
      console.log(`swapped ${name}`);
      ready = prepare();
    }
  }
}
