#!/bin/sh
# Makes a local certificate authority and a server certificate signed by it, for the gateway's
# HTTPS listener (http.tls.certificate / http.tls.key). See certs/README.md.
#
# Usage: certs/make-certs.sh [-o OUTDIR] [-d DAYS] HOSTNAME [IP]
#   HOSTNAME  DNS name the clients use (e.g. docker-registry.home); goes into the SAN.
#   IP        optional IP address clients may also use (e.g. 192.168.1.10); goes into the SAN.
#   -o OUTDIR output directory (default: certs/out beside this script)
#   -d DAYS   validity of the server certificate (default 825, the most Apple clients accept)
#
# Output: ca.crt and ca.key (the CA; kept and reused on later runs so clients keep trusting it),
# HOSTNAME.crt (server certificate followed by the CA: the chain to serve) and HOSTNAME.key.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
days=825
while getopts o:d:h opt; do
  case $opt in
    o) out=$OPTARG ;;
    d) days=$OPTARG ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 [-o OUTDIR] [-d DAYS] HOSTNAME [IP]" >&2; exit 2; }
host=$1
ip=${2:-}
case $host in
  *[!A-Za-z0-9.-]* | '' | .* | -*) echo "make-certs.sh: '$host' is not a host name" >&2; exit 2 ;;
esac
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is required (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$out/ca.key" ] || [ ! -f "$out/ca.crt" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 -sha256 \
    -subj "/CN=Local registry CA $(date -u +%Y%m%d%H%M%S)" \
    -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' \
    -addext 'subjectKeyIdentifier=hash' 2>/dev/null
  echo "made a new CA: $out/ca.crt"
fi

san="DNS:$host"
[ -n "$ip" ] && san="$san,IP:$ip"
cat > "$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$work/server.key" -out "$work/server.csr" -subj "/CN=$host" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -out "$work/server.crt" -days "$days" -sha256 -extfile "$work/ext.cnf" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" "$work/server.crt" >/dev/null

# Write the pair by renaming into place, so a running gateway's reload never reads half a file.
cat "$work/server.crt" "$out/ca.crt" > "$work/chain.crt"
chmod 644 "$work/chain.crt" "$out/ca.crt"
mv "$work/server.key" "$out/$host.key.new"
mv "$work/chain.crt" "$out/$host.crt.new"
mv "$out/$host.key.new" "$out/$host.key"
mv "$out/$host.crt.new" "$out/$host.crt"

echo "server certificate for $san: $out/$host.crt (key: $out/$host.key)"
echo "clients trust: $out/ca.crt"
