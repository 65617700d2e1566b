/**
 * `--itemize-changes` end to end: the codes of a table of changes against `rsync -ai --delete`
 * on the same pair (the code builder and the log line as tables: unit/itemize_test.ts; owners:
 * tests/faults/itemize_owner_test.ts).
 */
import assert from "node:assert/strict";
import { syncOnce, tempDirs, writeTree } from "./helpers.ts";
import { haveRsync, type OracleCase, run, runOracle } from "./itemize_oracle.ts";
/** rsync sets a new link's mtime to the source's (`t`); foldersync cannot, so says `T`. */
function linkTime(line: string): string {
  return line.startsWith("cLc.t") ? "cLc.T" + line.slice(5) : line;
}

const now = () => new Date();
const touch = (path: string) => Deno.utimeSync(path, now(), now());
const tree = {
  "a.txt": "hello",
  "b.txt": "bbb",
  sub: { "e.txt": "eee", deep: { "f.txt": "f" } },
  "l1": { link: "a.txt" },
  "empty": {},
};

const cases: OracleCase[] = [
  {
    name: "new file",
    tree,
    change: (src) => Deno.writeTextFileSync(`${src}/new.txt`, "new"),
    want: [">f+++++++++ new.txt", ".d..t...... ./"],
  },
  {
    name: "new file in a folder",
    tree,
    change: (src) => Deno.writeTextFileSync(`${src}/sub/deep/g.txt`, "g"),
    want: [">f+++++++++ sub/deep/g.txt", ".d..t...... sub/deep/"],
  },
  {
    name: "content change (size)",
    tree,
    change: (src) => Deno.writeTextFileSync(`${src}/a.txt`, "hello world"),
    want: [">f.st...... a.txt"],
  },
  {
    name: "content change, same size",
    tree,
    change: (src) => Deno.writeTextFileSync(`${src}/a.txt`, "HELLO"),
    want: [">f..t...... a.txt"],
  },
  {
    name: "mtime only (touch)",
    tree,
    change: (src) => touch(`${src}/sub/e.txt`),
    want: [">f..t...... sub/e.txt"],
  },
  {
    name: "mode only",
    tree,
    change: (src) => Deno.chmodSync(`${src}/a.txt`, 0o600),
    want: [".f...p..... a.txt"],
  },
  {
    name: "mode and mtime",
    tree,
    change: (src) => {
      Deno.chmodSync(`${src}/a.txt`, 0o755);
      touch(`${src}/a.txt`);
    },
    want: [">f..tp..... a.txt"],
  },
  {
    name: "symlink new",
    tree,
    change: (src) => Deno.symlinkSync("sub/e.txt", `${src}/l2`),
    want: ["cL+++++++++ l2 -> sub/e.txt", ".d..t...... ./"],
  },
  {
    name: "symlink retargeted",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/l1`);
      Deno.symlinkSync("b.txt", `${src}/l1`);
    },
    want: ["cLc.T...... l1 -> b.txt", ".d..t...... ./"],
  },
  {
    name: "symlink removed",
    tree,
    change: (src) => Deno.removeSync(`${src}/l1`),
    want: ["*deleting   l1", ".d..t...... ./"],
  },
  {
    name: "folder new, with contents",
    tree,
    change: (src) => {
      Deno.mkdirSync(`${src}/new/inner`, { recursive: true });
      Deno.writeTextFileSync(`${src}/new/inner/x`, "x");
    },
    want: [
      "cd+++++++++ new/",
      "cd+++++++++ new/inner/",
      ">f+++++++++ new/inner/x",
      ".d..t...... ./",
    ],
  },
  {
    name: "folder mtime",
    tree,
    change: (src) => Deno.utimeSync(`${src}/sub`, 1609459200, 1609459200),
    want: [".d..t...... sub/"],
  },
  {
    name: "folder mode",
    tree,
    change: (src) => Deno.chmodSync(`${src}/empty`, 0o700),
    want: [".d...p..... empty/"],
  },
  {
    name: "file removed",
    tree,
    change: (src) => Deno.removeSync(`${src}/b.txt`),
    want: ["*deleting   b.txt", ".d..t...... ./"],
  },
  {
    name: "folder removed, with contents",
    tree,
    change: (src) => Deno.removeSync(`${src}/sub`, { recursive: true }),
    want: [
      "*deleting   sub/",
      "*deleting   sub/deep/",
      "*deleting   sub/deep/f.txt",
      "*deleting   sub/e.txt",
      ".d..t...... ./",
    ],
  },
  {
    name: "type change: file to folder",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/b.txt`);
      Deno.mkdirSync(`${src}/b.txt`);
    },
    want: ["cd+++++++++ b.txt/", ".d..t...... ./"],
  },
  {
    name: "type change: folder with contents to file",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/sub`, { recursive: true });
      Deno.writeTextFileSync(`${src}/sub`, "now a file");
    },
    want: [
      "*deleting   sub/deep/",
      "*deleting   sub/deep/f.txt",
      "*deleting   sub/e.txt",
      ">f+++++++++ sub",
      ".d..t...... ./",
    ],
  },
  {
    name: "type change: file to symlink",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/b.txt`);
      Deno.symlinkSync("a.txt", `${src}/b.txt`);
    },
    want: ["cL+++++++++ b.txt -> a.txt", ".d..t...... ./"],
  },
  {
    name: "type change: symlink to file",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/l1`);
      Deno.writeTextFileSync(`${src}/l1`, "file");
    },
    want: [">f+++++++++ l1", ".d..t...... ./"],
  },
  {
    name: "type change: folder to symlink",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/empty`);
      Deno.symlinkSync("a.txt", `${src}/empty`);
    },
    want: ["cL+++++++++ empty -> a.txt", ".d..t...... ./"],
  },
  {
    name: "type change: symlink to folder",
    tree,
    change: (src) => {
      Deno.removeSync(`${src}/l1`);
      Deno.mkdirSync(`${src}/l1`);
      Deno.writeTextFileSync(`${src}/l1/in`, "in");
    },
    want: ["cd+++++++++ l1/", ">f+++++++++ l1/in", ".d..t...... ./"],
  },
  {
    name: "new replica",
    tree: { "a.txt": "a", sub: { "b.txt": "b" }, l: { link: "a.txt" } },
    change: (_src, dst) => Deno.removeSync(dst, { recursive: true }),
    want: [
      "cd+++++++++ ./",
      ">f+++++++++ a.txt",
      "cL+++++++++ l -> a.txt",
      "cd+++++++++ sub/",
      ">f+++++++++ sub/b.txt",
    ],
  },
  {
    name: "--checksum: content differs, size and mtime the same",
    tree,
    change: (src) => {
      Deno.writeTextFileSync(`${src}/a.txt`, "HELLO");
      Deno.utimeSync(`${src}/a.txt`, 1577836800, 1577836800);
    },
    rsync: ["-c"],
    flags: ["--checksum"],
    want: [">fc........ a.txt"],
  },
  {
    name: "--hard-links: a new name for a linked file",
    tree: { "a": "linked", "b": "other" },
    change: async (src, dst) => {
      Deno.linkSync(`${src}/a`, `${src}/a2`);
      await run("touch", ["-h", "-d", "@1577836800", src]);
      await run("rm", ["-r", dst]);
      await run("cp", ["-a", src, dst]); // The replica holds the pair linked alike.
      Deno.linkSync(`${src}/a`, `${src}/a3`);
    },
    rsync: ["-H"],
    flags: ["--hard-links"],
    want: ["hf+++++++++ a3 => a", ".d..t...... ./"],
  },
  {
    name: "--hard-links: a separate copy becomes a hard link",
    tree: { "a": "same", "a2": "same" },
    change: (src) => {
      Deno.removeSync(`${src}/a2`);
      Deno.linkSync(`${src}/a`, `${src}/a2`);
    },
    rsync: ["-H"],
    flags: ["--hard-links"],
    want: ["hf          a2 => a", ".d..t...... ./"],
  },
];

