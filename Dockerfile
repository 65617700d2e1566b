# foldersync: one-way periodic folder mirror (/source -> /replica), logs in /logs.
#
#   docker build -t foldersync .
#   docker run -d --name foldersync --network none \
#     -v "$PWD/source:/source:ro" -v "$PWD/replica:/replica" -v "$PWD/logs:/logs" foldersync
#
# Any arguments after the image name replace the default flags (CMD) below, e.g.
#   docker run ... foldersync --source_path /source --replica_path /replica \
#     --log_file /logs/foldersync.log --health_file /logs/health.json --sync_interval 10
# The container runs as user "deno" (uid 1993): /replica and /logs must be writable by it.
# Podman/Buildah: build with `--format docker`, otherwise the OCI format drops HEALTHCHECK.

# Official Deno image, pinned to the Deno version the project is developed and tested with.
FROM denoland/deno:debian-2.9.6

ENV DENO_NO_UPDATE_CHECK=1

# The app is owned by root and only readable by the runtime user. /source is deliberately not
# created: if nothing is mounted there the program fails instead of mirroring an empty folder.
WORKDIR /app
RUN mkdir -p /replica /logs && chown deno:deno /replica /logs

USER deno

# Dependencies are resolved at build time: the npm packages pinned in deno.lock go to DENO_DIR
# (/deno-dir), so the container needs no network at run time.
COPY deno.json deno.lock ./
COPY main.ts ./
COPY lib/ ./lib/
RUN deno install --frozen --entrypoint main.ts

# Least privilege: read source, replica and logs (and /app/lib, which the worker that lists the
# source on a second thread loads); write only replica and logs. No env, net or run.
# Exec form: deno is PID 1 and gets SIGTERM from `docker stop` directly (it handles it and exits 0).
ENTRYPOINT ["deno", "run", "--cached-only", "--frozen", "--no-prompt", \
  "--allow-read=/source,/replica,/logs,/app/lib", "--allow-write=/replica,/logs", \
  "/app/main.ts"]
CMD ["--source_path", "/source", "--replica_path", "/replica", \
  "--log_file", "/logs/foldersync.log", "--health_file", "/logs/health.json", \
  "--sync_interval", "60"]
STOPSIGNAL SIGTERM

# Healthy while the last successful cycle is recent (2 x interval + 30 s); reads /logs only.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["deno", "run", "--cached-only", "--frozen", "--no-prompt", "--allow-read=/logs", \
    "/app/main.ts", "--health", "--health_file", "/logs/health.json"]
