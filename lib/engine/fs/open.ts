/**
 * Opens the engine a cycle works through: the portable one, or the native one
 * (each loaded only when chosen, so the portable engine never needs `--allow-ffi`).
 *
 * @module
 */
import type { FileSystem } from "./types.ts";

/** The absolute roots a cycle works on. */
export interface Roots {
  source: string;
  replica: string;
}

/**
 * The engine for one cycle; closed by the caller when the cycle ends.
 *
 * @example Usage
 * ```ts
 * import { openEngine } from "./open.ts";
 * const fs = await openEngine("portable", { source: "/src", replica: "/dst" });
 * fs.close();
 * ```
 *
 * @param engine Which engine (the choice is made from the flags, see lib/config).
 * @param roots The roots it works on.
 * @param options `xattrs`: the native engine reads extended attributes as it lists (`--xattrs`).
 * @returns The engine.
 */
export async function openEngine(
  engine: "portable" | "native",
  roots: Roots,
  options: { xattrs?: boolean } = {},
): Promise<FileSystem> {
  // Each engine loaded only when chosen: the portable one brings node:fs, the native one libc.
  if (engine === "portable") return new (await import("./portable.ts")).PortableFileSystem();
  const { NativeFileSystem } = await import("./native/native_fs.ts");
  return new NativeFileSystem(roots, options);
}
