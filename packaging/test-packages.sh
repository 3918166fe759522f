#!/usr/bin/env bash
# packaging/test-packages.sh: the Debian packages, end to end, on a fresh
# Debian 12. Slow (minutes), so not part of .ci/run.
#
#   1. build     packaging/build-debs.sh (git HEAD; --worktree: the working tree)
#   2. rootfs    a fresh bookworm root file system: debootstrap --variant=minbase
#                with build-essential, pkg-config and cmake, made once and kept
#                as a tarball in $MACHD_PKGTEST_CACHE, unpacked anew each run
#   3. install   apt-get install ./*.deb inside it (dependencies from Debian)
#   4. use       an example (examples/dead_name.c) built with
#                cc ... $(pkg-config --cflags --libs mach-compat), run with
#                mach-run; tests/cmake/greet.defs through the installed mig,
#                built and run; the CMake project tests/cmake built against the
#                installed CMake package and run; the private machd gone after
#                its idle exit
#   5. purge     apt-get purge of every package, then: none known to dpkg, no
#                file or directory of theirs left (their dpkg -L lists, and a
#                find under /usr, /etc and /var/lib/systemd), no machd running
# Each phase prints how long it took. Exits 0 only when every check passed.
#
# usage: packaging/test-packages.sh [--worktree] [--debs DIR]
#   --debs DIR   test the packages already in DIR instead of building them
# Environment:
#   MACHD_PKGTEST_CACHE  where the rootfs tarball is kept
#                        (default /var/cache/machd-pkgtest)
#   MACHD_PKGTEST_KEEP=1 keep the scratch directory (root file system, debs)
#   MACHD_PKGTEST_MIRROR the mirror debootstrap uses (default: debootstrap's own)
# Runs as root. The container is systemd-nspawn --register=no --keep-unit;
# where systemd-nspawn cannot start one, chroot (with /proc, /sys, /dev
# mounted) instead, and the script says so.
# Needs: bash packaging/install-deps.sh --packaging
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
worktree=()
debs_in=""
while [ $# -gt 0 ]; do
  case $1 in
    --worktree) worktree=(--worktree) ;;
    --debs) debs_in=$(cd "$2" && pwd); shift ;;
    *) echo "usage: $0 [--worktree] [--debs DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "test-packages: run as root (debootstrap, the container)" >&2; exit 1; }
for tool in debootstrap tar; do
  command -v "$tool" >/dev/null ||
    { echo "test-packages: $tool is missing (bash packaging/install-deps.sh --packaging)" >&2; exit 1; }
done

cache=${MACHD_PKGTEST_CACHE:-/var/cache/machd-pkgtest}
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/machd-pkgtest.XXXXXX")
root="$work/root"
cleanup() {
  # A chroot's mounts go before the tree does.
  for m in dev/pts dev sys proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  if [ "${MACHD_PKGTEST_KEEP:-0}" = 1 ]; then
    echo "test-packages: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

declare -a phase_names=() phase_secs=()
phase_start=0
begin() { echo "=== $1"; phase_start=$SECONDS; current=$1; }
end() {
  phase_names+=("$current")
  phase_secs+=($((SECONDS - phase_start)))
  echo "=== $current: $((SECONDS - phase_start)) s"
}
summary() {
  echo "test-packages: phase times"
  for i in "${!phase_names[@]}"; do
    printf '  %-10s %4d s\n' "${phase_names[$i]}" "${phase_secs[$i]}"
  done
  printf '  %-10s %4d s\n' total "$SECONDS"
}

# 1. build
begin build
if [ -n "$debs_in" ]; then
  mkdir -p "$work/debs"
  cp "$debs_in"/*.deb "$work/debs/"
  echo "test-packages: packages from $debs_in"
else
  bash "$top/packaging/build-debs.sh" "${worktree[@]}" "$work/debs"
fi
packages=$(for d in "$work"/debs/*.deb; do dpkg-deb -f "$d" Package; done | grep -v -- '-dbgsym$' | sort -u | tr '\n' ' ')
echo "test-packages: packages: $packages"
end

# 2. rootfs
begin rootfs
tarball="$cache/bookworm-minbase-build.tar"
if [ ! -e "$tarball" ]; then
  echo "test-packages: debootstrap bookworm into the cache (once)"
  rm -rf "$cache/rootfs.partial"
  debootstrap --variant=minbase --include=build-essential,pkg-config,cmake \
    bookworm "$cache/rootfs.partial" ${MACHD_PKGTEST_MIRROR:+"$MACHD_PKGTEST_MIRROR"} > "$cache/debootstrap.log" 2>&1 ||
    { tail -n 30 "$cache/debootstrap.log"; exit 1; }
  tar -C "$cache/rootfs.partial" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$cache/rootfs.partial"
fi
mkdir "$root"
tar -C "$root" -xf "$tarball"
echo "test-packages: fresh root file system from $tarball"
end

# What the container gets: the packages and the test material.
payload="$root/payload"
mkdir -p "$payload/debs" "$payload/example" "$payload/cmake"
for d in "$work"/debs/*.deb; do
  case $(dpkg-deb -f "$d" Package) in *-dbgsym) ;; *) cp "$d" "$payload/debs/" ;; esac
done
cp "$top/examples/dead_name.c" "$top/examples/example_support.h" "$payload/example/"
cp "$top/tests/cmake/CMakeLists.txt" "$top/tests/cmake/greet.defs" "$top/tests/cmake/greet_check.c" \
   "$top/tests/cmake/pager_link.c" "$payload/cmake/"
echo "$packages" > "$payload/packages"
cp "$top/packaging/test-packages-inside.sh" "$payload/inside.sh"

# The container: systemd-nspawn, or chroot where it cannot run.
if systemd-nspawn --register=no --keep-unit -q -D "$root" /bin/true >/dev/null 2>&1; then
  container=nspawn
  inside() { systemd-nspawn --register=no --keep-unit -q -D "$root" --setenv=LANG=C.UTF-8 "$@"; }
else
  container=chroot
  echo "test-packages: systemd-nspawn cannot start a container here; using chroot"
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  inside() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
fi
echo "test-packages: container: $container"

# 3.-5. inside, one phase a call (the use and purge phases share one call:
# the private machd that mach-run started must be seen to go).
for phase in install use-purge; do
  begin "$phase"
  inside /bin/bash /payload/inside.sh "$phase"
  end
done

summary
echo "test-packages: ok"
