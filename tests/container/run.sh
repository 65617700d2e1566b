#!/usr/bin/env bash
# Container test for foldersync: `deno task test:container` (or `bash tests/container/run.sh`).
#
# 1. installs podman, buildah, runc, podman-compose (and what they need) from Debian if missing;
# 2. builds a local stand-in for the Dockerfile's pinned base image under its exact upstream name
#    (containers/build-base-image.sh), so the Dockerfile under test is exactly the one users build;
# 3. copies the build context and docker-compose.yml into a temporary folder beside source/,
#    replica/ and logs/, and there runs the README's `BUILDAH_FORMAT=docker podman-compose up -d`
#    (which builds the image from the real Dockerfile), interval 2 s;
# 4. checks an exact mirror (symlinks, a dangling one, empty folders, an executable's mode), a
#    source change, the log file, the health check, a clean stop, the image's defaults, flags
#    without --health_file, the strict (path-scoped) variant, the one-line error for a replica or
#    logs folder the container cannot write, and --watch;
# 5. on a private source (root's 0700 folder and 0640 file, a user's home, set-uid and set-gid
#    files), with SOURCE and REPLICA set: the default profile reports what it cannot read and is
#    unhealthy, the full profile (docker-compose.full.yml) mirrors it with owners kept.
#
# Needs root (rootful podman) and the npm-installed Deno (npm ci). Ends with "N passed, M failed".
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
unset SOURCE REPLICA SYNC_INTERVAL # compose's variables: their defaults are tested first
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/containers/containers.conf}"
IMAGE="foldersync:latest" # the tag docker-compose.yml uses
INTERVAL=2
PROJECT="foldersync-ctest-$$" # also the compose folder's name, which podman-compose takes for it
# The README's podman line, run as written there (the test only adds SYNC_INTERVAL).
UP_LINE="BUILDAH_FORMAT=docker podman-compose up -d"
WORK=""
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
check() { # check "description" command...
  local what="$1"; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
now_ms() { date +%s%3N; }
# wait_until SECONDS command...: polls every 0.2 s until the command succeeds.
wait_until() {
  local limit="$1"; shift
  local deadline=$(($(now_ms) + limit * 1000))
  while ! "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}
step() { echo "--- $* ($(date +%T))"; }
# podman without systemd logs "unable to get systemd connection" for health-check timers: noise.
quiet() { grep -v 'level=' | tail -1; }

# ---------------------------------------------------------------------------------------- set-up
if [ "$(id -u)" -ne 0 ]; then
  fail "container test needs root (rootful podman); run it as root"
  finish
fi

step "installing container tools if missing"
PKGS=(podman buildah runc podman-compose fuse-overlayfs slirp4netns uidmap netavark aardvark-dns
  iptables tini)
MISSING=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p")
done
if [ "${#MISSING[@]}" -gt 0 ]; then
  echo "installing: ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${MISSING[@]}"; } \
    >/tmp/foldersync-ctest-apt.log 2>&1; then
    tail -20 /tmp/foldersync-ctest-apt.log
    fail "install ${MISSING[*]} from Debian"
    finish
  fi
fi
if ! podman info >/dev/null 2>&1; then
  echo "default container storage does not work here; using containers/storage-vfs.conf"
  export CONTAINERS_STORAGE_CONF="$REPO/containers/storage-vfs.conf"
fi
if ! podman info >/dev/null 2>&1; then
  podman info 2>&1 | tail -5
  fail "podman works with CONTAINERS_CONF=$CONTAINERS_CONF"
  finish
fi
echo "$(podman --version), $(buildah --version | cut -d' ' -f1-3), podman-compose" \
  "$(dpkg-query -W -f='${Version}' podman-compose), storage" \
  "$(podman info --format '{{.Store.GraphDriverName}}')"

WORK="$(mktemp -d /tmp/foldersync-ctest.XXXXXX)"
APP="$WORK/$PROJECT" # the build context and docker-compose.yml, beside source/, replica/, logs/
SRC="$APP/source"
cleanup() {
  if [ -n "$WORK" ] && [ -f "$APP/docker-compose.yml" ]; then
    podman-compose -p "$PROJECT" -f "$APP/docker-compose.yml" down >/dev/null 2>&1
  fi
  if [ -n "$WORK" ] && [ -f "$WORK/w/docker-compose.yml" ]; then
    podman-compose -p "$PROJECT-watch" -f "$WORK/w/docker-compose.yml" down >/dev/null 2>&1
  fi
  if [ -n "$WORK" ] && [ -f "$WORK/$PROJECT-full/docker-compose.yml" ]; then
    podman-compose -p "$PROJECT-full" -f "$WORK/$PROJECT-full/docker-compose.yml" down >/dev/null 2>&1
  fi
  # One at a time: podman 4.3's `rm -f` removes none when one of several names is missing.
  for c in defaults own-flags strict root-replica root-logs; do
    podman rm -f "$PROJECT-$c" >/dev/null 2>&1
  done
  podman network rm -f "${PROJECT}_default" "${PROJECT}-watch_default" "${PROJECT}-full_default" \
    >/dev/null 2>&1
  [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT

# ----------------------------------------------------------------------------------- base image
BASE="$(awk 'toupper($1) == "FROM" { print $2; exit }' "$REPO/Dockerfile")"
step "building local stand-in for $BASE"
if "$REPO/containers/build-base-image.sh" "$BASE" >"$WORK/base.log" 2>&1; then
  pass "stand-in base image $BASE built"
else
  cat "$WORK/base.log"
  fail "stand-in base image $BASE built"
  finish
fi

# ---------------------------------------------------------------------------------- test data
mkdir -p "$SRC/sub dir/deeper" "$SRC/empty" "$SRC/private/nested empty" "$APP/replica" "$APP/logs"
cp -R "$REPO/Dockerfile" "$REPO/.dockerignore" "$REPO/docker-compose.yml" "$REPO/deno.json" \
  "$REPO/deno.lock" "$REPO/main.ts" "$REPO/lib" "$REPO/containers" "$APP/"
echo "hello" >"$SRC/a.txt"
echo "in a sub folder" >"$SRC/sub dir/b.txt"
head -c 300000 /dev/urandom >"$SRC/sub dir/deeper/random.bin"
: >"$SRC/zero-length"
printf '#!/bin/sh\necho run\n' >"$SRC/tool.sh"
chmod 755 "$SRC/tool.sh"
chmod 775 "$SRC/private" # modes other than the defaults; readable by uid 1993
chmod 664 "$SRC/zero-length"
ln -s a.txt "$SRC/link-to-file"
ln -s "sub dir" "$SRC/link-to-dir"
ln -s ../a.txt "$SRC/sub dir/link-up"
ln -s "no such target" "$SRC/dangling"
# The container runs as uid 1993 (user deno): replica and logs must be writable by it.
chown 1993:1993 "$APP/replica" "$APP/logs"

# modes DIR: every entry's path, type and mode bits.
modes() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m\n' | sort); }
# same_trees A B: `diff -r --no-dereference` finds nothing (links compared as links), modes agree.
same_trees() {
  diff -r --no-dereference "$1" "$2" >/dev/null 2>&1 && [ "$(modes "$1")" = "$(modes "$2")" ]
}
same_tree() { same_trees "$SRC" "$APP/replica"; }
compose() { podman-compose -p "$PROJECT" -f "$APP/docker-compose.yml" "$@"; }
# health_check CONTAINER: runs its HEALTHCHECK up to 3 times, as its --retries=3 allows (a check
# can read the record while a cycle rewrites it); sets HC_RC, HC_TRIES and HC_OUT (the outputs).
health_check() {
  HC_TRIES=0
  while true; do
    HC_TRIES=$((HC_TRIES + 1))
    podman healthcheck run "$1" >/dev/null 2>&1
    HC_RC=$?
    [ "$HC_RC" -eq 0 ] || [ "$HC_TRIES" -ge 3 ] && break
    sleep 0.5
  done
  HC_OUT="$(podman inspect "$1" --format '{{range .State.Health.Log}}{{.Output}}{{"\n"}}{{end}}' \
    2>/dev/null | grep -v 'level=' | grep . | tail -"$HC_TRIES" | paste -sd ';')"
}

# ------------------------------------------------------------------------- compose: build, up
step "in the compose folder: SYNC_INTERVAL=$INTERVAL $UP_LINE"
check "the README gives the podman line: $UP_LINE" grep -qF "$UP_LINE" "$REPO/README.md"
check "docker-compose.yml gives the same line" grep -qF "$UP_LINE" "$REPO/docker-compose.yml"
podman rmi -f "$IMAGE" >/dev/null 2>&1 # so that `up` builds it
if (cd "$APP" && SYNC_INTERVAL=$INTERVAL BUILDAH_FORMAT=docker podman-compose up -d) \
  >"$WORK/compose-up.log" 2>&1; then
  pass "$UP_LINE (builds the image from the Dockerfile, starts the service)"
else
  tail -30 "$WORK/compose-up.log"
  fail "$UP_LINE"
  finish
fi
if grep -i 'HEALTHCHECK is not supported' "$WORK/compose-up.log"; then
  fail "the build keeps the HEALTHCHECK (no OCI-format warning)"
else
  pass "the build keeps the HEALTHCHECK (no OCI-format warning)"
fi
APP_FILES="$(podman run --rm --network none --entrypoint ls "$IMAGE" -A /app 2>/dev/null | tr '\n' ' ')"
check "image /app holds only the build context (.dockerignore): $APP_FILES" \
  test "$APP_FILES" = "deno.json deno.lock lib main.ts "
check "image runs as user deno" \
  test "$(podman image inspect "$IMAGE" --format '{{.Config.User}}')" = "deno"
HC_TEST="$(podman image inspect "$IMAGE" --format '{{json .Config.Healthcheck.Test}}')"
check "image has a HEALTHCHECK (docker format): $HC_TEST" grep -q '"--health"' <<<"$HC_TEST"
ENTRY="$(podman image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')"
check "ENTRYPOINT is exec form, the writable check then deno run: $ENTRY" \
  grep -q '^\["foldersync-entrypoint","deno","run",' <<<"$ENTRY"

CTR="$(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' |
  head -1)"
echo "container: $CTR"
running() { [ "$(podman inspect "$CTR" --format '{{.State.Status}}' 2>/dev/null)" = "running" ]; }
if ! check "container is running" running; then
  podman logs "$CTR" 2>&1 | tail -20
  finish
fi

PID="$(podman inspect "$CTR" --format '{{.State.Pid}}')"
CMDLINE="$(tr '\0' ' ' <"/proc/$PID/cmdline")"
echo "PID 1: $CMDLINE"
check "deno is PID 1 with unscoped --allow-read --allow-write --allow-ffi and nothing more" \
  grep -q \
  "^deno run --cached-only --frozen --no-prompt --allow-read --allow-write --allow-ffi /app/main.ts " \
  <<<"$CMDLINE"
check "interval from SYNC_INTERVAL reaches the command" \
  grep -q -- "--sync_interval $INTERVAL" <<<"$CMDLINE"
check "process runs as uid 1993" \
  grep -Eq "^Uid:[[:space:]]+1993[[:space:]]" "/proc/$PID/status"

if wait_until 60 same_tree; then
  pass "first cycle: diff -r --no-dereference source replica is empty, and all modes agree"
else
  diff -r --no-dereference "$SRC" "$APP/replica" | head -10
  diff <(modes "$SRC") <(modes "$APP/replica") | head -10
  fail "first cycle: diff -r --no-dereference source replica is empty, and all modes agree"
fi
check "the executable is mode 755 in the replica ($(stat -c %a "$APP/replica/tool.sh" 2>&1))" \
  test "$(stat -c %a "$APP/replica/tool.sh" 2>&1)" = "755"
check "the dangling symlink is a link with the same target ($(readlink "$APP/replica/dangling"))" \
  test "$(readlink "$APP/replica/dangling")" = "no such target"

# -------------------------------------------------------------------------- compose: a change
step "changing the source"
echo "changed" >>"$SRC/a.txt"
rm "$SRC/sub dir/b.txt"
mkdir -p "$SRC/new folder"
echo "new" >"$SRC/new folder/c.txt"
ln -sfn "sub dir/deeper" "$SRC/link-to-dir"
CHANGED_AT=$(now_ms)
if wait_until 30 same_tree; then
  pass "replica follows a source change (modify, delete, add, relink) in $(($(now_ms) - CHANGED_AT)) ms"
else
  diff -r --no-dereference "$SRC" "$APP/replica" | head -10
  fail "replica follows a source change within 30 s"
fi

log_has_lines() { [ -s "$APP/logs/foldersync.log" ] && [ "$(wc -l <"$APP/logs/foldersync.log")" -gt 0 ]; }
check "log file logs/foldersync.log has lines ($(wc -l <"$APP/logs/foldersync.log" 2>/dev/null || echo 0))" \
  log_has_lines

# ----------------------------------------------------------------------------------- health
step "health"
check "health file logs/health.json written" wait_until 20 test -s "$APP/logs/health.json"
health_check "$CTR"
check "podman healthcheck run after a sync: exit 0 (try $HC_TRIES of 3: $HC_OUT)" test "$HC_RC" -eq 0
HSTATUS="$(podman inspect "$CTR" --format '{{.State.Health.Status}}' 2>/dev/null)"
check "podman inspect health status is healthy ($HSTATUS)" test "$HSTATUS" = "healthy"
# The same HEALTHCHECK command with no health file, and with a stale one, must fail (exit 1).
mapfile -t HC_ARGV < <(python3 -c 'import json,sys; t=json.loads(sys.argv[1]); print("\n".join(t[1:]))' "$HC_TEST")
mkdir -p "$WORK/health-none" "$WORK/health-stale"
echo '{"lastSuccess": 1000, "intervalSeconds": 2}' >"$WORK/health-stale/health.json"
for case in none stale; do
  OUT="$(podman run --rm --network none -v "$WORK/health-$case:/logs:ro" \
    --entrypoint "${HC_ARGV[0]}" "$IMAGE" "${HC_ARGV[@]:1}" 2>&1)"
  RC=$?
  check "health check, health file: $case: exit 1 ($(quiet <<<"$OUT"))" test "$RC" -eq 1
done

# ------------------------------------------------------------------------------------- stop
step "stopping"
# A large file makes a copy (and a temp file) likely to be in flight when SIGTERM arrives.
head -c 400000000 /dev/zero >"$SRC/large.bin"
tmp_in_replica() { [ -n "$(find "$APP/replica" -name '.foldersync-tmp-*' -print -quit)" ]; }
if wait_until $((INTERVAL * 3 + 5)) tmp_in_replica; then
  echo "a .foldersync-tmp-* file is in the replica: stopping now"
else
  echo "(no temp file seen before stopping; the copy may have been quick)"
fi
STOP_AT=$(now_ms)
podman stop -t 10 "$CTR" >"$WORK/stop.log" 2>&1
STOP_MS=$(($(now_ms) - STOP_AT))
EXIT_CODE="$(podman inspect "$CTR" --format '{{.State.ExitCode}}')"
check "container exited with code 0 ($EXIT_CODE)" test "$EXIT_CODE" = "0"
check "stopped in ${STOP_MS} ms, well inside the 10 s grace period (< 5 s)" test "$STOP_MS" -lt 5000
LEFT="$(find "$APP/replica" -name '.foldersync-tmp-*' | head -5)"
check "no .foldersync-tmp-* files left in the replica${LEFT:+: $LEFT}" test -z "$LEFT"
podman logs "$CTR" >"$WORK/container.log" 2>&1
if grep -Eiq 'NotCapable|PermissionDenied|Requires .* access' "$WORK/container.log"; then
  grep -Ei 'NotCapable|PermissionDenied|Requires .* access' "$WORK/container.log" | head -5
  fail "no permission errors in the container output"
else
  pass "no permission errors in the container output"
fi
compose down >/dev/null 2>&1
rm -f "$SRC/large.bin"

# --------------------------------------------------------------------- the image's defaults
step "plain podman run with the image defaults (CMD), as in the Dockerfile's comment"
mkdir -p "$WORK/replica2" "$WORK/logs2"
chown 1993:1993 "$WORK/replica2" "$WORK/logs2"
podman run -d --name "$PROJECT-defaults" --network none --read-only --cap-drop ALL \
  -v "$SRC:/source:ro" -v "$WORK/replica2:/replica" -v "$WORK/logs2:/logs" "$IMAGE" >/dev/null 2>&1
check "defaults: /source mirrored to /replica exactly" \
  wait_until 60 same_trees "$SRC" "$WORK/replica2"
check "defaults: log file /logs/foldersync.log written" wait_until 10 test -s "$WORK/logs2/foldersync.log"
check "defaults: health file /logs/health.json written" wait_until 10 test -s "$WORK/logs2/health.json"
podman stop -t 10 "$PROJECT-defaults" >/dev/null 2>&1
check "defaults: exit code 0 on stop" \
  test "$(podman inspect "$PROJECT-defaults" --format '{{.State.ExitCode}}')" = "0"

step "own flags without --health_file: the entry point adds the HEALTHCHECK's file"
mkdir -p "$WORK/replica3" "$WORK/logs3"
chown 1993:1993 "$WORK/replica3" "$WORK/logs3"
podman run -d --name "$PROJECT-own-flags" --network none -v "$SRC:/source:ro" \
  -v "$WORK/replica3:/replica" -v "$WORK/logs3:/logs" "$IMAGE" \
  --source_path /source --replica_path /replica --sync_interval 30 >/dev/null 2>&1
check "own flags: health file /logs/health.json written" \
  wait_until 30 test -s "$WORK/logs3/health.json"
health_check "$PROJECT-own-flags"
check "own flags: podman healthcheck run exits 0 (try $HC_TRIES of 3: $HC_OUT)" test "$HC_RC" -eq 0
podman rm -f -t 10 "$PROJECT-own-flags" >/dev/null 2>&1

step "the strict variant (path-scoped grants) from the README, with --once"
mkdir -p "$WORK/replica4" "$WORK/logs4"
chown 1993:1993 "$WORK/replica4" "$WORK/logs4"
STRICT_OUT="$(timeout 60 podman run --rm --name "$PROJECT-strict" --network none \
  -v "$SRC:/source:ro" -v "$WORK/replica4:/replica" \
  -v "$WORK/logs4:/logs" --entrypoint foldersync-entrypoint "$IMAGE" deno run --cached-only \
  --frozen --no-prompt --allow-read=/source,/replica,/logs,/app/lib \
  --allow-write=/replica,/logs /app/main.ts --source_path /source --replica_path /replica \
  --log_file /logs/foldersync.log --health_file /logs/health.json --once 2>&1)"
STRICT_RC=$?
grep -E 'dangling|link-' <<<"$STRICT_OUT" | head -3
check "strict: exit 1 ($STRICT_RC), the symlinks reported as errors" \
  test "$STRICT_RC" -eq 1 -a "$(grep -c 'ERROR.*dangling' <<<"$STRICT_OUT")" -ge 1
check "strict: everything else mirrored" diff -r "$SRC/sub dir/deeper" "$WORK/replica4/sub dir/deeper"

# -------------------------------------------------------------- not writable by the container
step "replica or logs not writable by uid 1993 (owned by root, mode 0755)"
for which in replica logs; do
  mkdir -p "$WORK/root-$which/replica" "$WORK/root-$which/logs"
  chmod 755 "$WORK/root-$which/replica" "$WORK/root-$which/logs"
  other=logs && [ "$which" = logs ] && other=replica
  chown 1993:1993 "$WORK/root-$which/$other"
  # (timeout: an image without the check would run its loop here for good)
  OUT="$(timeout 30 podman run --rm --name "$PROJECT-root-$which" --network none \
    -v "$SRC:/source:ro" -v "$WORK/root-$which/replica:/replica" \
    -v "$WORK/root-$which/logs:/logs" "$IMAGE" 2>&1)"
  RC=$?
  podman rm -f "$PROJECT-root-$which" >/dev/null 2>&1
  OUT="$(grep -v '^time=.* level=' <<<"$OUT")" # podman's own systemd noise
  echo "$OUT"
  check "/$which not writable: exit 1 ($RC)" test "$RC" -eq 1
  LINE="$(grep "'/$which' is not writable by uid 1993" <<<"$OUT" |
    grep -F "chown 1993:1993 replica logs" | grep -F "FOLDERSYNC_UID")"
  check "/$which not writable: one line naming it, uid 1993, the chown and FOLDERSYNC_UID" \
    test -n "$LINE" -a "$(wc -l <<<"$OUT")" -eq 1
  check "/$which not writable: nothing written" \
    test -z "$(find "$WORK/root-$which" -mindepth 2)"
done

# ------------------------------------------------------------------------------ --watch mode
step "compose with its commented '- --watch' line enabled, SYNC_INTERVAL=60"
# A second copy of the compose file, beside its own replica and logs, source linked to the first.
mkdir -p "$WORK/w/replica" "$WORK/w/logs"
ln -s "$SRC" "$WORK/w/source"
chown 1993:1993 "$WORK/w/replica" "$WORK/w/logs"
sed 's/^\( *\)# - --watch$/\1- --watch/' "$REPO/docker-compose.yml" >"$WORK/w/docker-compose.yml"
wcompose() { podman-compose -p "$PROJECT-watch" -f "$WORK/w/docker-compose.yml" "$@"; }
check "compose file has a commented '- --watch' line to enable" \
  grep -q -- '^ *- --watch$' "$WORK/w/docker-compose.yml"
SYNC_INTERVAL=60 wcompose up -d --no-build >"$WORK/compose-watch.log" 2>&1
WCTR="$(podman ps -a --filter "label=io.podman.compose.project=$PROJECT-watch" \
  --format '{{.Names}}' | head -1)"
same_tree3() { same_trees "$SRC" "$WORK/w/replica"; }
check "watch: first cycle mirrors the source" wait_until 60 same_tree3
mkdir -p "$SRC/watched"
echo "seen at once" >"$SRC/watched/w.txt"
WATCH_AT=$(now_ms)
if wait_until 15 same_tree3; then
  pass "watch: a new file is mirrored in $(($(now_ms) - WATCH_AT)) ms (interval is 60 s)"
else
  fail "watch: a new file is mirrored within 15 s (interval is 60 s)"
fi
podman stop -t 10 "$WCTR" >/dev/null 2>&1
check "watch: exit code 0 on stop" \
  test "$(podman inspect "$WCTR" --format '{{.State.ExitCode}}' 2>/dev/null)" = "0"
wcompose down >/dev/null 2>&1

# ----------------------------------------------------- a private source: default and full profile
# A compose folder holding only the two compose files: SOURCE and REPLICA point elsewhere. The
# source: root's 0700 folder and 0640 file (of a group root is not in), a user's 0750 home with a
# 0600 file, her set-uid program, a set-gid file, root's read-only folder.
FULL="$WORK/$PROJECT-full"
PSRC="$WORK/private-source"
FULL_LINE="BUILDAH_FORMAT=docker podman-compose -f docker-compose.yml -f docker-compose.full.yml up -d"
mkdir -p "$FULL/logs" "$PSRC/private" "$PSRC/home/alice" "$PSRC/ro" "$WORK/pdefault" "$WORK/pfull"
cp "$REPO/docker-compose.yml" "$REPO/docker-compose.full.yml" "$FULL/"
echo "root's" >"$PSRC/private/secret.txt"
echo "alice's" >"$PSRC/home/alice/notes.txt"
printf '#!/bin/sh\necho tool\n' >"$PSRC/tool"
echo "group's" >"$PSRC/shared"
echo "r" >"$PSRC/ro/r.txt"
chown 0:4243 "$PSRC/private/secret.txt" "$PSRC/shared"
chown -R 4242:4242 "$PSRC/home/alice" "$PSRC/tool"
chmod 640 "$PSRC/private/secret.txt"
chmod 700 "$PSRC/private"
chmod 600 "$PSRC/home/alice/notes.txt"
chmod 750 "$PSRC/home/alice"
chmod 4755 "$PSRC/tool"
chmod 2755 "$PSRC/shared"
chmod 555 "$PSRC/ro"
# owned DIR: every entry's path, type, mode bits, owner and group.
owned() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G\n' | sort); }
same_owned() { diff -r "$1" "$2" >/dev/null 2>&1 && [ "$(owned "$1")" = "$(owned "$2")" ]; }
fcompose() { (cd "$FULL" && podman-compose -p "$PROJECT-full" "$@"); }
fctr() {
  podman ps -a --filter "label=io.podman.compose.project=$PROJECT-full" --format '{{.Names}}' |
    head -1
}

step "default profile (uid 1993) on the private source, SOURCE and REPLICA set"
chown 1993:1993 "$FULL/logs" "$WORK/pdefault"
(cd "$FULL" && SOURCE="$PSRC" REPLICA="$WORK/pdefault" SYNC_INTERVAL=$INTERVAL \
  podman-compose up -d --no-build) >"$WORK/compose-pdefault.log" 2>&1
DCTR="$(fctr)"
check "default: SOURCE and REPLICA reach the mounts" \
  test "$(podman inspect "$DCTR" --format '{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}' |
    tr ' ' '\n' | grep -cE "^($PSRC:/source|$WORK/pdefault:/replica)$")" = 2
