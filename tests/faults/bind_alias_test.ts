/**
 * A replica entry that is the source itself, reached through a bind mount (not
 * a root nor one of their ancestors, which are refused everywhere): the
 * mirror would write into the source. Such an entry is left alone with one
 * warning and the source never changes:
 * - a replica folder that is a source folder of the same folder: both engines
 *   (their device and inode are the same);
 * - any mount root on the source's filesystem (a bind mount of a folder
 *   elsewhere in the source, of a file, one inside a folder being removed):
 *   the native engine, which sees mount roots (statx).
 * KNOWN LIMIT, fails today: the portable engine cannot see mount roots, so a
 * bind mount of a source folder from elsewhere in the source is mirrored into
 * like any other folder (README, safety rules).
 */
import { equal, match, ok } from "node:assert/strict";
import { assertSameSnapshot, type CliOptions, put, runCli, sh, snapshot } from "../helpers.ts";
import { canMount, tempRoot } from "./helpers.ts";

const T = 1_600_000_000;
const mountable = await canMount();
const native = Deno.build.os === "linux";
/** Each engine named, whatever FOLDERSYNC_TEST_ENGINE says. */
const PORTABLE: CliOptions = { portable: true };
const NATIVE = {
  args: ["--engine", "native"],
  options: { perms: ["--allow-read", "--allow-write", "--allow-ffi"], portable: true },
};

/** The warning for the entry `rel`. */
function warning(rel: string, kind = "dir"): RegExp {
  return new RegExp(
    String.raw`WARN {2}skip {3}${kind} +${rel}: a bind mount of the source's filesystem, or a ` +
      String.raw`second path to a source folder, in the replica: left alone, with its contents, ` +
      String.raw`so the source is never written \(unmount it, or --exclude it\)`,
  );
}

/** How a case is set up: the source's files, then what changes between the two runs. */
interface Case {
  files: Record<string, string>;
  /** Modes set on source files before the first run. */
  modes?: Record<string, number>;
  /** Source paths removed after the first run. */
  removed?: string[];
  /** Bind mounts made after the first run: a source path onto a replica path. */
  binds: [from: string, onto: string][];
  /** The second run moves what it removes to a backup folder (`--backup_dir`). */
  backup?: boolean;
}

/**
 * Mirrors a source once, bind-mounts source paths into the replica, syncs
 * again and checks that the source did not change and the mounts are still
 * there. Returns what the second run said.
 */
async function aliased(tag: string, c: Case, cli: { args?: string[]; options?: CliOptions } = {}) {
  const { dir, cleanup } = await tempRoot(tag);
  try {
    const src = `${dir}/source`;
    const rep = `${dir}/replica`;
    for (const [rel, data] of Object.entries(c.files)) put(src, rel, data, T);
    for (const [rel, mode] of Object.entries(c.modes ?? {})) Deno.chmodSync(`${src}/${rel}`, mode);
    const flags = ["--source_path", src, "--replica_path", rep, "--once", ...(cli.args ?? [])];
    const first = await runCli(flags, cli.options);
    equal(first.code, 0, first.text);
    for (const rel of c.removed ?? []) Deno.removeSync(`${src}/${rel}`, { recursive: true });
    for (const [from, onto] of c.binds) {
      if (Deno.statSync(`${src}/${from}`).isDirectory) {
        Deno.mkdirSync(`${rep}/${onto}`, { recursive: true });
      }
      await sh(["mount", "--bind", `${src}/${from}`, `${rep}/${onto}`]);
    }
    const before = snapshot(src);
    const backup = c.backup ? ["--backup_dir", `${dir}/backups`] : [];
    const result = await runCli([...flags, ...backup], cli.options);
    assertSameSnapshot(before, snapshot(src), `source (run said:\n${result.text}\n)`);
    for (const [, onto] of c.binds) {
      ok((await sh(["mountpoint", "-q", `${rep}/${onto}`], true)).code === 0, `${onto} mounted`);
    }
    return result;
  } finally {
    await cleanup();
  }
}

for (const engine of ["portable", ...(native ? ["native"] : [])]) {
  const cli = engine === "native" ? NATIVE : { options: PORTABLE };
  Deno.test({
    name: `${engine}: a replica folder that is a source folder beside it is left alone`,
    ignore: !mountable,
    async fn() {
      const result = await aliased("bind-beside", {
        files: { "x/a.txt": "a", "y/precious.txt": "only here" },
        binds: [["y", "x"]],
      }, cli);
      equal(result.code, 0, result.text);
      match(result.text, warning("x"));
    },
  });
}

for (const backup of [false, true]) {
  Deno.test({
    name: `native: bind mounts of the source's filesystem in the replica are left alone${
      backup ? " (--backup_dir)" : ""
    }`,
    ignore: !mountable || !native,
    async fn() {
      const result = await aliased("bind-native", {
        files: {
          "x/a.txt": "a",
          "deep/y/precious.txt": "only here",
          "deep/z/kept.txt": "kept",
          "f.txt": "same",
          "g.txt": "same",
          "gone/old.txt": "removed next",
        },
        modes: { "g.txt": 0o600 },
        removed: ["gone"],
        // A folder from elsewhere in the source; a file over a file of the same content
        // and mtime (only the mode differs: a chmod would reach the source's f.txt); a
        // folder inside a replica folder the source no longer has.
        binds: [["deep/y", "x"], ["f.txt", "g.txt"], ["deep/z", "gone/m"]],
        backup,
      }, NATIVE);
      equal(result.code, 0, result.text);
      match(result.text, warning("x"));
      match(result.text, warning("g.txt", "file"));
      match(result.text, warning("gone/m"));
      match(
        result.text,
        /WARN {2}skip {3}dir {5}gone: kept: it holds a bind mount of the source's/,
      );
    },
  });
}

Deno.test({
  name:
    "known limit: portable: a bind mount of a source folder from elsewhere is refused, the source never changes",
  // A known limit (README, safety rules), kept out of the suite: FOLDERSYNC_KNOWN_LIMITS=1 runs it.
  ignore: !mountable || Deno.env.get("FOLDERSYNC_KNOWN_LIMITS") !== "1",
  async fn() {
    await aliased("bind-alias", {
      files: { "x/a.txt": "a", "deep/y/precious.txt": "only here" },
      binds: [["deep/y", "x"]],
    }, { options: PORTABLE });
  },
});
