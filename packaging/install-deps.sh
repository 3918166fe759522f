#!/usr/bin/env bash
# Installs everything machd needs to build, test and run on Debian 12 (bookworm).
# Idempotent; run as root (or through sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential g++ pkg-config meson ninja-build python3 \
  liburing-dev libseccomp-dev libspdlog-dev libfmt-dev libsystemd-dev libzstd-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  util-linux procps >/dev/null
echo "install-deps: done"
