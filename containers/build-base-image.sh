#!/usr/bin/env bash
# Builds a LOCAL STAND-IN for the official Deno image under its exact upstream name, so the
# project's real Dockerfile can be built on a machine that cannot reach Docker Hub.
#
#   containers/build-base-image.sh [IMAGE]        (default IMAGE: denoland/deno:debian-2.9.6)
#
# What it mirrors from upstream's debian image (debian.dockerfile + _entry.sh of deno_docker):
#   - /usr/bin/deno (here: the npm-installed Deno binary, same version), its shared libraries (ldd)
#   - user/group `deno` uid/gid 1993, /deno-dir owned by deno, ENV DENO_DIR=/deno-dir/,
#     DENO_INSTALL_ROOT=/usr/local, DENO_VERSION
#   - /tini (Debian's tini-static, when installed) and /usr/local/bin/docker-entrypoint.sh
#   - ENTRYPOINT ["/tini", "--", "docker-entrypoint.sh"], CMD ["eval", "console.log('Welcome to Deno!')"]
#   - a /bin/sh and a handful of coreutils so shell-form RUN lines (mkdir, chown, ...) work
# What is ONLY in the stand-in: DENO_CERT pointing at this machine's CA bundle (copied from
# $SSL_CERT_FILE), because outbound TLS here goes through an intercepting proxy. The project's
# Dockerfile never sets DENO_CERT.
#
# Needs: root, buildah. Honours CONTAINERS_CONF / CONTAINERS_STORAGE_CONF if set.
set -euo pipefail

IMAGE="${1:-denoland/deno:debian-2.9.6}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DENO_BIN="${DENO_BIN:-$REPO/node_modules/.bin/deno}"
CA_BUNDLE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"

[ -x "$DENO_BIN" ] || { echo "build-base-image: no deno binary at $DENO_BIN (run npm ci)" >&2; exit 1; }
DENO_REAL="$(readlink -f "$DENO_BIN")"
DENO_VERSION="$("$DENO_REAL" --version | awk 'NR==1 {print $2}')"
case "$IMAGE" in
  *"$DENO_VERSION") ;;
  *) echo "build-base-image: image tag $IMAGE does not match deno $DENO_VERSION" >&2; exit 1 ;;
esac

ROOTFS="$(mktemp -d /tmp/foldersync-base-rootfs.XXXXXX)"
CTR=""
cleanup() {
  [ -n "$CTR" ] && buildah rm "$CTR" >/dev/null 2>&1 || true
  rm -rf "$ROOTFS" "$ROOTFS.empty"
}
trap cleanup EXIT

# Debian-style merged /usr layout.
mkdir -p "$ROOTFS"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc/ssl/certs,tmp,root,home,deno-dir,var/tmp,proc,sys,dev}
ln -s usr/bin "$ROOTFS/bin"
ln -s usr/sbin "$ROOTFS/sbin"
ln -s usr/lib "$ROOTFS/lib"
ln -s usr/lib64 "$ROOTFS/lib64"
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
chmod 700 "$ROOTFS/root"

# Copy a binary plus every shared library it needs (file contents, at the paths ldd reports).
copy_with_libs() {
  local src="$1" dest="$2" lib
  install -D -m 0755 "$(readlink -f "$src")" "$ROOTFS$dest"
  for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$ROOTFS$lib" ] && continue
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
  done
}

copy_with_libs "$DENO_REAL" /usr/bin/deno
copy_with_libs /bin/dash /usr/bin/dash
ln -s dash "$ROOTFS/usr/bin/sh"
for tool in cat chmod chown cp env id ln ls mkdir mv rm sleep touch; do
  copy_with_libs "$(command -v "$tool")" "/usr/bin/$tool"
done
if [ -x /usr/bin/tini-static ]; then
  install -m 0755 /usr/bin/tini-static "$ROOTFS/tini"
  ENTRYPOINT='["/tini", "--", "docker-entrypoint.sh"]'
else
  echo "build-base-image: tini-static not installed; entrypoint without /tini" >&2
  ENTRYPOINT='["docker-entrypoint.sh"]'
fi

# Upstream's _entry.sh: run deno for a leading option or a known subcommand, else exec as is.
cat >"$ROOTFS/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

if [ "$1" != "${1#-}" ]; then
    # if the first argument is an option like `--help` or `-h`
    exec deno "$@"
fi

case "$1" in
    add | bench | bundle | cache | check | compile | completions | coverage | doc | eval | fmt | help | init | info | install | jupyter | lint | lsp | publish | remove | repl | run | serve | task | test | types | uninstall | upgrade | vendor )
    # if the first argument is a known deno command
    exec deno "$@";;
esac

exec "$@"
EOF
chmod 755 "$ROOTFS/usr/local/bin/docker-entrypoint.sh"

# useradd --uid 1993 --user-group deno (Debian defaults: home /home/deno not created, shell /bin/sh)
cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
deno:x:1993:1993::/home/deno:/bin/sh
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
deno:x:1993:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"
cp -L "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
chmod 644 "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
rmdir "$ROOTFS/deno-dir"
CTR="$(buildah from scratch)"
buildah copy --quiet "$CTR" "$ROOTFS" / >/dev/null
# buildah copy makes everything root-owned; /deno-dir belongs to deno as upstream.
mkdir "$ROOTFS.empty"
buildah copy --quiet --chown 1993:1993 "$CTR" "$ROOTFS.empty" /deno-dir >/dev/null
buildah config \
  --env DENO_DIR=/deno-dir/ \
  --env DENO_INSTALL_ROOT=/usr/local \
  --env DENO_VERSION="$DENO_VERSION" \
  --env DENO_CERT=/etc/ssl/certs/ca-certificates.crt \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --entrypoint "$ENTRYPOINT" \
  --cmd '["eval", "console.log('"'"'Welcome to Deno!'"'"')"]' \
  --label org.opencontainers.image.description="LOCAL STAND-IN for $IMAGE (foldersync tests), not the upstream image" \
  "$CTR"
buildah commit --quiet --format docker "$CTR" "$IMAGE" >/dev/null
echo "build-base-image: built stand-in $IMAGE (deno $DENO_VERSION)"
