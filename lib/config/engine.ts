/**
 * `--engine`: which filesystem engine a run uses, from what was asked and what this process may do.
 * Reads the "ffi" permission's state with `querySync` only: it never prompts, needs no grant.
 *
 * @module
 */
import { UsageError } from "./usage_error.ts";

/** What `--engine` takes. */
export type EngineWanted = "auto" | "portable" | "native";

/** The engine a run uses: Deno's path-based filesystem API, or libc's fd-relative calls by FFI. */
export type EngineName = "portable" | "native";

/** The values `--engine` takes, for the flag's check and messages. */
export const ENGINE_CHOICES: readonly EngineWanted[] = ["auto", "portable", "native"];

/** What decides whether the native engine can run. */
export interface EngineFacts {
  /** `Deno.build.os`. */
  os: string;
  /** `Deno.build.arch`. */
  arch: string;
  /** True when FFI is granted without a path scope (`--allow-ffi` or `-A`). */
  ffi: boolean;
}

/** The architectures whose libc constants and layouts the native engine knows. */
const NATIVE_ARCHES: readonly string[] = ["x86_64", "aarch64"];

/**
 * This process's facts: its OS and architecture, and whether FFI is granted.
 * Never prompts (`querySync`).
 *
 * @example Usage
 * ```ts
 * import { engineFacts } from "./engine.ts";
 * engineFacts(); // { os: "linux", arch: "x86_64", ffi: false } under --allow-read --allow-write
 * ```
 *
 * @returns The facts {@linkcode chooseEngine} needs.
 */
export function engineFacts(): EngineFacts {
  return {
    os: Deno.build.os,
    arch: Deno.build.arch,
    ffi: Deno.permissions.querySync({ name: "ffi" }).state === "granted",
  };
}

/**
 * Chooses the engine: `auto` is native on Linux x86_64 or aarch64 with FFI
 * granted, else portable; `portable` is always portable; `native` where it
 * cannot run is refused, naming what is missing and what to do.
 *
 * @example Usage
 * ```ts
 * import { chooseEngine } from "./engine.ts";
 * chooseEngine("auto", { os: "linux", arch: "x86_64", ffi: true }); // "native"
 * chooseEngine("auto", { os: "linux", arch: "x86_64", ffi: false }); // "portable"
 * ```
 *
 * @param wanted What `--engine` asks for.
 * @param facts Where the process runs and what it may do.
 * @param flag The flag as the user spelled it, for the message.
 * @returns The engine to use.
 * @throws {UsageError} When `native` is asked for and cannot run here.
 */
export function chooseEngine(
  wanted: EngineWanted,
  facts: EngineFacts,
  flag = "--engine",
): EngineName {
  if (wanted === "portable") return "portable";
  const missing = nativeMissing(facts, flag);
  if (wanted === "auto") return missing === undefined ? "native" : "portable";
  if (missing !== undefined) throw new UsageError(missing);
  return "native";
}

/**
 * Refuses a flag only the native engine serves (`--xattrs`) when the portable one was chosen.
 *
 * @example Usage
 * ```ts
 * import { needsNative } from "./engine.ts";
 * needsNative("--xattrs", "native", "auto"); // fine
 * ```
 *
 * @param flag The flag as the user spelled it.
 * @param engine The engine chosen.
 * @param wanted What `--engine` asked for.
 * @param engineFlag `--engine` as the user spelled it.
 * @throws {UsageError} When the engine is the portable one, naming what to do.
 */
export function needsNative(
  flag: string,
  engine: EngineName,
  wanted: EngineWanted,
  engineFlag = "--engine",
): void {
  if (engine === "native") return;
  if (wanted === "portable") {
    throw new UsageError(
      `${flag} needs the native engine: drop ${engineFlag} portable, or drop ${flag}`,
    );
  }
  throw new UsageError(
    `${flag} needs the native engine (--allow-ffi on Linux): add --allow-ffi, or drop ${flag}`,
  );
}

/** Why the native engine cannot run here, as one line; undefined when it can. */
function nativeMissing(facts: EngineFacts, flag: string): string | undefined {
  if (facts.os !== "linux") {
    return `${flag} native runs on Linux only, not ${facts.os}: use ${flag} portable`;
  }
  if (!NATIVE_ARCHES.includes(facts.arch)) {
    return `${flag} native runs on x86_64 and aarch64 only, not ${facts.arch}: ` +
      `use ${flag} portable`;
  }
  if (!facts.ffi) {
    return `${flag} native needs --allow-ffi (unscoped): add it to deno run (or deno compile), ` +
      `or use ${flag} portable`;
  }
  return undefined;
}
