/**
 * The program behind main.ts: parses, wires and runs; signals; the exit code.
 * Needs `--allow-read` and `--allow-write` on the paths it is given.
 *
 * @module
 */
import { takeEarlySignals } from "./early_signals.ts";
import denoJson from "../deno.json" with { type: "json" };
import { checkConfig, ConfigError } from "./config/check_config.ts";
import { commandName, parseCommandLine, UsageError } from "./config/cli.ts";
import { HELP } from "./config/help.ts";
import {
  checkPairs,
  type ConfigCommand,
  ConfigFileError,
  loadConfigFile,
} from "./config/config_file.ts";
import { checkHealth } from "./loop/health.ts";
import {
  LogFileError,
  type Logging,
  logMessage,
  setupLogging,
  withPair,
} from "./report/logging.ts";
import { canCreateSymlinks, missingPermission } from "./config/permissions.ts";
import { createProgressLine, type ProgressLine } from "./report/progress.ts";
import { formatDuration } from "./report/duration.ts";
import { commandLinePairName, runPairs } from "./loop/pairs.ts";
import { Speed, type SpeedMechanisms } from "./speed/speed.ts";
import { resolve } from "node:path";

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
 * @param options For the bench: the speed mechanisms (default: both on).
 * @returns The exit code.
 */
export async function main(
  args: string[],
  options: { speed?: SpeedMechanisms } = {},
): Promise<number> {
  // Signal handling comes first: without a listener, a SIGHUP (logrotate's reload) ends the
  // process, and SIGINT or SIGTERM would skip the clean stop.
  const stop = new AbortController();
  const live: Live = {};
  let stops = 0;
  const onSignal = (name: string) => () => {
    stops++;
    if (stops === 1) {
      logMessage("info", `${name} received: finishing the copies under way, then stopping`);
      stop.abort(name); // The reason names the signal in the "interrupted" line.
    } else {
      live.progress?.stop(); // Erased, so the shell's prompt does not land after it.
      live.logging?.flushConsole();
      Deno.exit(130); // A second signal: the user insists.
    }
  };
  // SIGHUP on a terminal is the terminal going away: stop. Without one (a service, a container,
  // nohup) it is logrotate's reload: new lines go to a new file.
  const terminal = Deno.stdin.isTerminal() || Deno.stdout.isTerminal() ||
    Deno.stderr.isTerminal();
  const reopen = (reason: string) =>
    live.logging
      ? live.logging.reopen(reason)
      : logMessage("info", `${reason} received: no --log_file to reopen`);
  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGHUP", terminal ? onSignal("SIGHUP") : () => void reopen("SIGHUP")],
  ];
  for (const [sig, handler] of signals) Deno.addSignalListener(sig, handler);
  // Those that came while the program loaded, now that they can be handled.
  for (const early of takeEarlySignals()) signals.find(([sig]) => sig === early)?.[1]();
  try {
    return await run(args, stop.signal, live, options.speed);
  } finally {
    for (const [sig, handler] of signals) Deno.removeSignalListener(sig, handler);
  }
}

/** What the signal handlers must reach while a run is under way. */
interface Live {
  /** The progress line, while one is drawn. */
  progress?: ProgressLine;
  /** The run's logging, once set up. */
  logging?: Logging;
}

