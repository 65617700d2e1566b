#!/usr/bin/env bash
# Container test for foldersync: `deno task test:container` (or `bash tests/container/run.sh`).
#
# 1. installs podman, buildah, runc, podman-compose (and what they need) from Debian if missing;
# 2. builds a local stand-in for the Dockerfile's pinned base image under its exact upstream name
#    (containers/build-base-image.sh), so the Dockerfile under test is exactly the one users build;
# 3. builds the image from the real Dockerfile and runs the real docker-compose.yml (a copy of it,
#    in a temporary folder holding source/, replica/ and logs/) with podman-compose, interval 2 s;
# 4. checks mirroring, a source change, the log file, the health check, and a clean stop.
#
# Needs root (rootful podman) and the npm-installed Deno (npm ci). Ends with "N passed, M failed".
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/containers/containers.conf}"
IMAGE="foldersync:latest" # the tag docker-compose.yml uses
INTERVAL=2
PROJECT="foldersync-ctest-$$"
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
cleanup() {
  if [ -n "$WORK" ] && [ -f "$WORK/docker-compose.yml" ]; then
    podman-compose -p "$PROJECT" -f "$WORK/docker-compose.yml" down >/dev/null 2>&1
  fi
  if [ -n "$WORK" ] && [ -f "$WORK/w/docker-compose.yml" ]; then
    podman-compose -p "$PROJECT-watch" -f "$WORK/w/docker-compose.yml" down >/dev/null 2>&1
  fi
  podman rm -f "$PROJECT-defaults" >/dev/null 2>&1
  podman network rm -f "${PROJECT}_default" "${PROJECT}-watch_default" >/dev/null 2>&1
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

# -------------------------------------------------------------------------------------- image
step "building $IMAGE from the Dockerfile"
# --format docker keeps HEALTHCHECK (the OCI format has no place for it); --pull=never makes sure
# the stand-in is used and nothing is fetched for the base image.
if podman build --format docker --pull=never -t "$IMAGE" -f "$REPO/Dockerfile" "$REPO" \
  >"$WORK/build.log" 2>&1; then
  pass "image builds from the Dockerfile (deno install --frozen)"
else
  tail -30 "$WORK/build.log"
  fail "image builds from the Dockerfile"
  finish
fi
APP_FILES="$(podman run --rm --network none --entrypoint ls "$IMAGE" -A /app 2>/dev/null | tr '\n' ' ')"
check "image /app holds only the build context (.dockerignore): $APP_FILES" \
  test "$APP_FILES" = "deno.json deno.lock lib main.ts "
check "image runs as user deno" \
  test "$(podman image inspect "$IMAGE" --format '{{.Config.User}}')" = "deno"
HC_TEST="$(podman image inspect "$IMAGE" --format '{{json .Config.Healthcheck.Test}}')"
check "image has a HEALTHCHECK (docker format): $HC_TEST" grep -q '"--health"' <<<"$HC_TEST"
ENTRY="$(podman image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')"
check "ENTRYPOINT is exec form starting with deno run: $ENTRY" \
  grep -q '^\["deno","run",' <<<"$ENTRY"

# ---------------------------------------------------------------------------------- test data
mkdir -p "$WORK/source/sub dir/deeper" "$WORK/source/empty" "$WORK/replica" "$WORK/logs"
cp "$REPO/docker-compose.yml" "$WORK/"
echo "hello" >"$WORK/source/a.txt"
echo "in a sub folder" >"$WORK/source/sub dir/b.txt"
head -c 300000 /dev/urandom >"$WORK/source/sub dir/deeper/random.bin"
: >"$WORK/source/zero-length"
# The container runs as uid 1993 (user deno): replica and logs must be writable by it.
chown 1993:1993 "$WORK/replica" "$WORK/logs"

same_tree() { diff -r --no-dereference "$WORK/source" "$WORK/replica" >/dev/null 2>&1; }
compose() { podman-compose -p "$PROJECT" -f "$WORK/docker-compose.yml" "$@"; }

# ---------------------------------------------------------------------------- compose: running
step "podman-compose up (SYNC_INTERVAL=$INTERVAL)"
if SYNC_INTERVAL=$INTERVAL compose up -d --no-build >"$WORK/compose-up.log" 2>&1; then
  pass "podman-compose up -d"
else
  cat "$WORK/compose-up.log"
  fail "podman-compose up -d"
  finish
fi
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
check "deno is PID 1 with least-privilege flags" grep -q \
  "^deno run .*--allow-read=/source,/replica,/logs,/app/lib --allow-write=/replica,/logs /app/main.ts" \
  <<<"$CMDLINE"
check "interval from SYNC_INTERVAL reaches the command" \
  grep -q -- "--sync_interval $INTERVAL" <<<"$CMDLINE"
check "process runs as uid 1993" \
  grep -Eq "^Uid:[[:space:]]+1993[[:space:]]" "/proc/$PID/status"

check "replica equals source after the first cycle" wait_until 60 same_tree

# -------------------------------------------------------------------------- compose: a change
step "changing the source"
echo "changed" >>"$WORK/source/a.txt"
rm "$WORK/source/sub dir/b.txt"
mkdir -p "$WORK/source/new folder"
echo "new" >"$WORK/source/new folder/c.txt"
CHANGED_AT=$(now_ms)
if wait_until 30 same_tree; then
  pass "replica follows a source change (modify, delete, add) in $(($(now_ms) - CHANGED_AT)) ms"
else
  diff -r "$WORK/source" "$WORK/replica" | head -10
  fail "replica follows a source change within 30 s"
fi

log_has_lines() { [ -s "$WORK/logs/foldersync.log" ] && [ "$(wc -l <"$WORK/logs/foldersync.log")" -gt 0 ]; }
check "log file logs/foldersync.log has lines ($(wc -l <"$WORK/logs/foldersync.log" 2>/dev/null || echo 0))" \
  log_has_lines

# ----------------------------------------------------------------------------------- health
step "health"
health_file_ok() { grep -q '"lastSuccess"' "$WORK/logs/health.json"; }
check "health file logs/health.json written" wait_until 20 health_file_ok
podman healthcheck run "$CTR" >/dev/null 2>&1
HC_RC=$?
HC_OUT="$(podman inspect "$CTR" --format '{{range .State.Health.Log}}{{.Output}}{{end}}' 2>/dev/null)"
check "podman healthcheck run: exit 0 ($(quiet <<<"$HC_OUT"))" test "$HC_RC" -eq 0
HSTATUS="$(podman inspect "$CTR" --format '{{.State.Health.Status}}' 2>/dev/null)"
check "podman inspect health status is healthy ($HSTATUS)" test "$HSTATUS" = "healthy"
# The same HEALTHCHECK command against a stale health file must fail (exit 1).
mkdir -p "$WORK/stale"
echo '{"lastSuccess": 1000, "intervalSeconds": 2}' >"$WORK/stale/health.json"
mapfile -t HC_ARGV < <(python3 -c 'import json,sys; t=json.loads(sys.argv[1]); print("\n".join(t[1:]))' "$HC_TEST")
STALE_OUT="$(podman run --rm --network none -v "$WORK/stale:/logs:ro" --entrypoint "${HC_ARGV[0]}" \
  "$IMAGE" "${HC_ARGV[@]:1}" 2>&1)"
STALE_RC=$?
check "health check on a stale health file exits 1 ($(quiet <<<"$STALE_OUT"))" \
  test "$STALE_RC" -eq 1

# ------------------------------------------------------------------------------------- stop
step "stopping"
# A large file makes a copy (and a temp file) likely to be in flight when SIGTERM arrives.
head -c 400000000 /dev/zero >"$WORK/source/large.bin"
tmp_in_replica() { [ -n "$(find "$WORK/replica" -name '.foldersync-tmp-*' -print -quit)" ]; }
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
LEFT="$(find "$WORK/replica" -name '.foldersync-tmp-*' | head -5)"
check "no .foldersync-tmp-* files left in the replica${LEFT:+: $LEFT}" test -z "$LEFT"
podman logs "$CTR" >"$WORK/container.log" 2>&1
if grep -Eiq 'NotCapable|PermissionDenied|Requires .* access' "$WORK/container.log"; then
  grep -Ei 'NotCapable|PermissionDenied|Requires .* access' "$WORK/container.log" | head -5
  fail "no permission errors in the container output"
else
  pass "no permission errors in the container output"
fi
compose down >/dev/null 2>&1

# --------------------------------------------------------------------- the image's defaults
step "plain podman run with the image defaults (CMD)"
mkdir -p "$WORK/replica2" "$WORK/logs2"
rm -f "$WORK/source/large.bin"
chown 1993:1993 "$WORK/replica2" "$WORK/logs2"
podman run -d --name "$PROJECT-defaults" --network none -v "$WORK/source:/source:ro" \
  -v "$WORK/replica2:/replica" -v "$WORK/logs2:/logs" "$IMAGE" >/dev/null 2>&1
same_tree2() { diff -r --no-dereference "$WORK/source" "$WORK/replica2" >/dev/null 2>&1; }
check "defaults: /source mirrored to /replica" wait_until 60 same_tree2
log2_written() { test -s "$WORK/logs2/foldersync.log"; }
check "defaults: log file /logs/foldersync.log written" wait_until 10 log2_written
check "defaults: health file /logs/health.json written" wait_until 10 test -s "$WORK/logs2/health.json"
podman stop -t 10 "$PROJECT-defaults" >/dev/null 2>&1
check "defaults: exit code 0 on stop" \
  test "$(podman inspect "$PROJECT-defaults" --format '{{.State.ExitCode}}')" = "0"

# ------------------------------------------------------------------------------ --watch mode
step "compose with its commented '- --watch' line enabled, SYNC_INTERVAL=60"
# A second copy of the compose file, beside its own replica and logs, source linked to the first.
mkdir -p "$WORK/w/replica" "$WORK/w/logs"
ln -s ../source "$WORK/w/source"
chown 1993:1993 "$WORK/w/replica" "$WORK/w/logs"
sed 's/^\( *\)# - --watch$/\1- --watch/' "$REPO/docker-compose.yml" >"$WORK/w/docker-compose.yml"
wcompose() { podman-compose -p "$PROJECT-watch" -f "$WORK/w/docker-compose.yml" "$@"; }
check "compose file has a commented '- --watch' line to enable" \
  grep -q -- '^ *- --watch$' "$WORK/w/docker-compose.yml"
SYNC_INTERVAL=60 wcompose up -d --no-build >"$WORK/compose-watch.log" 2>&1
WCTR="$(podman ps -a --filter "label=io.podman.compose.project=$PROJECT-watch" \
  --format '{{.Names}}' | head -1)"
same_tree3() { diff -r "$WORK/source/" "$WORK/w/replica/" >/dev/null 2>&1; }
check "watch: first cycle mirrors the source" wait_until 60 same_tree3
mkdir -p "$WORK/source/watched"
echo "seen at once" >"$WORK/source/watched/w.txt"
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

if [ "$FAILED" -gt 0 ]; then
  echo "--- container output (last 30 lines)"
  tail -30 "$WORK/container.log" 2>/dev/null
  echo "--- logs/foldersync.log (last 20 lines)"
  tail -20 "$WORK/logs/foldersync.log" 2>/dev/null
fi
finish
