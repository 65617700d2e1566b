/**
 * The command line: flags, their aliases, validation and the help text.
 *
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDuration } from "../report/duration.ts";
import { filterRules } from "./filter_flags.ts";
import { UsageError } from "./usage_error.ts";
export { UsageError };
import type { LogFormat, LogLevelName } from "../report/logging.ts";
import {
  chooseEngine,
  ENGINE_CHOICES,
  type EngineFacts,
  engineFacts,
  type EngineName,
  type EngineWanted,
  needsNative,
} from "./engine.ts";

/** Everything a run needs, parsed and checked. */
export interface Config {
  /** `--source_path`. */
  source: string;
  /** `--replica_path`. */
  replica: string;
  /** `--sync_interval`, in seconds. */
  intervalSeconds: number;
  /** `--log_file`; undefined logs to the console only. */
  logFile?: string;
  /** `--once` (or `--dry-run` without `--watch`): one cycle, then exit. */
  once: boolean;
  /** `--dry-run`. */
  dryRun: boolean;
  /** `--checksum`. */
  checksum: boolean;
  /** `--modify-window`, in seconds: mtimes this close are the same (default 0). */
  modifyWindowSeconds?: number;
  /** `--hard-links`: files linked together in the source are linked alike in the replica. */
  hardLinks: boolean;
  /**
   * The filter rules in the order given (`--exclude`, `--include`, and the
   * lines of `--exclude-from` and `--include-from` files): `- PATTERN`,
   * `+ PATTERN` or `!` (see exclude.ts).
   */
  filters: string[];
  /** `--delete-excluded`: excluded replica entries are removed too, not kept. */
  deleteExcluded: boolean;
  /** `--allow-empty-source`. */
  allowEmptySource: boolean;
  /** `--max-delete`: the most removals a cycle may make. */
  maxDelete?: number;
  /** `--backup_dir`: where removed and overwritten replica entries are moved. */
  backupDir?: string;
  /** `--backup_keep`, in seconds: backup folders older than this are removed. */
  backupKeepSeconds?: number;
  /** `--require_mount`, repeatable: a cycle runs only while each is a mount point. */
  requireMount: string[];
  /** `--log_level`. */
  logLevel: LogLevelName;
  /** `--log_format`. */
  logFormat: LogFormat;
  /** `--health_file`: where each full cycle records what it did. */
  healthFile?: string;
  /** `--concurrency`: copies at once. */
  concurrency: number;
  /** `--watch`: also sync changed directories as soon as changes settle. */
  watch: boolean;
  /** `--debounce`, in milliseconds: quiet time before a watch-triggered sync. */
  debounceMs: number;
  /** False with `--no-progress` or `--quiet`; the line is only ever drawn on a terminal. */
  progress: boolean;
  /** `--itemize-changes` (`-i`): change lines carry rsync's 11-character codes. */
  itemizeChanges: boolean;
  /** `--quiet`: only errors on the console (the log file keeps `--log_level`). */
  quiet: boolean;
  /** `--one-file-system`: directories on another filesystem than their root are not entered. */
  oneFileSystem: boolean;
  /** `--metrics_file`: Prometheus text written after each cycle. */
  metricsFile?: string;
  /** The engine `--engine` chose (lib/config/engine.ts): `auto` is resolved already. */
  engine: EngineName;
  /** `--xattrs`: extended attributes and ACLs are mirrored (native engine only). */
  xattrs: boolean;
}

/** What the command line asks for. */
export type Command =
  | { kind: "run"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "health"; healthFile: string }
  /** `--config FILE`: the pairs come from the file (lib/config/config_file.ts), the other flags override it. */
  | { kind: "config"; file: string };

/** How a flag is parsed; lib/config/config_file.ts maps the keys of a config file through the same table. */
export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
}