for dir in private home/alice; do
  check "default: '$dir' reported unreadable in the log" wait_until 30 grep -q \
    "ERROR error  dir     $dir: cannot read source directory: permission denied" \
    "$FULL/logs/foldersync.log"
done
wait_until 10 test -s "$FULL/logs/health.json"
health_check "$DCTR"
check "default: unhealthy (try $HC_TRIES of 3: $HC_OUT)" test "$HC_RC" -ne 0
check "default: the replica's entries all belong to uid 1993, set-uid/set-gid cleared" \
  test "$(owned "$WORK/pdefault" | grep -vc ' 1993:1993$')" = 0 -a \
  "$(stat -c %a "$WORK/pdefault/tool" 2>&1) $(stat -c %a "$WORK/pdefault/shared" 2>&1)" = "755 755"
fcompose down >/dev/null 2>&1

step "full profile: $FULL_LINE"
check "docker-compose.full.yml gives the line" grep -qF "$FULL_LINE" "$REPO/docker-compose.full.yml"
check "the README gives the docker line" grep -qF \
  "docker compose -f docker-compose.yml -f docker-compose.full.yml up -d" "$REPO/README.md"
rm -f "$FULL/logs/"*
# No chown: root's replica folder, as the README says.
(cd "$FULL" && SOURCE="$PSRC" REPLICA="$WORK/pfull" SYNC_INTERVAL=$INTERVAL \
  BUILDAH_FORMAT=docker podman-compose -f docker-compose.yml -f docker-compose.full.yml up -d) \
  >"$WORK/compose-full.log" 2>&1
