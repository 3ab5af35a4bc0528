#!/bin/bash
# (From ../shared/s3: the monitor port is a parameter here, so that test files can run several at once.)
# Start a throwaway single-host Ceph (1 mon + 1 OSD, no mgr) + radosgw on 127.0.0.1.
# Needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
# Usage: start-rgw.sh DIR [PORT] [MON_PORT]   (STORE=memstore|bluestore, default bluestore)
# S3 endpoint http://127.0.0.1:PORT (path-style), region us-east-1, keys TESTACCESSKEY/TESTSECRETKEY.
# Daemon PIDs are written to DIR/*.pid; stop with stop-rgw.sh DIR (kills rgw, osd, mon by PID).
set -euo pipefail
D=${1:?dir}; PORT=${2:-7480}; MON_PORT=${3:-3300}; STORE=${STORE:-bluestore}
rm -rf "$D"; mkdir -p "$D"/{mon,osd,rgw,run,log}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults ms_mon_client_mode to 'secure', which cannot work with auth=none
ms mon client mode = crc
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
keyring = $D/keyring
mon data = $D/mon
mon cluster log file = $D/log/cluster.log
mon data avail crit = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# propose osdmap changes immediately: pool creation ~2s -> ~20ms each
paxos propose interval = 0.01
paxos min wait = 0.001
mon tick interval = 1
osd data = $D/osd
osd objectstore = $STORE
memstore device bytes = 4294967296
bluestore block path = $D/osd/block.file
bluestore block size = 10737418240
bluestore block create = true
bluestore fsck on mkfs = false
bdev aio poll ms = 10
osd op num shards = 1
bluestore cache autotune = false
bluestore cache size = 134217728
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
EOF
C=(-c "$D/ceph.conf")
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" -i a --mkfs --monmap "$D/monmap"
ceph-mon "${C[@]}" -i a -f >"$D/log/mon.out" 2>&1 & echo $! >"$D/mon.pid"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
timeout 30 ceph "${C[@]}" osd new "$OSD_UUID" >/dev/null
ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$D/log/osd-mkfs.out" 2>&1
ceph-osd "${C[@]}" -i 0 -f >"$D/log/osd.out" 2>&1 & echo $! >"$D/osd.pid"
# wait for osd.0 up before rgw creates its pools (pools created while no OSD is up sit ~5s in peering)
for i in $(seq 1 300); do
  ceph "${C[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up' && break
  sleep 0.1; [ "$i" = 300 ] && { echo "osd.0 did not come up; see $D/log" >&2; exit 1; }
done
# creates the zone + pools and the S3 user
timeout 60 radosgw-admin "${C[@]}" user create --uid=test --display-name=test \
  --access-key=TESTACCESSKEY --secret-key=TESTSECRETKEY >/dev/null
radosgw "${C[@]}" -n client.rgw -f >"$D/log/rgw.out" 2>&1 & echo $! >"$D/rgw.pid"
for i in $(seq 1 300); do   # curl 7.88 needs x-amz-content-sha256 set explicitly
  [ "$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
      --user TESTACCESSKEY:TESTSECRETKEY -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
      "http://127.0.0.1:$PORT/")" = 200 ] && exit 0
  sleep 0.1
done
echo "radosgw did not answer on 127.0.0.1:$PORT; see $D/log" >&2; exit 1
