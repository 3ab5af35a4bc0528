#!/usr/bin/env bash
# What metrics and webhook notifications cost: regbench in pair mode, this registry against
# itself. A has Prometheus metrics on (both processes) and one notification endpoint (a local sink
# that answers 200); B has neither. Both: gateway + storage, no auth.
#
# Usage: scripts/bench-ops.sh [--on both|metrics|notifications|none] [--bench-dir DIR] [regbench options...]
#   --on          what A has on (default both; none: a null run, A and B alike)
#   default workloads: push-small,manifest-get (the ones a webhook or a counter could slow)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_DIR=../shared/bench
ARGS=()
ON=both
while [ $# -gt 0 ]; do
  case $1 in
    --bench-dir) BENCH_DIR=$2; shift ;;
    --on) ON=$2; shift ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
[ -f "$BENCH_DIR/regbench.mjs" ] || { echo "bench-ops: no regbench.mjs in $BENCH_DIR (use --bench-dir)" >&2; exit 2; }
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--workloads push-small,manifest-get)

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
WORK=$(mktemp -d /tmp/registry-bench-ops.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -f dist/cli/main.js ] || npm run build >/dev/null

SINK_PORT=$(free_port)
node -e 'let n=0;require("http").createServer((q,r)=>{q.resume();q.on("end",()=>{n++;r.end()})}).listen(+process.argv[1],"127.0.0.1");process.on("SIGTERM",()=>{console.log(`sink: ${n} POSTs`);process.exit(0)})' "$SINK_PORT" >"$WORK/sink.log" &
PIDS+=($!)

# start NAME [VAR=VALUE...]: one `registry start` with its own ports and data; sets URL_NAME, PIDS_NAME
start() {
  local name=$1; shift
  local gw st
  gw=$(free_port); st=$(free_port)
  env REGISTRY_HTTP_ADDR=127.0.0.1:$gw REGISTRY_STORAGESERVICE_ADDR=127.0.0.1:$st \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$WORK/$name" REGISTRY_STORAGE_DELETE_ENABLED=true REGISTRY_LOG_LEVEL=warn "$@" \
    node dist/cli/main.js start >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$gw/v2/" && break; sleep 0.1; done
  printf -v "URL_$name" '%s' "http://127.0.0.1:$gw"
  printf -v "PIDS_$name" '%s' "$(pgrep -f 'dist/cli/main.js (gateway|storage)' -P "$pid" | paste -sd,)"
}
ON_ENV=()
case $ON in
  both | metrics) ON_ENV+=(REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:$(free_port) REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED=true) ;;&
  both | notifications) ON_ENV+=("REGISTRY_NOTIFICATIONS_ENDPOINTS=[{name: sink, url: \"http://127.0.0.1:$SINK_PORT/events\"}]") ;;
  metrics | none) ;;
  *) echo "bench-ops: --on both, metrics, notifications or none" >&2; exit 2 ;;
esac
start on "${ON_ENV[@]}"
start off
echo "A: $ON on  B: off (same build, gateway + storage, no auth)" >&2
node "$BENCH_DIR/regbench.mjs" --url "$URL_on" --pid "$PIDS_on" --vs "$URL_off" --vs-pid "$PIDS_off" "${ARGS[@]}"
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; cat "$WORK/sink.log" >&2
