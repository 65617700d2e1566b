/**
 * Turning errors into one line a user can act on.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { ChangedError } from "./recheck.ts";

/** Raised when a source file changed while it was being copied; the copy is discarded. */
export class SourceChangedError extends Error {
  /** @param path The source path that changed. */
  constructor(path: string) {
    super(`'${path}' changed while it was being copied`);
    this.name = "SourceChangedError";
  }
}

/** Thrown when the source is no longer the regular file the scan saw, before it is opened. */
export class NotARegularFileError extends Error {
  /** @param path The source path. */
  constructor(path: string) {
    super(`'${path}' is no longer the regular file scanned`);
    this.name = "NotARegularFileError";
  }
}

/**
 * A cycle cannot start: a root (the source or replica folder) cannot be used.
 * The message is one line naming the path, the reason and what to do.
 */
export class RootError extends Error {
  /**
   * @param side Which root.
   * @param path Its path.
   * @param cause What was thrown.
   * @param what What was being done (default: "cannot use").
   */
  constructor(side: "source" | "replica", path: string, cause: unknown, what = "cannot use") {
    const { reason, hint } = explain(cause);
    super(`${what} ${side} '${path}': ${reason}${hint ? ` (${hint})` : ""}`);
    this.name = "RootError";
  }
}

/** A reason and a hint for an error met on some path. */
export interface Explanation {
  /** What went wrong, in a few words (no trailing period). */
  reason: string;
  /** What the user can do about it (empty when nothing useful can be said). */
  hint: string;
}

function code(error: unknown): string | undefined {
  const c = (error as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

/**
 * Explains an error met while reading or writing a path: a short reason and a
 * hint on what to do, for the one-line messages users see.
 *
 * @example Usage
 * ```ts
 * import { explain } from "./errors.ts";
 * explain(new Deno.errors.PermissionDenied("x")).reason; // "permission denied"
 * ```
 *
 * @param error What was thrown.
 * @returns The explanation.
 */
export function explain(error: unknown): Explanation {
  const c = code(error);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.NotCapable && /symlink/i.test(message)) {
    return {
      reason: "Deno creates symlinks only with unscoped --allow-read and --allow-write",
      hint: "run without narrowing them to paths to mirror links, or --exclude the links",
    };
  }
  if (error instanceof Deno.errors.NotCapable) {
    return {
      reason: "Deno did not grant access",
      hint: "run with --allow-read and --allow-write covering the source, replica and log file",
    };
  }
  const name = (error as Error | undefined)?.name;
  if (name === "SourceChangedError") {
    return { reason: "it changed while being copied", hint: "it is copied again next cycle" };
  }
  if (name === "NotARegularFileError") {
    return {
      reason: "the source is no longer the regular file scanned (replaced meanwhile?)",
      hint: "it is looked at again next cycle",
    };
  }
  if (error instanceof Deno.errors.PermissionDenied || c === "EACCES" || c === "EPERM") {
    return { reason: "permission denied", hint: "check its owner and mode bits" };
  }
  if (error instanceof Deno.errors.NotFound || c === "ENOENT") {
    return { reason: "it vanished during the run", hint: "it is looked at again next cycle" };
  }
  if (c === "ENOSPC" || /No space left on device/i.test(message)) {
    return { reason: "no space left on device", hint: "free space on the replica's filesystem" };
  }
  if (c === "EROFS" || /Read-only file system/i.test(message)) {
    return { reason: "read-only file system", hint: "mount the replica read-write" };
  }
  if (error instanceof Deno.errors.NotADirectory || c === "ENOTDIR") {
    return { reason: "a path component is not a directory", hint: "" };
  }
  if (c === "EDQUOT" || /quota exceeded/i.test(message)) {
    return { reason: "disk quota exceeded", hint: "free space or raise the quota" };
  }
  return { reason: message.replace(/\s*\(os error \d+\)/, "").replace(/\.$/, ""), hint: "" };
}

/** An error as it crosses between threads (`postMessage` cannot clone Deno's error classes). */
export interface ErrorInfo {
  /** The class name, e.g. `NotFound`. */
  name: string;
  /** The message. */
  message: string;
  /** The errno-style code, when there is one. */
  code?: string;
}

/**
 * Flattens an error for `postMessage`; {@linkcode reviveError} rebuilds it.
 *
 * @example Usage
 * ```ts
 * import { reviveError, toErrorInfo } from "./errors.ts";
 * reviveError(toErrorInfo(new Deno.errors.NotFound("x"))) instanceof Deno.errors.NotFound; // true
 * ```
 *
 * @param error What was thrown.
 * @returns Its name, message and code.
 */
export function toErrorInfo(error: unknown): ErrorInfo {
  const e = error as { name?: string; message?: string; code?: string };
  return { name: e?.name ?? "Error", message: e?.message ?? String(error), code: e?.code };
}

/**
 * Rebuilds an error flattened by {@linkcode toErrorInfo}, as the same
 * `Deno.errors` class when there is one, so {@linkcode explain} reads it alike.
 *
 * @example Usage
 * ```ts
 * import { reviveError } from "./errors.ts";
 * reviveError({ name: "PermissionDenied", message: "no" }) instanceof Deno.errors.PermissionDenied; // true
 * ```
 *
 * @param info The flattened error.
 * @returns The error.
 */
export function reviveError(info: ErrorInfo): Error {
  const Class = (Deno.errors as unknown as Record<string, ErrorConstructor | undefined>)[info.name];
  const error = Class ? new Class(info.message) : new Error(info.message);
  const own = OWN_ERRORS[info.name];
  if (own) Object.setPrototypeOf(error, own.prototype);
  error.name = info.name;
  if (info.code) (error as { code?: string }).code = info.code;
  return error;
}

/** The engine's own errors a copy may throw, by name: revived as the same class. */
const OWN_ERRORS: Record<string, { prototype: Error } | undefined> = {
  ChangedError,
  SourceChangedError,
  NotARegularFileError,
};

/** A check refused to run the cycle. The message says what and what to do. */
export class SafetyError extends Error {
  /** @param message One line: what is wrong, on which path, what to do. */
  constructor(message: string) {
    super(message);
    this.name = "SafetyError";
  }
}

/**
 * The refusal for a replica whose parent folder is missing.
 *
 * @example Usage
 * ```ts
 * import { noReplicaParent } from "./errors.ts";
 * noReplicaParent("/mnt/backup/replica").message;
 * ```
 *
 * @param replica The replica path.
 * @returns The error to throw.
 */
export function noReplicaParent(replica: string): SafetyError {
  const absolute = resolve(replica);
  return new SafetyError(
    `The replica's folder '${dirname(absolute)}' does not exist (is its volume mounted?): ` +
      `foldersync creates only '${basename(absolute)}' itself`,
  );
}

/** `sameContent` (of either engine) may not read the second file (the replica's). */
export class UnreadableError extends Error {
  /** @param path The file. */
  constructor(path: string) {
    super(`'${path}' may not be read`);
    this.name = "UnreadableError";
  }
}
