/**
 * The full-fidelity profiles (examples/foldersync-full.conf, docker-compose.full.yml): root with
 * every capability dropped but CHOWN, DAC_OVERRIDE, FOWNER and FSETID mirrors a private source
 * with owners and set-uid/set-gid bits, also where the replica folders belong to other users, and
 * each of the four is needed (the CLI run as root under `setpriv --bounding-set`).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { DENO, denoArgs, put, sh } from "../helpers.ts";
import { canDropPrivileges, tempRoot } from "./helpers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const T = 1_600_000_000;
const ALICE = 4242;
const STAFF = 4243;

/** The capabilities the systemd drop-in keeps, as setpriv names them (`dac_override`). */
function unitCapabilities(): string[] {
  const dropIn = Deno.readTextFileSync(`${ROOT}/examples/foldersync-full.conf`);
  const sets = [...dropIn.matchAll(/^CapabilityBoundingSet=(.*)$/gm)].map((m) => m[1]);
  equal(sets[0], "", "the unit's set is reset first");
  return sets[sets.length - 1].split(/\s+/).map((c) => c.replace(/^CAP_/, "").toLowerCase())
    .sort();
}

/** The capabilities the compose override adds. */
function composeCapabilities(): string[] {
  const text = Deno.readTextFileSync(`${ROOT}/docker-compose.full.yml`);
  const list = text.match(/^ {4}cap_add:\n((?: {6}- \S+\n)+)/m);
  ok(list, "cap_add list in docker-compose.full.yml");
  return list[1].trim().split("\n").map((l) => l.trim().slice(2).toLowerCase()).sort();
}

/** Every entry under `root`: path, type, mode, owner and group. */
async function owned(root: string): Promise<string> {
  const out = await sh(["find", root, "-mindepth", "1", "-printf", "%P %y %m %U:%G\\n"]);
  return out.out.trim().split("\n").sort().join("\n");
}

/**
 * A source no unprivileged user reads whole: root's private folder and file (0700, 0640, a
 * group root is not in), a user's private home folder with a read-only folder in it, a set-uid
 * program of hers, a set-gid file of that group, a read-only folder of root's.
 */
async function privateSource(src: string): Promise<void> {
  put(src, "private/secret.txt", "root's", T);
  put(src, "home/alice/notes.txt", "alice's", T);
  put(src, "home/alice/ro/kept.txt", "kept", T);
  put(src, "tool", "#!/bin/sh\n", T);
  put(src, "shared", "group's", T);
  put(src, "ro/r.txt", "r", T);
  await sh(["chown", `0:${STAFF}`, `${src}/private/secret.txt`, `${src}/shared`]);
  await sh(["chown", "-R", `${ALICE}:${ALICE}`, `${src}/home/alice`, `${src}/tool`]);
  const modes: [string, number][] = [
    ["private/secret.txt", 0o640],
    ["private", 0o700],
    ["home/alice/notes.txt", 0o600],
    ["home/alice/ro", 0o555],
    ["home/alice", 0o750],
    ["tool", 0o4755],
    ["shared", 0o2755],
    ["ro", 0o555],
  ];
  for (const [path, mode] of modes) Deno.chmodSync(`${src}/${path}`, mode);
}

/** New entries in alice's folders and root's read-only one, and a change to a file of hers. */
async function changeSource(src: string): Promise<void> {
  await sh(["chmod", "u+w", `${src}/home/alice/ro`, `${src}/ro`]);
  put(src, "home/alice/new.txt", "new", T + 1);
  put(src, "home/alice/ro/new.txt", "new", T + 1);
  put(src, "home/alice/notes.txt", "alice's, changed", T + 2);
  put(src, "ro/new.txt", "new", T + 1);
  await sh(["chown", `${ALICE}:${ALICE}`, `${src}/home/alice/new.txt`]);
  await sh(["chown", `${ALICE}:${ALICE}`, `${src}/home/alice/ro/new.txt`]);
  await sh(["chmod", "u-w", `${src}/home/alice/ro`, `${src}/ro`]);
}