for (const c of cases) {
  Deno.test({
    name: `--itemize-changes matches rsync -i: ${c.name}`,
    ignore: !haveRsync(),
    async fn() {
      using t = tempDirs();
      const { rsync, foldersync } = await runOracle(t.dir, c);
      const want = [...c.want].sort();
      assert.deepEqual(rsync.map(linkTime), want, "rsync prints the table's lines");
      assert.deepEqual(foldersync, want);
    },
  });
}

Deno.test("without --itemize-changes the change lines stay as they were", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a" });
  const result = await syncOnce(t);
  assert.equal(result.code, 0, result.stderr);
  const log = Deno.readTextFileSync(t.log);
  assert.match(log, / INFO {2}create dir {5}\.\n/);
  assert.match(log, / INFO {2}copy {3}file {4}a\.txt \(1 B\)\n/);
  assert.doesNotMatch(log, /\+\+\+\+|"itemize"/);
});

Deno.test("--itemize-changes with --backup_dir: a removal says where it went; an overwrite keeps its backup line", async () => {
  using t = tempDirs();
  writeTree(t.src, { "a.txt": "a", "gone.txt": "g" });
  assert.equal((await syncOnce(t)).code, 0);
  Deno.writeTextFileSync(`${t.src}/a.txt`, "a, longer");
  Deno.removeSync(`${t.src}/gone.txt`);
  Deno.writeTextFileSync(t.log, "");
  const result = await syncOnce(t, "--itemize-changes", "--backup_dir", `${t.dir}/backups`);
  assert.equal(result.code, 0, result.stderr);
  const lines = Deno.readTextFileSync(t.log).split("\n").map((l) => l.slice(25));
  const [stamp] = [...Deno.readDirSync(`${t.dir}/backups`)].map((entry) => entry.name);
  assert.ok(
    lines.includes(`INFO  *deleting   gone.txt (moved to ${stamp}/gone.txt)`),
    lines.join("\n"),
  );
  assert.ok(lines.includes(`INFO  backup file    a.txt -> ${stamp}/a.txt`), lines.join("\n"));
  assert.ok(lines.includes("INFO  >f.st...... a.txt"), lines.join("\n"));
});
