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
import { speedMechanisms } from "../lib/loop/run_loop.ts";
import { main } from "../main.ts";

const [which, ...args] = Deno.args;
if (which === "no-prefetch") speedMechanisms.prefetch = false;
else if (which === "no-copiers") speedMechanisms.copyWorkers = false;
else {
  console.error(`usage: variant.ts no-prefetch|no-copiers <main.ts arguments>, got '${which}'`);
  Deno.exit(2);
}
Deno.exit(await main(args));
