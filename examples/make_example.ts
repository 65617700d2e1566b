/**
 * Builds a small example source tree for `deno task demo`: files, nested and
 * empty directories, a symlink and an executable script.
 *
 * ```sh
 * deno run --allow-read --allow-write examples/make_example.ts demo
 * ```
 *
 * @module
 */
const root = (Deno.args[0] ?? "demo") + "/source";
Deno.mkdirSync(`${root}/photos/2026`, { recursive: true });
Deno.mkdirSync(`${root}/empty-folder`, { recursive: true });
Deno.writeTextFileSync(`${root}/README.txt`, "This folder is mirrored by foldersync.\n");
Deno.writeTextFileSync(`${root}/notes.md`, `# Notes\n\nWritten ${new Date().toISOString()}\n`);
Deno.writeFileSync(
  `${root}/photos/2026/pixel.bin`,
  new Uint8Array(4096).map((_, i) => (i * 31) % 256),
);
Deno.writeTextFileSync(`${root}/run.sh`, "#!/bin/sh\necho hello from the replica\n");
Deno.chmodSync(`${root}/run.sh`, 0o755);
try {
  Deno.symlinkSync("notes.md", `${root}/latest-notes`);
} catch (error) {
  if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
}
console.log(`example source tree ready in ${root}`);
