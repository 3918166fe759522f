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

name=test-packages
tools=""
source "$(dirname "$0")/test-common.sh"
# A chroot's mounts go before the tree does.
before_cleanup() {
  for m in dev/pts dev sys proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  return 0
}

# 1. build
begin build
build_debs
packages=$(for d in "$work"/debs/*.deb; do dpkg-deb -f "$d" Package; done | grep -v -- '-dbgsym$' | sort -u | tr '\n' ' ')
echo "test-packages: packages: $packages"
end

# 2. rootfs
begin rootfs
tarball=$(minbase_tarball)
mkdir "$root"
tar -C "$root" -xf "$tarball"
echo "test-packages: fresh root file system from $tarball"
end

# What the container gets: the packages and the test material.
payload="$root/payload"
mkdir -p "$payload/debs" "$payload/example" "$payload/cmake"
copy_debs "$payload/debs"
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
