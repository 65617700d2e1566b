/**
 * The usage text for `--help`. Needs no permissions.
 *
 * @module
 */

/** The usage text for `--help`. */
export const HELP = `foldersync: keep a one-way mirror of a folder.

Usage:
  deno run --allow-read --allow-write main.ts --source_path S --replica_path R \\
    [--sync_interval 60] [--log_file L] [options]

Required:
  --source_path PATH       the folder to mirror (never modified)
  --replica_path PATH      the folder made to match it (when missing, it is created if its
                           parent exists)

Options:
  --sync_interval DUR      time between cycles: seconds (60, 0.5) or 90s, 5m, 1h, 1d (default 60)
  --log_file PATH          also log to this file (its folder is created when missing)
  --once                   run one cycle and exit (exit 1 if anything failed); no interval
  --dry-run                show and log what would change, change nothing, and exit
                           (one cycle; with --watch, every interval and on changes)
  --checksum               also compare content when size and mtime agree
  --modify-window DUR      mtimes this close count as equal: 1, 500ms (default 0); a replica
                           filesystem keeping only whole seconds (or FAT's 2 s) is found by itself
  --hard-links             files hard-linked together in the source are hard-linked alike in
                           the replica (off: each is a separate copy); keeps one entry per
                           linked file in memory during a cycle
  --exclude PATTERN        leave matching paths out of the mirror; replica entries that
                           match are kept (repeatable); rsync's patterns and rules
  --include PATTERN        mirror matching paths though a later --exclude matches them;
                           rules apply in the order given, the first match decides
  --exclude-from FILE      read --exclude patterns from FILE, one a line ('#', ';' comments)
  --include-from FILE      read --include patterns from FILE
  --delete-excluded        also remove excluded entries from the replica
  --allow-empty-source     mirror an empty source over a non-empty replica
  --max-delete N           a cycle that would remove more than N entries removes none
  --backup_dir DIR         move what a cycle removes or overwrites to DIR/<cycle start>/<path>
                           instead of losing it (outside both trees)
  --backup_keep DUR        remove backup folders older than this (30d, 12h); default: keep all
  --require_mount PATH     run a cycle only while PATH is a mount point, e.g. the replica's
                           disk (repeatable; like systemd's RequiresMountsFor)
  --log_level LEVEL        debug, info (default), warning or error; at info, cycles that
                           changed nothing and failed nothing are one line an hour (debug:
                           each cycle's summary)
  --log_format FORMAT      text (default) or json (one object per line)
  --quiet                  only errors on the console (the log file keeps --log_level)
  -i, --itemize-changes    log each change as rsync -i prints it: its code, then the path
                           (>f.st...... a.txt, cd+++++++++ new/, *deleting   old.txt); in JSON
                           logs, the code is the field "itemize"
  --health_file PATH       record what each cycle did here, for --health (its folder is
                           created when missing)
  --health                 exit 0 if --health_file shows a recent successful cycle, else 1
                           and one line saying why (with --config: every pair's)
  --concurrency N          large copies running at once (default 8; small files copy inline)
  --watch                  also sync the directories that change, as soon as changes settle
                           (inotify; the periodic sync keeps running as a safety net)
  --debounce DUR           quiet time before a --watch sync: 200ms (default), 0.5, 1s
  --no-progress            no live progress line on the terminal during long cycles
  --one-file-system        do not enter folders on another filesystem than the source's (or
                           the replica's) root: a mount point in the source is kept as an
                           empty folder, one in the replica is left alone
  --config FILE            run the folder pairs of a TOML file (see the README); flags given
                           here override the file's
  --metrics_file PATH      write Prometheus metrics here after each cycle (node_exporter's
                           textfile collector: name it *.prom)
  --engine ENGINE          auto (default), portable or native: native works through the kernel's
                           fd-relative calls (Linux x86_64 or aarch64, needs --allow-ffi); auto
                           takes it when --allow-ffi is granted there, else portable;
                           native where it cannot run is a bad argument (exit 2)
  --xattrs                 also mirror extended attributes (user.*; trusted.* and security.* as
                           root) and ACLs of files and folders (native engine only)
  -h, --help               show this help
  -V, --version            show the version

Every snake_case flag also has a kebab-case spelling (--source-path) and vice versa.
Exit codes: 0 success, or the loop stopped by SIGINT or SIGTERM; 1 at start a missing
permission or a log file that cannot be written, and with --once a cycle that had failures,
was refused (the source missing or empty), found the replica in use by another foldersync, or
was interrupted (the loop logs these and goes on); 2 bad arguments, or a configuration that can
never work (source and replica overlapping, a log or health file inside either); 130 a second
SIGINT or SIGTERM, which stops without waiting for the copies under way.`;
