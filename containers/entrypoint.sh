#!/bin/sh
# The image's entry point: `foldersync-entrypoint deno run ... /app/main.ts [foldersync flags]`.
#
# Deno cannot read its own uid without more permissions, so this POSIX sh checks first that the
# folders foldersync writes (the replica, and the folders of the log and health files) are
# writable by the container's user. If one is not, it prints one line naming the uid and the fix,
# and exits 1. It also adds `--health_file /logs/health.json` (what the HEALTHCHECK reads) when
# the flags name no health file and /logs is writable. Then it execs the command: deno becomes
# PID 1 and gets `docker stop`'s SIGTERM directly.
set -eu

uid="$(id -u)"
gid="$(id -g)"

# The folder of file $1.
folder() {
  case "$1" in
    */*) d="${1%/*}" && printf '%s\n' "${d:-/}" ;;
    *) printf '.\n' ;;
  esac
}

# The nearest existing folder at or above $1 (foldersync creates the missing ones below it).
existing() {
  p="$1"
  while [ ! -e "$p" ]; do p="$(folder "$p")"; done
  printf '%s\n' "$p"
}

# check_writable WHAT FOLDER
check_writable() {
  [ -w "$2" ] && return 0
  echo "foldersync: $1 '$2' is not writable by uid $uid (the container's user):" \
    "on the host run 'sudo chown $uid:$gid replica logs' (the folders mounted at /replica and" \
    "/logs), or run the container as their owner (compose: FOLDERSYNC_UID=\$(id -u)" \
    "FOLDERSYNC_GID=\$(id -g); docker run: --user UID:GID)" >&2
  exit 1
}

replica="" log="" health="" check=1 has_health=0 dry=0
want=""
for arg in "$@"; do
  if [ -n "$want" ]; then
    eval "$want=\$arg"
    want=""
    continue
  fi
  case "$arg" in
    --replica_path | --replica-path) want=replica ;;
    --replica_path=* | --replica-path=*) replica="${arg#*=}" ;;
    --log_file | --log-file) want=log ;;
    --log_file=* | --log-file=*) log="${arg#*=}" ;;
    --health_file | --health-file) want=health has_health=1 ;;
    --health_file=* | --health-file=*) health="${arg#*=}" has_health=1 ;;
    --dry-run | --dry_run) dry=1 ;;
    --health | -h | --help | -V | --version) check=0 ;;
  esac
done

if [ "$check" = 1 ]; then
  if [ -n "$replica" ] && [ "$dry" = 0 ]; then
    check_writable "the replica folder" "$(existing "$replica")"
  fi
  [ -z "$log" ] || check_writable "the log file's folder" "$(existing "$(folder "$log")")"
  [ -z "$health" ] || check_writable "the health file's folder" "$(existing "$(folder "$health")")"
  # The HEALTHCHECK's file, unless the flags name one or /logs cannot take it.
  if [ "$has_health" = 0 ] && [ -w /logs ]; then set -- "$@" --health_file /logs/health.json; fi
fi

exec "$@"
