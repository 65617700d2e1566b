/**
 * foldersync with one speed mechanism switched off, for the bench's
 * `foldersync-noprefetch` and `foldersync-nocopiers` tools:
 *
 *     deno run --allow-read --allow-write bench/variant.ts no-prefetch|no-copiers <main.ts arguments>
 *
 * Not a way to run foldersync: it shows what each mechanism earns (bench/README.md).
 *
 * @module
 */
import { main } from "../main.ts";

const [which, ...args] = Deno.args;
const speed = { prefetch: true, copyWorkers: true };
if (which === "no-prefetch") speed.prefetch = false;
else if (which === "no-copiers") speed.copyWorkers = false;
else {
  console.error(`usage: variant.ts no-prefetch|no-copiers <main.ts arguments>, got '${which}'`);
  Deno.exit(2);
}
Deno.exit(await main(args, { speed }));
