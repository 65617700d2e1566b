/**
 * `--config FILE`: folder pairs from a TOML file. Top-level keys are defaults,
 * each `[[pair]]` is a pair with a `name`; every key is a flag's snake_case
 * name and takes what the flag takes. Each pair's keys are turned back into
 * flags and parsed by `parseCommandLine`, so any flag in lib/config/cli.ts's table
 * works in the file, with the same checks; the command line overrides both.
 *
 * @module
 */
import { dirname, extname, join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { closestFlag, type Config, FLAGS, parseCommandLine, UsageError } from "./cli.ts";
import { ConfigError } from "./check_config.ts";
import { inside, realish } from "../loop/check_roots.ts";

/** A bad config file: the message is one line, `FILE:LINE: what is wrong`. */
export class ConfigFileError extends Error {
  /** @param message One line naming the file, the line and the key. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigFileError";
  }
}

/** One folder pair of the file. */
export interface Pair {
  /** Its `name`, shown in its log lines and metrics. */
  name: string;
  /** Its settings, as the command line would give them. */
  config: Config;
}

/** What a config file and the command line ask for. */
export type ConfigCommand =
  | { kind: "run"; pairs: Pair[] }
  | { kind: "health"; pairs: { name: string; healthFile: string }[] };

/**
 * Keys for the whole process: one log, one level, one metrics file, one engine (its choice hangs
 * on the process's own grants). Not allowed in a pair.
 */
export const PROCESS_KEYS: ReadonlySet<string> = new Set([
  "log_file",
  "log_level",
  "log_format",
  "no_progress",
  "quiet",
  "metrics_file",
  "engine",
]);

/** Flags that are commands, not settings: never in the file. */
const COMMAND_FLAGS = new Set(["config", "health", "help", "version"]);

/**
 * Keys that name paths: relative ones resolve from the config file's folder.
 * By name, so flags added to lib/config/cli.ts with such names need nothing more.
 */
const PATH_KEY = /(_path|_file|_dir|_from|_mount)$/;

/** A pair's name: it goes into file names and metric labels. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A key's value, as flags: strings for a value-taking flag, true for a switch. */
type Values = string[] | true;

/** Where a value came from: a line of the file, or the command line. */
interface Setting {
  key: string;
  values: Values;
  line?: number;
  fromPair?: boolean;
}

/**
 * Reads a config file and combines it with the command line (the arguments
 * without `--config`'s pair are fine too; `--config` itself is dropped).
 *
 * @example Usage
 * ```ts
 * import { loadConfigFile } from "./config_file.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(
 *   `${dir}/f.toml`,
 *   '[[pair]]\nname = "a"\nsource_path = "src"\nreplica_path = "dst"\n',
 * );
 * const command = loadConfigFile(`${dir}/f.toml`, ["--config", `${dir}/f.toml`, "--once"]);
 * command.kind; // "run", one pair "a" with source `${dir}/src`
 * ```
 *
 * @param file The config file (relative to the working directory).
 * @param args The whole command line.
 * @returns The pairs to run, or to check with `--health`.
 * @throws {ConfigFileError} When the file cannot be read, is not TOML, or has a bad key or value.
 * @throws {UsageError} When a flag given on the command line has a bad value.
 */
export function loadConfigFile(file: string, args: readonly string[]): ConfigCommand {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    const reason = error instanceof Error
      ? error.message.replace(/\s*\(os error \d+\).*$/s, "").toLowerCase()
      : String(error);
    throw new ConfigFileError(`--config '${file}' cannot be read: ${reason}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const what = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigFileError(`${file}:${error.line}:${error.column}: not valid TOML: ${what}`);
  }
  const lines = keyLines(text);
  const base = dirname(resolve(file));
  const at = (line: number | undefined) => `${file}:${line ?? 1}`;

  const topKeys = Object.keys(FLAGS).filter((k) => !COMMAND_FLAGS.has(k));
  const pairKeys = ["name", ...topKeys.filter((k) => !PROCESS_KEYS.has(k))];
  const unknown = (key: string, line: number | undefined, where: string, known: string[]) => {
    if (COMMAND_FLAGS.has(key)) {
      return new ConfigFileError(
        `${at(line)}: '${key}' is not a setting: give --${key} on the command line`,
      );
    }
    const guess = closestFlag(key, known)?.slice(2);
    return new ConfigFileError(
      `${at(line)}: unknown key '${key}'${where}` + (guess ? `: did you mean '${guess}'?` : ""),
    );
  };

  const top: Setting[] = [];
  let tables: unknown[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const line = lines.top.get(key);
    if (key === "pair") {
      if (!Array.isArray(value) || value.some((t) => !isTable(t))) {
        throw new ConfigFileError(
          `${at(line)}: 'pair' must be [[pair]] tables (name, source_path, replica_path, ...)`,
        );
      }
      tables = value;
      continue;
    }
    if (!topKeys.includes(key)) throw unknown(key, line, "", [...topKeys, "pair"]);
    top.push({ key, values: toValues(key, value, at(line), base), line });
  }
  if (tables.length === 0) {
    throw new ConfigFileError(
      `${file}: no [[pair]]: add one with name, source_path and replica_path`,
    );
  }

  const given = commandLineSettings(args);
  const givenKeys = new Set(given.map((s) => s.key));
  const names = new Map<string, number>();
  const commands = tables.map((table, index) => {
    const info = lines.pairs[index] ?? { line: lines.top.get("pair"), keys: new Map() };
    const where = ` in [[pair]]`;
    const own: Setting[] = [];
    let name: string | undefined;
    for (const [key, value] of Object.entries(table as Record<string, unknown>)) {
      const line = info.keys.get(key) ?? info.line;
      if (PROCESS_KEYS.has(key)) {
        throw new ConfigFileError(
          `${at(line)}: ${key} applies to the whole process: set it at the top of the file, ` +
            "before the first [[pair]]",
        );
      }
      if (!pairKeys.includes(key)) throw unknown(key, line, where, pairKeys);
      if (key === "name") {
        if (typeof value !== "string" || !NAME.test(value)) {
          throw new ConfigFileError(
            `${at(line)}: name must be letters, digits, '.', '_' or '-' (it names files and ` +
              `metrics), got ${show(value)}`,
          );
        }
        const first = names.get(value);
        if (first !== undefined) {
          throw new ConfigFileError(
            `${at(line)}: name '${value}' is taken by the [[pair]] at line ${first}: ` +
              "give each pair its own",
          );
        }
        names.set(value, line ?? 0);
        name = value;
        continue;
      }
      own.push({ key, values: toValues(key, value, at(line), base), line, fromPair: true });
    }
    if (name === undefined) {
      throw new ConfigFileError(`${at(info.line)}: [[pair]] needs a name (name = "photos")`);
    }
    // The command line overrides the pair, which overrides the top level.
    const ownKeys = new Set(own.map((s) => s.key));
    const settings = [
      ...own.filter((s) => !givenKeys.has(s.key)),
      ...top.filter((s) => !givenKeys.has(s.key) && !ownKeys.has(s.key)),
      ...given,
    ].map((s) => perPair(s, name!));
    return { name, line: info.line, settings, command: parsePair(settings, name, file, info.line) };
  });

  if (commands.every((c) => c.command.kind === "health")) {
    return {
      kind: "health",
      pairs: commands.map((c) => ({
        name: c.name,
        healthFile: (c.command as { healthFile: string }).healthFile,
      })),
    };
  }
  return {
    kind: "run",
    pairs: commands.map((c) => ({
      name: c.name,
      config: (c.command as { config: Config }).config,
    })),
  };
}

/**
 * A default that names one file or folder would be shared by every pair: a
 * `health_file` from the top level or the command line becomes one per pair
 * (`health.json` -> `health.photos.json`), a `backup_dir` one folder per pair
 * (`DIR/photos`). Set in a pair, they are used as they are.
 */
function perPair(setting: Setting, name: string): Setting {
  if (setting.fromPair || setting.values === true) return setting;
  if (setting.key === "health_file") {
    return {
      ...setting,
      values: setting.values.map((path) => {
        if (path === "") return path;
        const ext = extname(path);
        return `${path.slice(0, path.length - ext.length)}.${name}${ext}`;
      }),
    };
  }
  if (setting.key === "backup_dir") {
    return {
      ...setting,
      values: setting.values.map((path) => (path === "" ? path : join(path, name))),
    };
  }
  return setting;
}

/** Parses a pair's settings as a command line; a bad value is blamed on its line. */
function parsePair(settings: Setting[], name: string, file: string, header: number | undefined) {
  const args: string[] = [];
  for (const { key, values } of settings) {
    if (values === true) args.push(`--${key}`);
    else for (const value of values) args.push(`--${key}=${value}`);
  }
  try {
    const command = parseCommandLine(args);
    if (command.kind !== "run" && command.kind !== "health") {
      throw new Error(`unexpected command '${command.kind}' from a config file`);
    }
    return command;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // The first flag the message names that has a value is the one to blame.
    let blamed: Setting | undefined;
    for (const match of error.message.matchAll(/--([a-z][a-z0-9_-]*)/g)) {
      blamed = settings.find((s) => s.key === match[1].replaceAll("-", "_"));
      if (blamed) break;
    }
    if (blamed && blamed.line === undefined) throw error; // The command line's own mistake.
    const message = error.message.replace(
      /--([a-z][a-z0-9_-]*)/g,
      (flag, key: string) => (FLAGS[key.replaceAll("-", "_")] ? key.replaceAll("-", "_") : flag),
    );
    const where = blamed === undefined || blamed.fromPair ? `[[pair]] '${name}': ` : "";
    throw new ConfigFileError(`${file}:${blamed?.line ?? header ?? 1}: ${where}${message}`);
  }
}

/** A TOML value as flag values, checked against the flag's kind; paths resolved from `base`. */
function toValues(key: string, value: unknown, at: string, base: string): Values {
  const spec = FLAGS[key];
  if (spec.type === "boolean") {
    if (typeof value !== "boolean") {
      throw new ConfigFileError(`${at}: ${key} takes true or false, got ${show(value)}`);
    }
    return value ? true : [];
  }
  const one = (v: unknown): string => {
    if (typeof v === "string") return PATH_KEY.test(key) && v !== "" ? resolve(base, v) : v;
    if (typeof v === "number" && !PATH_KEY.test(key)) return String(v);
    const kind = spec.multiple ? "text or a list of text" : "one value (text or a number)";
    throw new ConfigFileError(
      `${at}: ${key} takes ${PATH_KEY.test(key) ? "a path in quotes" : kind}, got ${show(v)}`,
    );
  };
  if (Array.isArray(value)) {
    if (!spec.multiple) {
      throw new ConfigFileError(`${at}: ${key} takes one value, not a list, got ${show(value)}`);
    }
    return value.map(one);
  }
  return [one(value)];
}

/** The command line's flags in order, by snake_case name (it has been parsed once already). */
function commandLineSettings(args: readonly string[]): Setting[] {
  const out: Setting[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    const key = arg.slice(2, eq < 0 ? undefined : eq).replaceAll("-", "_");
    const spec = FLAGS[key];
    if (spec === undefined || key === "config") {
      if (key === "config" && eq < 0) i++;
      continue;
    }
    if (spec.type === "boolean") {
      out.push({ key, values: true });
      continue;
    }
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    const last = out.find((s) => s.key === key);
    if (last && spec.multiple && last.values !== true) last.values.push(value);
    else out.push({ key, values: [value] });
  }
  return out;
}

/** Where each key is: the top level's, and each `[[pair]]`'s with the line of its header. */
function keyLines(text: string) {
  const top = new Map<string, number>();
  const pairs: { line: number; keys: Map<string, number> }[] = [];
  let current: Map<string, number> | undefined = top;
  let inString: string | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const n = i + 1;
    if (inString !== undefined) {
      if (line.split(inString).length % 2 === 0) inString = undefined;
      continue;
    }
    if (/^\s*\[\[\s*pair\s*\]\]/.test(line)) {
      current = new Map();
      pairs.push({ line: n, keys: current });
    } else if (/^\s*\[/.test(line)) {
      const table = line.match(/^\s*\[+\s*([^\].\s]+)/)?.[1]?.replace(/^["']|["']$/g, "");
      if (table !== undefined && !top.has(table)) top.set(table, n);
      current = undefined; // Keys of another table: already blamed on its header.
    } else {
      const key = line.match(/^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[=.]/)?.[1];
      if (key !== undefined && current && !current.has(key)) {
        current.set(key.replace(/^["']|["']$/g, ""), n);
      }
    }
    for (const quote of ['"""', "'''"]) {
      if (line.split(quote).length % 2 === 0) inString = quote;
    }
  }
  return { top, pairs };
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** A value as the file would show it. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Date) return `a date (${value.toISOString()})`;
  if (Array.isArray(value)) return "a list";
  if (isTable(value)) return "a table";
  return String(value);
}

/**
 * Checks the pairs against each other, after the per-pair checks of
 * `checkConfig`: no two replicas the same or one inside another (one mirror
 * would delete the other), and no file or folder foldersync writes (log,
 * metrics, health files, backup folders) inside any pair's source or replica.
 * Paths must be absolute.
 *
 * @example Usage
 * ```ts
 * import { checkPairs } from "./config_file.ts";
 * import { parseCommandLine } from "./cli.ts";
 * const a = parseCommandLine(["--source_path", "/srv/a", "--replica_path", "/mnt/a"]);
 * const b = parseCommandLine(["--source_path", "/srv/b", "--replica_path", "/mnt/b"]);
 * if (a.kind === "run" && b.kind === "run") {
 *   checkPairs([{ name: "a", config: a.config }, { name: "b", config: b.config }]);
 * }
 * ```
 *
 * @param pairs The pairs, paths absolute.
 * @throws {ConfigError} Naming the pairs and the path.
 */
export function checkPairs(pairs: readonly Pair[]): void {
  const trees = pairs.flatMap(({ name, config }) => [
    { name, what: "source", real: realish(config.source) },
    { name, what: "replica", real: realish(config.replica) },
  ]);
  const replicas = trees.filter((t) => t.what === "replica");
  for (const a of replicas) {
    for (const b of replicas) {
      if (a === b) continue;
      if (a.real === b.real) {
        throw new ConfigError(
          `pairs '${a.name}' and '${b.name}' have the same replica '${a.real}': give each its own`,
        );
      }
      if (inside(a.real, b.real)) {
        throw new ConfigError(
          `pair '${a.name}' has its replica inside the replica of pair '${b.name}', whose ` +
            `mirror would delete it: put '${a.real}' elsewhere`,
        );
      }
    }
  }
  const written: { name: string; key: string; path: string; real: string }[] = [];
  for (const { name, config } of pairs) {
    const files: [string, string | undefined][] = [
      ["log_file", config.logFile],
      ["metrics_file", config.metricsFile],
      ["health_file", config.healthFile],
      ["backup_dir", config.backupDir],
    ];
    for (const [key, path] of files) {
      if (path !== undefined) written.push({ name, key, path, real: realish(path) });
    }
  }
  for (const file of written) {
    for (const tree of trees) {
      if (tree.name === file.name) continue; // checkConfig has checked the pair's own.
      if (file.real === tree.real || inside(file.real, tree.real) || inside(tree.real, file.real)) {
        throw new ConfigError(
          `${file.key} '${file.path}' of pair '${file.name}' overlaps the ${tree.what} of pair ` +
            `'${tree.name}' ('${tree.real}'): move it elsewhere`,
        );
      }
    }
  }
  const seen = new Map<string, string>();
  for (const file of written) {
    if (file.key !== "health_file") continue;
    const other = seen.get(file.real);
    if (other) {
      throw new ConfigError(
        `pairs '${other}' and '${file.name}' share the health file '${file.path}': give each its own`,
      );
    }
    seen.set(file.real, file.name);
  }
}
