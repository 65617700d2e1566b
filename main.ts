/**
 * foldersync: a one-way, periodic folder mirror.
 *
 * ```sh
 * deno run --allow-read --allow-write main.ts --source_path S --replica_path R --sync_interval 60 --log_file L
 * ```
 *
 * This file only puts signal listeners in place and loads the program (lib/main.ts): loading it
 * takes a good part of a second on a busy machine, and without a listener a SIGHUP then (a
 * logrotate reload) would end the process.
 *
 * @module
 */
import "./lib/early_signals.ts";

/**
 * Runs foldersync with these command-line arguments (without the program
 * name) and returns the exit code; `deno run main.ts` calls it with
 * `Deno.args`.
 *
 * @example Usage
 * ```ts
 * import { main } from "./main.ts";
 * await main(["--help"]); // 0
 * ```
 *
 * @param args The arguments.
 * @param options For the bench: the speed mechanisms of a whole-tree cycle (default: both on).
 * @returns The exit code.
 */
export async function main(
  args: string[],
  options: { speed?: { prefetch: boolean; copyWorkers: boolean } } = {},
): Promise<number> {
  // A string literal: `deno compile` takes the program in.
  const program = await import("./lib/main.ts");
  return await program.main(args, options);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
