#!/usr/bin/env bash
# This registry against registry:2 (Debian's docker-registry), both on the s3 driver over the same
# Ceph RGW (one bucket each), both direct (no nginx, no auth; ours through its gateway), with the
# team's regbench in pair mode (A = this project, B = registry:2).
# Usage: scripts/bench-s3.sh [--bench-dir DIR] [regbench options...]
#   default workloads push-large,pull-large,push-small,manifest-get, 1 round, 256 MiB
# After the run it prints the S3 requests each side made (from RGW's access log), per image when
# push-small ran alone.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BENCH_DIR=$REPO/../shared/bench ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bench-dir) BENCH_DIR=$2; shift ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--workloads push-large,pull-large,push-small,manifest-get --rounds 1 --size-mib 256)
# The value of a regbench option in ARGS, or $2.
opt() { local i; for ((i = 0; i < ${#ARGS[@]} - 1; i++)); do [ "${ARGS[i]}" = "$1" ] && { echo "${ARGS[i+1]}"; return; }; done; echo "$2"; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
WORK=$(mktemp -d /tmp/registry-bench-s3.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  scripts/rgw/stop-rgw.sh "$WORK/rgw" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -f dist/cli/main.js ] || npm run build >/dev/null
S3_PORT=$(free_port); MON_PORT=$(free_port); REF_PORT=$(free_port); GW_PORT=$(free_port); ST_PORT=$(free_port)
scripts/rgw/start-rgw.sh "$WORK/rgw" "$S3_PORT" "$MON_PORT" >/dev/null
S3=http://127.0.0.1:$S3_PORT
for b in ours theirs; do
  curl -sf -X PUT --aws-sigv4 aws:amz:us-east-1:s3 --user TESTACCESSKEY:TESTSECRETKEY \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$S3/$b" >/dev/null
done
cat > "$WORK/registry2.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  s3: {region: us-east-1, regionendpoint: "$S3", bucket: theirs, accesskey: TESTACCESSKEY, secretkey: TESTSECRETKEY, secure: false, v4auth: true, chunksize: 10485760}
  redirect: {disable: true}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: "127.0.0.1:$REF_PORT"}
YAML
env -u AWS_CA_BUNDLE docker-registry serve "$WORK/registry2.yml" >"$WORK/registry2.log" 2>&1 &
REF_PID=$!; PIDS+=("$REF_PID")
REGISTRY_STORAGE=s3 REGISTRY_STORAGE_S3_REGIONENDPOINT=$S3 REGISTRY_STORAGE_S3_BUCKET=ours \
REGISTRY_STORAGE_S3_ACCESSKEY=TESTACCESSKEY REGISTRY_STORAGE_S3_SECRETKEY=TESTSECRETKEY \
REGISTRY_STORAGE_S3_FORCEPATHSTYLE=true REGISTRY_STORAGE_REDIRECT_DISABLE=true REGISTRY_STORAGE_DELETE_ENABLED=true \
REGISTRY_HTTP_ADDR=127.0.0.1:$GW_PORT REGISTRY_STORAGESERVICE_ADDR=127.0.0.1:$ST_PORT REGISTRY_LOG_LEVEL=warn \
  node dist/cli/main.js start >"$WORK/ours.log" 2>&1 &
OURS_PID=$!; PIDS+=("$OURS_PID")
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/v2/" && curl -s -o /dev/null "http://127.0.0.1:$REF_PORT/v2/" && break; sleep 0.1; done
GW_PID=$(pgrep -f "dist/cli/main.js gateway" -P "$OURS_PID" || true)
ST_PID=$(pgrep -f "dist/cli/main.js storage" -P "$OURS_PID" || true)
RGW_PID=$(cat "$WORK/rgw/rgw.pid")
echo "A: this registry (gateway + storage, s3 driver)  B: registry:2 $(docker-registry --version | awk '{print $3}') (s3 driver); same RGW" >&2
node "$BENCH_DIR/regbench.mjs" --url "http://127.0.0.1:$GW_PORT" --pid "$GW_PID,$ST_PID" --vs "http://127.0.0.1:$REF_PORT" --vs-pid "$REF_PID" "${ARGS[@]}"
echo "(RGW pid $RGW_PID serves both)" >&2
# S3 requests each side made, from RGW's access log (one "beast:" line per request, at the
# default debug level): a count the machine's load does not blur, unlike times and CPU shares.
# Per image when push-small ran alone (--small-count default 200; regbench's --rounds default 3 with --vs).
IMAGES=$(( $(opt --small-count 200) * $(opt --rounds 3) ))
for side in "A ours" "B theirs"; do
  set -- $side
  LINES=$(grep -oE '"[A-Z]+ /'"$2"'[/? ]' "$WORK/rgw/log/client.rgw.log" | awk '{print substr($1, 2)}' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1; n += $1} END {printf "total %d", n}')
  TOTAL=${LINES##*total }
  PER=""; [[ " ${ARGS[*]} " == *" --workloads push-small "* ]] && PER=$(awk -v t="$TOTAL" -v i="$IMAGES" 'BEGIN {printf " = %.1f per image", t / i}')
  echo "S3 requests of $1 (bucket $2): $LINES$PER" >&2
done