/** The CLI, once, as root with only `caps` (setpriv's names) in its bounding set. */
async function onceWith(caps: string[], src: string, rep: string) {
  const out = await new Deno.Command("setpriv", {
    args: [
      `--bounding-set=-all,${caps.map((c) => `+${c}`).join(",")}`,
      "--inh-caps=-all",
      DENO,
      ...denoArgs(["--source_path", src, "--replica_path", rep, "--once", "--no-progress"]),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** Two cycles with `caps`: the first copy, then the changes of {@linkcode changeSource}. */
async function twoCycles(dir: string, tag: string, caps: string[]) {
  const src = `${dir}/source-${tag}`;
  const rep = `${dir}/replica-${tag}`;
  await privateSource(src);
  const first = await onceWith(caps, src, rep);
  const afterFirst = { source: await owned(src), replica: await owned(rep) };
  await changeSource(src);
  const second = await onceWith(caps, src, rep);
  const afterSecond = { source: await owned(src), replica: await owned(rep) };
  return { rep, first, second, afterFirst, afterSecond };
}

Deno.test("full-fidelity profiles: the unit's drop-in and the compose override keep the same four capabilities", () => {
  deepEqual(unitCapabilities(), ["chown", "dac_override", "fowner", "fsetid"]);
  deepEqual(composeCapabilities(), unitCapabilities());
});

Deno.test({
  name: "full-fidelity profiles: root with only CHOWN DAC_OVERRIDE FOWNER FSETID mirrors a " +
    "private source with owners and set-uid/set-gid, also inside folders of other users",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("caps");
    try {
      const run = await twoCycles(dir, "full", unitCapabilities());
      equal(run.first.code, 0, run.first.text);
      equal(run.afterFirst.replica, run.afterFirst.source);
      match(run.afterFirst.replica, /^private d 700 0:0\nprivate\/secret\.txt f 640 0:4243$/m);
      match(run.afterFirst.replica, /^home\/alice d 750 4242:4242$/m);
      match(run.afterFirst.replica, /^tool f 4755 4242:4242$/m);
      match(run.afterFirst.replica, /^shared f 2755 0:4243$/m);
      equal(run.second.code, 0, run.second.text);
      equal(run.afterSecond.replica, run.afterSecond.source);
      equal(Deno.readTextFileSync(`${run.rep}/home/alice/notes.txt`), "alice's, changed");
      equal(Deno.readTextFileSync(`${run.rep}/private/secret.txt`), "root's");
    } finally {
      await cleanup();
    }
  },
});

Deno.test({
  name: "full-fidelity profiles: each of the four capabilities is needed, and DAC_READ_SEARCH " +
    "cannot stand in for DAC_OVERRIDE",
  ignore: !canDropPrivileges(),
  async fn() {
    const { dir, cleanup } = await tempRoot("caps-each");
    try {
      const full = unitCapabilities();
      const without = (cap: string) => full.filter((c) => c !== cap);

      // DAC_READ_SEARCH reads everything, so the first copy works; but the replica folders are
      // alice's now, and root may not write in them (root's own 0555 folder it makes writable).
      const noOverride = await twoCycles(dir, "override", [
        ...without("dac_override"),
        "dac_read_search",
      ]);
      equal(noOverride.first.code, 0, noOverride.first.text);
      equal(noOverride.second.code, 1, noOverride.second.text);
      for (const path of ["home/alice/new.txt", "home/alice/ro/new.txt", "home/alice/notes.txt"]) {
        match(
          noOverride.second.text,
          new RegExp(`ERROR error +file +${path}: .*permission denied`),
        );
      }
      match(noOverride.second.text, /INFO {2}copy +file +ro\/new\.txt/);

      // FSETID: set-gid on a file whose group root is not in is cleared by chmod without it.
      const noSetid = await twoCycles(dir, "fsetid", without("fsetid"));
      equal(noSetid.first.code, 0, noSetid.first.text);
      match(noSetid.afterFirst.replica, /^shared f 755 0:4243$/m);

      // FOWNER: modes and mtimes of entries root does not own cannot be set.
      const noFowner = await twoCycles(dir, "fowner", without("fowner"));
      equal(noFowner.first.code, 1, noFowner.first.text);
      match(noFowner.first.text, /ERROR error +file +tool: .*permission denied/);

      // CHOWN: every entry is root's, and set-uid/set-gid are cleared.
      const noChown = await twoCycles(dir, "chown", without("chown"));
      equal(noChown.first.code, 0, noChown.first.text);
      match(noChown.afterFirst.replica, /^tool f 755 0:0$/m);
      ok(noChown.afterFirst.replica.split("\n").every((line) => line.endsWith(" 0:0")));
    } finally {
      await cleanup();
    }
  },
});
