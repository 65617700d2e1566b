/**
 * Root-only helpers of the fault tests: a temporary root uid 65534 can enter, mounts, the CLI
 * copied for uid 65534, and the churn test's self-checking file versions. Everything else is in
 * ../helpers.ts.
 *
 * @module
 */
import { DENO, randomBytes, sh, sha256 } from "../helpers.ts";

/** The unprivileged user (and group) the permission tests run as. */
export const NOBODY = 65534;

/**
 * A fresh temporary directory that uid 65534 can traverse (mode 0755), so the
 * same tree works for root and non-root runs. Removed by the returned
 * `cleanup` (which first unmounts anything a test left mounted under it).
 */
export async function tempRoot(
  tag: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: `foldersync-faults-${tag}-` });
  await Deno.chmod(dir, 0o755);
  return {
    dir,
    cleanup: async () => {
      for (const mount of (await mountsUnder(dir)).reverse()) {
        await sh(["umount", "-l", mount], true);
      }
      await makeAllWritable(dir);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function makeAllWritable(dir: string): Promise<void> {
  // Tests chmod things to 000; root removes them anyway, but restore for safety.
  await sh(["chmod", "-R", "u+rwX", dir], true);
}

/** Mount points at or under `dir` (read through cat: Deno wants --allow-all for /proc). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = (await sh(["cat", "/proc/mounts"])).out;
  return text.split("\n").map((l) => l.split(" ")[1]).filter((m) =>
    m !== undefined && (m === dir || m.startsWith(dir + "/"))
  );
}

/** What uid 65534 runs: a deno binary, a copy of the CLI and a DENO_DIR, all usable by it. */
export interface NobodyCli {
  deno: string;
  main: string;
  dir: string;
  denoDir: string;
}

let nobodyCli: Promise<NobodyCli> | undefined;

/** The CLI's files, relative to the repository root: all `deno run main.ts` needs. */
const CLI_FILES = ["main.ts", "deno.json", "deno.lock", "lib"];

/**
 * A copy of the CLI that uid 65534 can run, made once per test process: the
 * checkout may lie in a directory other users cannot enter (a 0700 home, a
 * clone under `mktemp -d`), so main.ts, deno.json, deno.lock and lib/ are
 * copied into a temporary directory every user can read, and so is the deno
 * binary when 65534 cannot run the one running the tests. Its DENO_DIR, owned
 * by 65534, gets a copy of this process's npm cache and `deno cache` fills
 * what is missing, so the LogTape packages need no network. Removed at exit
 * (or by the OS's temp cleaning if the process is killed).
 */
export function cliForNobody(): Promise<NobodyCli> {
  nobodyCli ??= makeCliForNobody();
  return nobodyCli;
}

async function makeCliForNobody(): Promise<NobodyCli> {
  const root = new URL("../..", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "foldersync-faults-cli-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // best effort: the OS's temp cleaning gets the rest
    }
  });
  const app = `${dir}/app`;
  const denoDir = `${dir}/deno-dir`;
  Deno.mkdirSync(app);
  await sh(["cp", "-R", ...CLI_FILES.map((f) => root + f), app]);
  let deno = DENO;
  const probe = ["--reuid", `${NOBODY}`, "--regid", `${NOBODY}`, "--clear-groups"];
  if ((await sh(["setpriv", ...probe, DENO, "--version"], true)).code !== 0) {
    deno = `${dir}/deno`;
    Deno.copyFileSync(DENO, deno);
  }
  const info = JSON.parse(
    new TextDecoder().decode(
      (await new Deno.Command(DENO, { args: ["info", "--json"], stdout: "piped" }).output()).stdout,
    ),
  );
  Deno.mkdirSync(denoDir);
  if (info.npmCache && (await sh(["test", "-d", info.npmCache], true)).code === 0) {
    await sh(["cp", "-a", info.npmCache, `${denoDir}/npm`]);
  }
  const cache = await new Deno.Command(DENO, {
    args: ["cache", "--quiet", `${app}/main.ts`],
    cwd: app,
    env: { DENO_DIR: denoDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!cache.success) {
    throw new Error(
      `deno cache for the uid ${NOBODY} copy of the CLI failed: ${
        new TextDecoder().decode(cache.stderr)
      }`,
    );
  }
  await sh(["chmod", "-R", "a+rX", dir]);
  await sh(["chown", "-R", `${NOBODY}:${NOBODY}`, denoDir]);
  return { deno, main: `${app}/main.ts`, dir: app, denoDir };
}

let mountWorks: boolean | undefined;

/** Whether this process may mount filesystems (a root with CAP_SYS_ADMIN). */
export async function canMount(): Promise<boolean> {
  if (mountWorks !== undefined) return mountWorks;
  const dir = await Deno.makeTempDir({ prefix: "foldersync-faults-mountprobe-" });
  const ok = (await sh(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], true)).code === 0;
  if (ok) await sh(["umount", dir]);
  await Deno.remove(dir);
  mountWorks = ok;
  if (!ok) console.error("fault tests: mount is not permitted here; mount-based tests are skipped");
  return ok;
}

/** Whether `setpriv` can switch to uid 65534 (we are root). */
export function canDropPrivileges(): boolean {
  return Deno.uid() === 0 &&
    new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
}

/**
 * A whole version of a churned file: a header naming the file's id, version
 * and body length with the body's sha256, then the body. Any torn mix of two
 * versions, truncated or half-written file fails {@linkcode checkVersion}.
 * The header has a fixed width, so same-length versions can overwrite each
 * other in place.
 */
export function makeVersion(id: number, version: number, bodyLength: number): Uint8Array {
  const body = randomBytes(bodyLength);
  const header = `FSV ${String(id).padStart(8, "0")} ${String(version).padStart(8, "0")} ${
    String(bodyLength).padStart(10, "0")
  } ${sha256(body)}\n`;
  const out = new Uint8Array(header.length + bodyLength);
  out.set(new TextEncoder().encode(header));
  out.set(body, header.length);
  return out;
}

const HEADER_LENGTH = 4 + 9 + 9 + 11 + 64 + 1;

/** Why `data` is not a whole version, or undefined when it is one. */
export function checkVersion(data: Uint8Array): string | undefined {
  if (data.length < HEADER_LENGTH) return `only ${data.length} bytes, shorter than a header`;
  const header = new TextDecoder().decode(data.subarray(0, HEADER_LENGTH));
  const m = header.match(/^FSV (\d{8}) (\d{8}) (\d{10}) ([0-9a-f]{64})\n$/);
  if (!m) return `bad header ${JSON.stringify(header.slice(0, 40))}`;
  const body = data.subarray(HEADER_LENGTH);
  if (body.length !== Number(m[3])) {
    return `id ${m[1]} v${Number(m[2])}: body is ${body.length} bytes, header says ${Number(m[3])}`;
  }
  if (sha256(body) !== m[4]) return `id ${m[1]} v${Number(m[2])}: body checksum mismatch`;
  return undefined;
}