/** Every flag, by its snake_case name. */
export const FLAGS: Record<string, FlagSpec> = {
  source_path: { type: "string" },
  replica_path: { type: "string" },
  sync_interval: { type: "string" },
  log_file: { type: "string" },
  once: { type: "boolean" },
  dry_run: { type: "boolean" },
  checksum: { type: "boolean" },
  modify_window: { type: "string" },
  hard_links: { type: "boolean" },
  exclude: { type: "string", multiple: true },
  include: { type: "string", multiple: true },
  exclude_from: { type: "string", multiple: true },
  include_from: { type: "string", multiple: true },
  delete_excluded: { type: "boolean" },
  allow_empty_source: { type: "boolean" },
  max_delete: { type: "string" },
  backup_dir: { type: "string" },
  backup_keep: { type: "string" },
  require_mount: { type: "string", multiple: true },
  log_level: { type: "string" },
  log_format: { type: "string" },
  health_file: { type: "string" },
  health: { type: "boolean" },
  concurrency: { type: "string" },
  watch: { type: "boolean" },
  debounce: { type: "string" },
  no_progress: { type: "boolean" },
  itemize_changes: { type: "boolean", short: "i" },
  quiet: { type: "boolean" },
  one_file_system: { type: "boolean" },
  config: { type: "string" },
  metrics_file: { type: "string" },
  engine: { type: "string" },
  xattrs: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
};

const LEVELS: readonly LogLevelName[] = ["debug", "info", "warning", "error"];

/**
 * Parses the command line (pass `Deno.args`). Flags may be spelled with `_`
 * or `-`; unknown flags, stray arguments and bad values throw a
 * {@linkcode UsageError} naming the flag.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./cli.ts";
 * const command = parseCommandLine(["--source_path", "a", "--replica-path", "b", "--once"]);
 * command.kind; // "run"
 * ```
 *
 * @param args The arguments after the script name.
 * @param facts What `--engine` is chosen from (default: this process's, see lib/config/engine.ts).
 * @returns What to do.
 */
