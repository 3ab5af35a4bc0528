#!/usr/bin/env bash
# Makes the base images the Dockerfile names, `debian:bookworm-slim` and `node:20-bookworm-slim`,
# in the Docker engine DOCKER_HOST points at, without Docker Hub: Debian's `debootstrap
# --variant=minbase bookworm` from the mirror apt already uses, this machine's Node.js 20 and npm,
# then `docker import` and a two-line build. For machines that cannot pull (CI, the tests); with
# Docker Hub at hand, `docker build` pulls the real images instead.
#
# The root filesystem is cached as a tarball in $OCI_REGISTRY_TS_CACHE (default
# /var/cache/oci-registry-ts): made once (~1 min), reused by every later run on the machine.
# An image already in the engine is kept as it is.
#
# Usage: scripts/make-base-image.sh [--ca-bundle FILE]
#   --ca-bundle FILE  put FILE in the node image as NODE_EXTRA_CA_CERTS, for a machine whose
#                     outgoing HTTPS goes through an intercepting proxy (npm ci in the build
#                     stage must trust it). Only for such a machine's test images: the project's
#                     Dockerfile never carries a CA.
set -euo pipefail

ca_bundle=
while [ $# -gt 0 ]; do
  case "$1" in
    --ca-bundle) ca_bundle=$2; shift 2 ;;
    *) echo "make-base-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

cache=${OCI_REGISTRY_TS_CACHE:-/var/cache/oci-registry-ts}
arch=$(dpkg --print-architecture)
rootfs_tar=$cache/debian-bookworm-minbase-$arch.tar

# The mirror apt uses (deb822 sources first, then sources.list), Debian's CDN otherwise.
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
  } | grep -v -- '-security' | grep '/debian/\?$' | head -1
) || true
mirror=${mirror:-http://deb.debian.org/debian}

if [ ! -s "$rootfs_tar" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d /var/tmp/oci-registry-ts-rootfs.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  echo "make-base-image: debootstrap --variant=minbase bookworm from $mirror (about a minute)" >&2
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # What Debian's slim images leave out: documentation, manuals, translations, apt's lists and caches.
  rm -rf "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/info/* \
    "$work"/rootfs/usr/share/locale/* "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/* \
    "$work"/rootfs/var/log/*.log "$work"/rootfs/var/cache/debconf/*-old
  tar -C "$work/rootfs" --numeric-owner -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$work"
  trap - EXIT
fi

if ! docker image inspect debian:bookworm-slim > /dev/null 2>&1; then
  docker import --change 'CMD ["bash"]' "$rootfs_tar" debian:bookworm-slim > /dev/null
  echo "make-base-image: debian:bookworm-slim imported from $rootfs_tar" >&2
fi

if ! docker image inspect node:20-bookworm-slim > /dev/null 2>&1; then
  node_bin=$(command -v node)
  version=$("$node_bin" --version)
  case "$version" in v20.*) ;; *) echo "make-base-image: needs Node.js 20 on PATH, found $version" >&2; exit 1 ;; esac
  npm_dir=$(dirname "$node_bin")/../lib/node_modules/npm
  [ -f "$npm_dir/bin/npm-cli.js" ] || { echo "make-base-image: npm not found beside $node_bin" >&2; exit 1; }
  ctx=$(mktemp -d /var/tmp/oci-registry-ts-node.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  cp "$node_bin" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  # As in the official image: node and npm under /usr/local, a `node` user with uid 1000.
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
DOCKERFILE
  if [ -n "$ca_bundle" ]; then
    cp "$ca_bundle" "$ctx/extra-ca.crt"
    printf 'COPY extra-ca.crt /usr/local/share/extra-ca.crt\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.crt\n' >> "$ctx/Dockerfile"
  fi
  docker build -q --network host -t node:20-bookworm-slim "$ctx" > /dev/null
  rm -rf "$ctx"
  trap - EXIT
  echo "make-base-image: node:20-bookworm-slim built with $node_bin ($version)" >&2
fi
