#!/bin/sh
# The image's entrypoint: `registry <command>` as the unprivileged user `registry`.
# Started as root (the default), it first gives `registry` the directories it writes, when they
# are writable and someone else's: the data root (a bind mount made by the host, or data from
# registry:2, which runs as root), the storage socket's directory, and /auth (the htpasswd file,
# for `registry user ...`; read-only mounts are left alone). Then it drops root for good.
# Started with `--user`, it runs as that user and changes nothing.
# The node flags and environment of `storage` and `gateway` are those `registry start` gives its
# two processes (cli/commands/start.ts: nodeFlags, storageEnvironment, gatewayEnvironment).
set -eu

flags=
case "${1:-}" in
  storage)
    flags="--max-semi-space-size=4 --heap-growing-percent=30"
    export UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-16}" MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" \
      MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-67108864}"
    ;;
  gateway)
    flags=""
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" \
      MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-67108864}"
    ;;
esac

if [ "$(id -u)" = 0 ]; then
  for dir in "${REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY:-/var/lib/registry}" /run/registry /auth; do
    if [ -d "$dir" ] && [ -w "$dir" ]; then
      find "$dir" ! -user registry -exec chown -h registry:registry {} +
    fi
  done
  # shellcheck disable=SC2086
  exec setpriv --reuid=registry --regid=registry --init-groups -- node $flags /app/dist/cli/main.js "$@"
fi
# shellcheck disable=SC2086
exec node $flags /app/dist/cli/main.js "$@"