export function parseCommandLine(
  args: readonly string[],
  facts: EngineFacts = engineFacts(),
): Command {
  const options: Record<string, FlagSpec> = {};
  // node:util parseArgs treats --source-path and --source_path as different options.
  for (const [name, spec] of Object.entries(FLAGS)) {
    options[name] = spec;
    const kebab = name.replaceAll("_", "-");
    if (kebab !== name) options[kebab] = { type: spec.type, multiple: spec.multiple === true };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: withDashValues(args, options),
      options,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError(error, Object.keys(options)));
  }
  // Merge the two spellings of each flag.
  const values: Record<string, string | boolean | string[] | undefined> = {};
  const spelled: Record<string, string> = {}; // Each flag as the user wrote it, for messages.
  for (const name of Object.keys(FLAGS)) {
    const kebab = name.replaceAll("_", "-");
    const a = (parsed.values as Record<string, unknown>)[name];
    const b = kebab === name ? undefined : (parsed.values as Record<string, unknown>)[kebab];
    if (FLAGS[name].multiple) {
      values[name] = [...((a as string[]) ?? []), ...((b as string[]) ?? [])];
    } else if (a !== undefined && b !== undefined) {
      throw new UsageError(`--${name} is given twice (as --${name} and --${kebab})`);
    } else values[name] = (a ?? b) as string | boolean | undefined;
    spelled[name] = `--${a === undefined && b !== undefined ? kebab : name}`;
  }
  /** A flag's name as the user wrote it (snake_case when not given). */
  const flag = (name: string) => spelled[name];

  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const str = (name: string) => values[name] as string | undefined;
  const configFile = str("config");
  if (configFile !== undefined) {
    if (configFile === "") throw new UsageError("--config needs a file");
    return { kind: "config", file: configFile };
  }

  if (values.health) {
    const healthFile = str("health_file");
    if (!healthFile) throw new UsageError("--health needs --health_file PATH");
    return { kind: "health", healthFile };
  }

  const source = str("source_path");
  const replica = str("replica_path");
  if (!source) throw new UsageError("missing --source_path (the folder to mirror)");
  if (!replica) throw new UsageError("missing --replica_path (the folder to keep as its mirror)");

  // A preview runs one cycle and exits (as rsync's and rclone's do), unless it watches.
  const once = values.once === true || (values.dry_run === true && values.watch !== true);
  let intervalSeconds = 60;
  const interval = str("sync_interval");
  if (interval !== undefined) {
    const seconds = parseDuration(interval);
    if (seconds === undefined || !Number.isFinite(seconds)) {
      throw new UsageError(
        `${
          flag("sync_interval")
        } '${interval}' is not a duration: use seconds (60, 0.5) or 90s, 5m, 1h`,
      );
    }
    // One cycle waits for no interval: any duration goes (a script may pass 0).
    if (seconds <= 0 && !once) {
      throw new UsageError(`${flag("sync_interval")} must be more than zero, got '${interval}'`);
    }
    if (seconds > 0) intervalSeconds = seconds;
  }

  let debounceMs = 200;
  const debounce = str("debounce");
  if (debounce !== undefined) {
    const seconds = parseDuration(debounce);
    if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(
        `${flag("debounce")} '${debounce}' is not a duration: use seconds (0.5) or 200ms, 1s`,
      );
    }
    debounceMs = seconds * 1000;
  }
  if (values.watch && values.once) {
    throw new UsageError("--watch and --once do not go together: drop one of them");
  }

  const filters = filterRules(parsed.tokens ?? []);

  const backupDir = str("backup_dir") || undefined;
  let backupKeepSeconds: number | undefined;
  const keep = str("backup_keep");
  if (keep !== undefined) {
    if (!backupDir) throw new UsageError(`${flag("backup_keep")} needs --backup_dir DIR`);
    backupKeepSeconds = parseDuration(keep);
    if (backupKeepSeconds === undefined || !(backupKeepSeconds > 0)) {
      throw new UsageError(
        `${flag("backup_keep")} '${keep}' is not a duration of more than zero: use 30d, 12h`,
      );
    }
  }

  let modifyWindowSeconds = 0;
  const window = str("modify_window");
  if (window !== undefined) {
    const seconds = parseDuration(window);
    if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(
        `--modify-window '${window}' is not a duration: use seconds (1, 0.5) or 2s, 500ms`,
      );
    }
    modifyWindowSeconds = seconds;
  }

  const requireMount = values.require_mount as string[];
  if (requireMount.some((path) => path === "")) {
    throw new UsageError("--require_mount needs a path (a mount point, e.g. the replica's disk)");
  }

  const logLevel = (str("log_level") ?? "info").toLowerCase();
  if (!LEVELS.includes(logLevel as LogLevelName)) {
    throw new UsageError(
      `${flag("log_level")} '${logLevel}' is not one of ${LEVELS.join(", ")}`,
    );
  }
  const logFormat = (str("log_format") ?? "text").toLowerCase();
  if (logFormat !== "text" && logFormat !== "json") {
    throw new UsageError(`${flag("log_format")} '${logFormat}' is not one of text, json`);
  }
  const wanted = (str("engine") ?? "auto").toLowerCase();
  if (!ENGINE_CHOICES.includes(wanted as EngineWanted)) {
    throw new UsageError(
      `${flag("engine")} '${wanted}' is not one of ${ENGINE_CHOICES.join(", ")}`,
    );
  }
  const engine = chooseEngine(wanted as EngineWanted, facts, flag("engine"));
  const xattrs = values.xattrs === true;
  if (xattrs) needsNative(flag("xattrs"), engine, wanted as EngineWanted, flag("engine"));

  return {
    kind: "run",
    config: {
      source,
      replica,
      intervalSeconds,
      logFile: str("log_file") || undefined,
      once,
      dryRun: values.dry_run === true,
      checksum: values.checksum === true,
      modifyWindowSeconds,
      hardLinks: values.hard_links === true,
      filters,
      deleteExcluded: values.delete_excluded === true,
      allowEmptySource: values.allow_empty_source === true,
      maxDelete: wholeNumber(flag("max_delete"), str("max_delete"), 0),
      backupDir,
      backupKeepSeconds,
      requireMount,
      logLevel: logLevel as LogLevelName,
      logFormat: logFormat as LogFormat,
      healthFile: str("health_file") || undefined,
      concurrency: wholeNumber(flag("concurrency"), str("concurrency"), 1) ?? 8,
      watch: values.watch === true,
      debounceMs,
      progress: values.no_progress !== true && values.quiet !== true,
      itemizeChanges: values.itemize_changes === true,
      quiet: values.quiet === true,
      oneFileSystem: values.one_file_system === true,
      metricsFile: str("metrics_file") || undefined,
      engine,
      xattrs,
    },
  };
}

function wholeNumber(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new UsageError(`${flag} takes a whole number of at least ${min}, got '${text}'`);
  }
  return Number(text);
}

/**
 * Joins a value-taking flag with a following value that starts with a single
 * dash (`--sync_interval -1` -> `--sync_interval=-1`): node:util's parseArgs
 * refuses such a value as "ambiguous", so it would never reach the check that
 * says what is wrong with it. A following `--flag` or short flag (`-h`) is
 * left alone: that flag's value is missing.
 */
