#!/usr/bin/env bash
# Benchmarks this registry against registry:2 (Debian's docker-registry) on this machine, in one
# run, with the team's regbench in pair mode (A = this project, B = registry:2).
#
# Usage: scripts/bench.sh [--auth | --no-auth] [--direct] [--bench-dir DIR] [regbench options...]
#   --auth        (default) both sides use the same bcrypt htpasswd file (user bench)
#   --no-auth     no authentication on either side
#   --direct      A is the storage service alone (no gateway); implies --no-auth
#   --bench-dir   where regbench.mjs and anchor/ live (default: ../shared/bench next to the repo)
# Anything else is passed to regbench, e.g. --size-mib 1024 --rounds 3 --workloads push-large
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
AUTH=1 DIRECT=0 BENCH_DIR=$REPO/../shared/bench ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --auth) AUTH=1 ;;
    --no-auth) AUTH=0 ;;
    --direct) DIRECT=1 AUTH=0 ;;
    --bench-dir) BENCH_DIR=$2; shift ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
[ -f "$BENCH_DIR/regbench.mjs" ] || { echo "bench: no regbench.mjs in $BENCH_DIR (use --bench-dir)" >&2; exit 2; }
command -v docker-registry >/dev/null || { echo "bench: docker-registry not installed (apt-get install docker-registry)" >&2; exit 2; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
WORK=$(mktemp -d /tmp/registry-bench.XXXXXX)
OURS_PID=""
cleanup() {
  [ -n "$OURS_PID" ] && kill "$OURS_PID" 2>/dev/null && wait "$OURS_PID" 2>/dev/null || true
  [ -f "$WORK/anchor/anchor.pids" ] && "$BENCH_DIR/anchor/stop.sh" "$WORK/anchor/anchor.pids" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -f dist/cli/main.js ] || npm run build >/dev/null
REF_PORT=$(free_port); GW_PORT=$(free_port); ST_PORT=$(free_port)
ANCHOR_OPTS=(--no-nginx --port "$REF_PORT")
[ "$AUTH" = 1 ] || ANCHOR_OPTS+=(--no-auth)
"$BENCH_DIR/anchor/start-distribution.sh" "${ANCHOR_OPTS[@]}" "$WORK/anchor" >/dev/null
REF_PID=$(awk '$1=="registry"{print $2}' "$WORK/anchor/anchor.pids")

export REGISTRY_HTTP_ADDR=127.0.0.1:$GW_PORT REGISTRY_STORAGESERVICE_ADDR=127.0.0.1:$ST_PORT
export REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$WORK/ours REGISTRY_STORAGE_DELETE_ENABLED=true REGISTRY_LOG_LEVEL=warn
if [ "$AUTH" = 1 ]; then
  # The very file registry:2 uses: the same user, the same bcrypt cost.
  export REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_REALM=basic-realm REGISTRY_AUTH_HTPASSWD_PATH=$WORK/anchor/registry/htpasswd
  CREDS=(--user bench --pass benchpass --vs-user bench --vs-pass benchpass)
else
  CREDS=()
fi
if [ "$DIRECT" = 1 ]; then
  # regbench cannot send storage's internal token, and `registry storage` refuses to listen on
  # TCP without one: run the storage service as a library, open, for this measurement only.
  node --max-semi-space-size=4 --input-type=module -e '
    const { loadConfig } = await import("./dist/common/config/load.js");
    const { runStorage } = await import("./dist/storage/main.js");
    const { createLogger } = await import("./dist/common/logger.js");
    const { config } = loadConfig({ env: process.env, cwd: process.cwd() });
    delete config.storageservice.token;
    const server = await runStorage(config, createLogger("storage", config.log.level, {}));
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
  ' >"$WORK/ours.log" 2>&1 &
  OURS_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$ST_PORT/v2/" && break; sleep 0.1; done
else
  node dist/cli/main.js start >"$WORK/ours.log" 2>&1 &
  OURS_PID=$!
fi
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/v2/" && break; sleep 0.1; done
GW_PID=$(pgrep -f "dist/cli/main.js gateway" -P "$OURS_PID" || true)
ST_PID=$(pgrep -f "dist/cli/main.js storage" -P "$OURS_PID" || true)
[ "$DIRECT" = 1 ] && ST_PID=$OURS_PID

if [ "$DIRECT" = 1 ]; then
  A_URL=http://127.0.0.1:$ST_PORT A_PIDS=$ST_PID
else
  A_URL=http://127.0.0.1:$GW_PORT A_PIDS=$GW_PID,$ST_PID
fi
echo "A: this registry ($([ "$DIRECT" = 1 ] && echo 'storage service direct' || echo 'gateway + storage'), auth $AUTH)  B: registry:2 $(docker-registry --version | awk '{print $3}')" >&2
node "$BENCH_DIR/regbench.mjs" --url "$A_URL" --pid "$A_PIDS" --vs "http://127.0.0.1:$REF_PORT" --vs-pid "$REF_PID" "${CREDS[@]}" "${ARGS[@]}"
