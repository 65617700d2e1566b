# foldersync: one-way periodic folder mirror (/source -> /replica), logs in /logs.
#
#   docker build -t foldersync .          (podman: podman build --format docker -t foldersync .,
#                                          or the OCI format drops HEALTHCHECK)
#   docker run -d --name foldersync --network none --read-only --cap-drop ALL \
#     -v "$PWD/source:/source:ro" -v "$PWD/replica:/replica" -v "$PWD/logs:/logs" foldersync
#
# Any arguments after the image name replace the default flags (CMD) below, e.g.
#   docker run ... foldersync --source_path /source --replica_path /replica \
#     --log_file /logs/foldersync.log --health_file /logs/health.json --sync_interval 10
# The container runs as user "deno" (uid 1993): /replica and /logs must be writable by it.
# Full fidelity (private sources read, owners and set-uid/set-gid kept; docker-compose.full.yml):
#   docker run ... --user 0:0 --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE \
#     --cap-add FOWNER --cap-add FSETID ... foldersync

# Official Deno image, pinned to the Deno version the project is developed and tested with.
FROM denoland/deno:debian-2.9.6

ENV DENO_NO_UPDATE_CHECK=1

# The app is owned by root and only readable by the runtime user. /source is deliberately not
# created: if nothing is mounted there the program fails instead of mirroring an empty folder.
WORKDIR /app
RUN mkdir -p /replica /logs && chown deno:deno /replica /logs

COPY deno.json deno.lock ./
COPY main.ts ./
COPY lib/ ./lib/
COPY containers/entrypoint.sh /usr/local/bin/foldersync-entrypoint
# A clone made under umask 077 has 0600 files: make the app readable whatever the host's modes.
RUN chmod -R a+rX /app /usr/local/bin/foldersync-entrypoint

USER deno

# Dependencies are resolved at build time: the npm packages pinned in deno.lock go to DENO_DIR
# (/deno-dir), so the container needs no network at run time. deno install can exit 0 without
# a package it could not download (a TLS proxy it does not trust): the run after checks them.
RUN deno install --frozen --entrypoint main.ts && deno run --cached-only main.ts --version

# Unscoped --allow-read --allow-write (not --allow-all: no env, net, run or sys): Deno creates
# symlinks only with unscoped grants. --allow-ffi selects the native engine (libc's fd-relative
# calls; README.md, "The native engine"): FFI is full access, so the container is the boundary:
# source mounted :ro, read-only root filesystem (compose), non-root uid 1993, no capabilities, no
# network. Strict variant, path-scoped, the portable engine (source symlinks are then reported,
# not mirrored):
#   docker run ... --entrypoint foldersync-entrypoint foldersync deno run --cached-only --frozen \
#     --no-prompt --allow-read=/source,/replica,/logs,/app/lib --allow-write=/replica,/logs \
#     /app/main.ts --source_path /source --replica_path /replica --log_file /logs/foldersync.log \
#     --health_file /logs/health.json
# foldersync-entrypoint (containers/entrypoint.sh) checks that /replica and /logs are writable
# by this uid (one line naming it and the fix, exit 1, if not), then execs deno: deno is PID 1
# and gets SIGTERM from `docker stop` directly (it handles it and exits 0).
ENTRYPOINT ["foldersync-entrypoint", "deno", "run", "--cached-only", "--frozen", "--no-prompt", \
  "--allow-read", "--allow-write", "--allow-ffi", "/app/main.ts"]
CMD ["--source_path", "/source", "--replica_path", "/replica", \
  "--log_file", "/logs/foldersync.log", "--health_file", "/logs/health.json", \
  "--sync_interval", "60"]
STOPSIGNAL SIGTERM

# Healthy while the last successful cycle is recent (2 x interval + 30 s); reads /logs only.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["deno", "run", "--cached-only", "--frozen", "--no-prompt", "--allow-read=/logs", \
    "/app/main.ts", "--health", "--health_file", "/logs/health.json"]