FCTR="$(fctr)"
FPID="$(podman inspect "$FCTR" --format '{{.State.Pid}}' 2>/dev/null)"
check "full: deno is PID 1 as uid 0" grep -Eq "^Uid:[[:space:]]+0[[:space:]]" "/proc/$FPID/status"
# CHOWN (0), DAC_OVERRIDE (1), FOWNER (3), FSETID (4): 0x1b, in effect and as the bound.
CAPS="$(grep -E '^Cap(Eff|Bnd):' "/proc/$FPID/status" | awk '{print $2}' | sort -u | paste -sd ' ')"
check "full: capabilities CHOWN DAC_OVERRIDE FOWNER FSETID only ($CAPS)" \
  test "$CAPS" = "000000000000001b"
if wait_until 60 same_owned "$PSRC" "$WORK/pfull"; then
  pass "full: the private source mirrored with owners, modes, set-uid and set-gid kept"
else
  diff <(owned "$PSRC") <(owned "$WORK/pfull") | head -10
  fail "full: the private source mirrored with owners, modes, set-uid and set-gid kept"
fi
echo "alice's new" >"$PSRC/home/alice/new.txt"
chown 4242:4242 "$PSRC/home/alice/new.txt"
check "full: a new file in her folder (hers in the replica too) is mirrored" \
  wait_until 30 same_owned "$PSRC" "$WORK/pfull"
health_check "$FCTR"
check "full: healthy (try $HC_TRIES of 3: $HC_OUT)" test "$HC_RC" -eq 0
podman stop -t 10 "$FCTR" >/dev/null 2>&1
check "full: exit code 0 on stop" \
  test "$(podman inspect "$FCTR" --format '{{.State.ExitCode}}' 2>/dev/null)" = "0"
fcompose down >/dev/null 2>&1

if [ "$FAILED" -gt 0 ]; then
  echo "--- container output (last 30 lines)"
  tail -30 "$WORK/container.log" 2>/dev/null
  echo "--- logs/foldersync.log (last 20 lines)"
  tail -20 "$APP/logs/foldersync.log" 2>/dev/null
fi
finish
