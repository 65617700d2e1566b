/**
 * `--itemize-changes` as root, where owners are mirrored: the `o` and `g`
 * columns match `rsync -ai --delete` on the same pair (the other changes:
 * tests/itemize_test.ts).
 */
import assert from "node:assert/strict";
import { haveRsync, type OracleCase, runOracle } from "../itemize_oracle.ts";
import { tempDirs } from "../helpers.ts";
import { NOBODY } from "./helpers.ts";

const isRoot = Deno.uid() === 0;
const tree = { "a.txt": "hello", sub: { "e.txt": "eee" }, "l": { link: "a.txt" } };

const cases: OracleCase[] = [
  {
    name: "owner only",
    tree,
    change: (src) => Deno.chownSync(`${src}/a.txt`, NOBODY, null),
    want: [".f....o.... a.txt"],
  },
  {
    name: "group only",
    tree,
    change: (src) => Deno.chownSync(`${src}/sub/e.txt`, null, NOBODY),
    want: [".f.....g... sub/e.txt"],
  },
  {
    name: "owner and group",
    tree,
    change: (src) => Deno.chownSync(`${src}/a.txt`, NOBODY, NOBODY),
    want: [".f....og... a.txt"],
  },
  {
    name: "owner, mode and content",
    tree,
    change: (src) => {
      Deno.writeTextFileSync(`${src}/a.txt`, "hello, world");
      Deno.chmodSync(`${src}/a.txt`, 0o640);
      Deno.chownSync(`${src}/a.txt`, NOBODY, null);
    },
    want: [">f.stpo.... a.txt"],
  },
  {
    name: "new file of another owner",
    tree,
    change: (src) => {
      Deno.writeTextFileSync(`${src}/sub/new.txt`, "new");
      Deno.chownSync(`${src}/sub/new.txt`, NOBODY, NOBODY);
    },
    want: [">f+++++++++ sub/new.txt", ".d..t...... sub/"],
  },
  {
    name: "folder owner",
    tree,
    change: (src) => Deno.chownSync(`${src}/sub`, NOBODY, NOBODY),
    want: [".d....og... sub/"],
  },
  {
    name: "root folder owner",
    tree,
    change: (src) => Deno.chownSync(src, NOBODY, null),
    want: [".d....o.... ./"],
  },
];

for (const c of cases) {
  Deno.test({
    name: `--itemize-changes matches rsync -i as root: ${c.name}`,
    ignore: !isRoot || !haveRsync(),
    async fn() {
      using t = tempDirs();
      const { rsync, foldersync } = await runOracle(t.dir, c);
      const want = [...c.want].sort();
      assert.deepEqual(rsync, want, "rsync prints the table's lines");
      assert.deepEqual(foldersync, want);
    },
  });
}
