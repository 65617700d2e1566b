/**
 * The portable engine behind the seam: what it sets lands exactly (mtimes to the
 * millisecond through a handle), and a swapped entry is never acted on.
 */
import assert from "node:assert/strict";
import { PortableFileSystem } from "../../lib/engine/fs/portable.ts";
import type { Folder } from "../../lib/engine/fs/types.ts";
import { toEntry } from "../../lib/engine/list_dir.ts";
import { ChangedError } from "../../lib/engine/recheck.ts";
import { Owners } from "../../lib/engine/owner.ts";
import { tempDirs } from "../helpers.ts";

/** The portable engine works from inside replica folders (in_dir.ts): come back before they go. */
const HOME = Deno.cwd();

function folder(side: "source" | "replica", abs: string): Folder {
  return { side, rel: "", abs, seen: toEntry("", Deno.statSync(abs)), root: true };
}

Deno.test("portable: copies and setAttrs keep every millisecond of an mtime", async () => {
  using t = tempDirs();
  Deno.mkdirSync(t.src);
  Deno.mkdirSync(t.dst);
  const fs = new PortableFileSystem();
  const src = folder("source", t.src);
  const dst = folder("replica", t.dst);
  const base = 1_764_716_835_000;
  for (let i = 0; i < 200; i++) {
    const ms = base + i * 7919 + (i % 1000); // Every last digit, and sub-second values a double cannot hold.
    const name = `f${i}`;
    Deno.writeTextFileSync(`${t.src}/${name}`, "x");
    Deno.utimeSync(`${t.src}/${name}`, ms / 1000, ms / 1000);
    const entry = toEntry(name, Deno.lstatSync(`${t.src}/${name}`));
    const to = { dir: dst, name, seen: undefined };
    const made = await fs.copy({ from: { dir: src, name, entry }, to, owners: new Owners() });
    assert.equal(Deno.lstatSync(`${t.dst}/${name}`).mtime?.getTime(), ms, `copy of ${name}`);
    const later = ms + 1001;
    fs.setAttrs({ dir: dst, name, seen: made }, { times: { atimeMs: later, mtimeMs: later } });
    assert.equal(Deno.lstatSync(`${t.dst}/${name}`).mtime?.getTime(), later, `setAttrs on ${name}`);
  }
  Deno.chdir(HOME);
});

Deno.test("portable: setAttrs on an entry swapped for a link changes nothing through it", () => {
  using t = tempDirs();
  Deno.mkdirSync(t.dst);
  Deno.writeTextFileSync(`${t.dir}/outside`, "o");
  Deno.chmodSync(`${t.dir}/outside`, 0o600);
  Deno.writeTextFileSync(`${t.dst}/f`, "f");
  const dst = folder("replica", t.dst);
  const seen = toEntry("f", Deno.lstatSync(`${t.dst}/f`));
  Deno.removeSync(`${t.dst}/f`);
  Deno.symlinkSync(`${t.dir}/outside`, `${t.dst}/f`);
  const fs = new PortableFileSystem();
  assert.throws(() => fs.setAttrs({ dir: dst, name: "f", seen }, { mode: 0o777 }), ChangedError);
  assert.equal(Deno.statSync(`${t.dir}/outside`).mode! & 0o777, 0o600);
  Deno.chdir(HOME);
});
