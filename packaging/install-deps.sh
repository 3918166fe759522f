#!/usr/bin/env bash
# Installs everything machd needs to build, test and run on Debian 12 (bookworm).
# Idempotent; run as root (or through sudo).
#
# usage: install-deps.sh [--packaging]
#   --packaging  also the tools of packaging/build-debs.sh and
#                packaging/test-packages.sh (debhelper, lintian, debootstrap,
#                systemd-container); not needed to build and test.
set -euo pipefail
packaging=0
for arg in "$@"; do
  case $arg in
    --packaging) packaging=1 ;;
    *) echo "usage: install-deps.sh [--packaging]" >&2; exit 2 ;;
  esac
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# clang and libclang-rt-dev (its sanitizer and libFuzzer runtimes, only
# recommended by clang): the fuzz targets of tests/fuzz.
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential g++ pkg-config meson ninja-build python3 \
  liburing-dev libseccomp-dev libspdlog-dev libfmt-dev libsystemd-dev libzstd-dev \
  capnproto libcapnp-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  cmake clang libclang-rt-dev \
  util-linux procps \
  iproute2 nftables openssl >/dev/null
if [ "$packaging" -eq 1 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends \
    debhelper dpkg-dev fakeroot lintian debootstrap systemd-container git >/dev/null
fi
echo "install-deps: done"
