#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real: the reference registry (registry:2's
# program), htpasswd, nginx, the container clients (docker, podman, buildah, skopeo, containerd's
# ctr), docker-compose, openssl, curl, strace (to watch the storage driver's fsyncs), and debootstrap
# and iproute2 (the Docker image test makes its base image and its dockerd's bridge). Quick
# no-op when they are all installed already.
# Needs root (apt-get) only when something is missing. Usage: bash scripts/install-test-deps.sh
set -euo pipefail

PACKAGES=(docker-registry apache2-utils nginx skopeo podman buildah containerd docker.io docker-compose openssl curl strace debootstrap iproute2)
# Ceph RADOS Gateway for the S3 driver tests (test/helpers/rgw.ts), without recommends (~290 MB).
NO_RECOMMENDS=(ceph-mon ceph-osd radosgw)
PACKAGES+=("${NO_RECOMMENDS[@]}")

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: this needs a Debian-like system (dpkg, apt-get); install by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: all ${#PACKAGES[@]} test packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-test-deps: run as root, or: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

# Installing must not start docker, containerd or nginx as services (nginx would take port 80,
# which the e2e tests need): a policy-rc.d that refuses every start, unless one exists already.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=true
fi
cleanup() {
  if [ "$own_policy" = true ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update < /dev/null
with_recommends=()
without_recommends=()
for package in "${missing[@]}"; do
  if [[ " ${NO_RECOMMENDS[*]} " == *" $package "* ]]; then without_recommends+=("$package"); else with_recommends+=("$package"); fi
done
if [ "${#with_recommends[@]}" -ne 0 ]; then
  apt-get -o DPkg::Lock::Timeout=300 install -y "${with_recommends[@]}" < /dev/null
fi
if [ "${#without_recommends[@]}" -ne 0 ]; then
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${without_recommends[@]}" < /dev/null
fi

still_missing=()
for package in "${missing[@]}"; do
  installed "$package" || still_missing+=("$package")
done
if [ "${#still_missing[@]}" -ne 0 ]; then
  echo "install-test-deps: still missing after apt-get install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-test-deps: done"