/** Everything {@linkcode main} does once signals are handled; `stop` aborts on SIGINT or SIGTERM. */
async function run(
  args: string[],
  stop: AbortSignal,
  live: Live,
  speed?: SpeedMechanisms,
): Promise<number> {
  let command;
  let fromFile: ConfigCommand | undefined;
  try {
    command = parseCommandLine(args);
    if (command.kind === "config") fromFile = loadConfigFile(command.file, args);
  } catch (error) {
    if (error instanceof ConfigFileError) {
      console.error(`foldersync: ${error.message}`);
      return 2;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(
      `foldersync: ${error.message}\nTry '${commandName()} --help' for the list of flags.`,
    );
    return 2;
  }
  if (command.kind === "help") {
    console.log(HELP);
    return 0;
  }
  if (command.kind === "version") {
    console.log(`foldersync ${denoJson.version}`);
    return 0;
  }
  if (command.kind === "health") {
    const { healthy, message } = checkHealth(command.healthFile);
    (healthy ? console.log : console.error)(message);
    return healthy ? 0 : 1;
  }
  if (fromFile?.kind === "health") {
    let all = true;
    for (const { name, healthFile } of fromFile.pairs) {
      const { healthy, message } = checkHealth(healthFile);
      (healthy ? console.log : console.error)(`[${name}] ${message}`);
      all &&= healthy;
    }
    return all ? 0 : 1;
  }

  // With --config, the pairs of the file; else the one of the command line, named for metrics.
  const named = fromFile !== undefined;
  const given = fromFile?.pairs ??
    (command.kind === "run" ? [{ name: "", config: command.config }] : []);
  // Absolute from here on: the engine works from inside replica folders (see lib/engine/in_dir.ts).
  const pairs = given.map(({ name, config }) => {
    const absolute = {
      ...config,
      source: resolve(config.source),
      replica: resolve(config.replica),
      logFile: config.logFile && resolve(config.logFile),
      healthFile: config.healthFile && resolve(config.healthFile),
      backupDir: config.backupDir && resolve(config.backupDir),
      metricsFile: config.metricsFile && resolve(config.metricsFile),
      requireMount: config.requireMount.map((path) => resolve(path)),
    };
    return { name: named ? name : commandLinePairName(absolute.replica), config: absolute };
  });
  const tag = (name: string, message: string) => named ? `[${name}] ${message}` : message;
  for (const { name, config } of pairs) {
    const missing = missingPermission(config);
    if (missing) {
      console.error(`foldersync: ${tag(name, missing)}`);
      return 1;
    }
  }
  // Before the log file is opened: a log file inside the source must never be created.
  try {
    for (const { name, config } of pairs) {
      try {
        checkConfig(config);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new ConfigError(tag(name, error.message));
      }
    }
    checkPairs(pairs);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`foldersync: ${error.message}`);
    return 2;
  }
  // The whole process's settings are the same in every pair (lib/config/config_file.ts PROCESS_KEYS).
  const config = pairs[0].config;
  let logging: Logging;
  try {
    logging = await setupLogging({
      logFile: config.logFile,
      level: config.logLevel,
      format: config.logFormat,
      quiet: config.quiet,
    });
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    console.error(`foldersync: ${error.message}`);
    return 1;
  }
  live.logging = logging;

  if (!canCreateSymlinks()) {
    logMessage(
      "warning",
      "permissions are narrowed to paths, so symlinks in the source cannot be created in the " +
        "replica (Deno creates links only with unscoped --allow-read --allow-write); each is reported",
    );
  }
  if (named) {
    logMessage(
      "info",
      `foldersync ${denoJson.version}: ${pairs.length} folder ${
        pairs.length === 1 ? "pair" : "pairs"
      } from '${
        command.kind === "config" ? resolve(command.file) : ""
      }', their cycles one at a time`,
    );
  }
  for (const { name, config } of pairs) {
    const line = `${named ? "" : `foldersync ${denoJson.version}: `}mirroring '${config.source}' ` +
      `to '${config.replica}'` +
      (config.once ? " once" : ` every ${formatDuration(config.intervalSeconds)}`) +
      (config.watch ? " and on changes (--watch)" : "") +
      (config.dryRun ? " (dry run)" : "") +
      `, engine ${config.engine}`;
    if (named) withPair(name, () => logMessage("info", line));
    else logMessage("info", line);
  }
  // The live progress line: on a terminal only, never in the log file.
  const progress = config.progress && Deno.stderr.isTerminal() ? createProgressLine() : undefined;
  live.progress = progress;
  logging.setConsoleGuard(progress?.around);
  const workers = new Speed(speed);
  let code: number;
  try {
    code = await runPairs(pairs, stop, {
      named,
      progress,
      metricsFile: config.metricsFile,
      speed: workers,
    });
    if (stop.aborted) logMessage("info", "stopped");
  } catch (error) {
    logMessage(
      "error",
      `stopped by an unexpected error: ${error instanceof Error ? error.stack : error}`,
    );
    code = 1;
  } finally {
    progress?.stop();
    logging.setConsoleGuard(undefined);
    workers.close();
    live.logging = undefined;
    await logging.close();
  }
  return code;
}