function withDashValues(args: readonly string[], options: Record<string, FlagSpec>): string[] {
  const shorts = new Set(
    Object.values(FLAGS).flatMap((spec) => spec.short ? [`-${spec.short}`] : []),
  );
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const next = args[i + 1];
    const takesValue = arg.startsWith("--") && options[arg.slice(2)]?.type === "string";
    if (
      takesValue && next !== undefined && next.startsWith("-") && !next.startsWith("--") &&
      !shorts.has(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Levenshtein distance: the fewest one-character edits from `a` to `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const change = row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min(change, row[j] + 1, next[j - 1] + 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * The known flag closest to an unknown one, when it is close enough to be a
 * typo (lib/config/config_file.ts asks the same of its keys).
 *
 * @example Usage
 * ```ts
 * import { closestFlag } from "./cli.ts";
 * closestFlag("--sync_intervl", ["sync_interval", "once"]); // "--sync_interval"
 * ```
 *
 * @param unknown What was typed.
 * @param names The known names, without dashes.
 * @returns The closest, as `--name`, or undefined.
 */
export function closestFlag(unknown: string, names: readonly string[]): string | undefined {
  const typed = unknown.replace(/^-+/, "").replace(/=.*$/, "");
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.min(3, Math.floor(typed.length / 3)));
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (distance <= bestDistance && (best === undefined || distance < bestDistance)) {
      best = name;
      bestDistance = distance;
    }
  }
  return best === undefined ? undefined : `--${best}`;
}

function describeParseError(error: unknown, names: readonly string[]): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = message.match(/Unknown option '([^']+)'/);
  if (unknown) {
    const guess = unknown[1].startsWith("--") ? closestFlag(unknown[1], names) : undefined;
    return `unknown flag ${unknown[1]}${guess ? `: did you mean ${guess}?` : ""}`;
  }
  const missing = message.match(/Option '(?:-\w, )?(--[^ ]+) <value>' argument missing/);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = message.match(/Option '(?:-\w, )?(--[^ ']+)' argument is ambiguous/);
  if (ambiguous) return `${ambiguous[1]} needs a value`;
  const positional = message.match(/Unexpected argument '([^']+)'/);
  if (positional) {
    return `unexpected argument '${positional[1]}' (flags take the form --name value)`;
  }
  return message.split("\n")[0];
}

/** Where {@linkcode commandName} looks; each defaults to this process's own. */
export interface CommandNameContext {
  /** True in a binary made by `deno compile` (`Deno.build.standalone`). */
  standalone?: boolean;
  /** The running executable (`Deno.execPath()`). */
  execPath?: string;
  /** The main module's URL (`Deno.mainModule`). */
  mainModule?: string;
  /** The working directory (`Deno.cwd()`). */
  cwd?: string;
}

/**
 * How the user runs foldersync, for hints such as `Try '... --help'`: the
 * compiled binary's name (`foldersync`), or `deno run main.ts` with the path
 * to main.ts as seen from the working directory (absolute when it is
 * elsewhere, the URL when it is remote).
 *
 * @example Usage
 * ```ts
 * import { commandName } from "./cli.ts";
 * commandName({ standalone: false, mainModule: "file:///app/main.ts", cwd: "/app" }); // "deno run main.ts"
 * commandName({ standalone: true, execPath: "/usr/local/bin/foldersync" }); // "foldersync"
 * ```
 *
 * @param context Where to look; anything left out is this process's own.
 * @returns The command, without arguments.
 */
export function commandName(context: CommandNameContext = {}): string {
  if (context.standalone ?? Deno.build.standalone) {
    const path = context.execPath ?? Deno.execPath();
    return path.slice(path.lastIndexOf("/") + 1);
  }
  const mainModule = context.mainModule ?? Deno.mainModule;
  if (!mainModule.startsWith("file:")) return `deno run ${mainModule}`;
  const path = fileURLToPath(mainModule);
  let cwd = context.cwd;
  try {
    cwd ??= Deno.cwd();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return `deno run ${path}`; // The working directory is gone.
  }
  const rel = relative(cwd, path);
  return `deno run ${rel.startsWith("..") || isAbsolute(rel) ? path : rel}`;
}
